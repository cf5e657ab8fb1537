package audit

import (
	"bytes"
	"context"
	stdcrypto "crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/signed"
)

// A checkpoint is the chain head (seq, hash) signed with an Ed25519 key the
// database never holds, and kept outside the database (a folder, the
// compliance officers' mailboxes) as well as in audit_checkpoints. Whoever
// owns the database can rewrite entries and recompute every later hash and
// the head, and the chain still verifies; it can not make the rewritten
// hash at a checkpointed seq match the signature held elsewhere.

// CheckpointType names the document.
const CheckpointType = "redress.audit.checkpoint"

// Checkpoint is one signed checkpoint.
type Checkpoint struct {
	Seq      int64
	Hash     []byte
	At       time.Time // when it was signed
	Key      string    // fingerprint of the signing key
	Document []byte    // the signed JSON, as written outside the database
}

type checkpointDoc struct {
	Type string `json:"type"`
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"` // hex SHA-256 of entry seq, as chained
	At   string `json:"at"`
	Rule string `json:"hash_rule"`
}

type checkpointRow struct {
	Seq            int64 `gorm:"primaryKey;autoIncrement:false"`
	Hash           []byte
	At             time.Time
	KeyFingerprint string
	Document       string
}

func (checkpointRow) TableName() string { return "audit_checkpoints" }

// SignCheckpoint makes the signed document for the chain at seq.
func SignCheckpoint(seq int64, hash []byte, at time.Time, key stdcrypto.Signer) (Checkpoint, error) {
	at = at.UTC().Truncate(time.Microsecond)
	doc, _ := json.Marshal(checkpointDoc{Type: CheckpointType, Seq: seq, Hash: hex.EncodeToString(hash),
		At: at.Format(time.RFC3339Nano), Rule: "hash = SHA-256(prev_hash || canonical entry); see `redress audit verify`"})
	out, err := signed.SignWith(doc, key)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return Checkpoint{Seq: seq, Hash: hash, At: at, Key: signed.Fingerprint(key.Public().(ed25519.PublicKey)), Document: out}, nil
}

// ParseCheckpoint checks a checkpoint document's signature against pub (the
// operator's checkpoint public key: without it anyone could sign a
// checkpoint of a rewritten chain) and answers what it says.
func ParseCheckpoint(doc []byte, pub ed25519.PublicKey) (Checkpoint, error) {
	if pub == nil {
		return Checkpoint{}, errors.New("no checkpoint public key to check the signature against")
	}
	key, err := signed.Verify(doc, pub)
	if err != nil {
		return Checkpoint{}, err
	}
	var d checkpointDoc
	if err := json.Unmarshal(doc, &d); err != nil || d.Type != CheckpointType {
		return Checkpoint{}, errors.New("not an audit checkpoint")
	}
	h, err := hex.DecodeString(d.Hash)
	if err != nil || len(h) != 32 || d.Seq < 1 {
		return Checkpoint{}, errors.New("the checkpoint's seq or hash is malformed")
	}
	at, err := time.Parse(time.RFC3339Nano, d.At)
	if err != nil {
		return Checkpoint{}, errors.New("the checkpoint's time is malformed")
	}
	return Checkpoint{Seq: d.Seq, Hash: h, At: at, Key: signed.Fingerprint(key), Document: doc}, nil
}

// MailSender delivers a complete message (notify.SMTPSender).
type MailSender interface {
	SendMessage(ctx context.Context, to string, msg []byte) error
	FromAddress() string
}

// Checkpointer signs the head every Every entries or, when the chain has
// moved at all, every Interval.
type Checkpointer struct {
	DB       *gorm.DB
	Key      stdcrypto.Signer // Ed25519; a key file today, a KMS-backed signer later
	Dir      string           // where each checkpoint is written; empty: none
	Mail     MailSender       // nil: not mailed
	MailTo   []string
	Every    int64         // entries between checkpoints (default 1000)
	Interval time.Duration // longest time a moved head waits (default 10m)
	Log      *slog.Logger
}

// Run checkpoints until ctx ends. A failure is logged and retried on the
// next round; a chain that no longer verifies is never signed.
func (c *Checkpointer) Run(ctx context.Context) error {
	poll := min(c.interval()/4, 30*time.Second)
	t := time.NewTicker(max(poll, time.Second))
	defer t.Stop()
	for {
		if _, err := c.Tick(ctx); err != nil && ctx.Err() == nil {
			c.Log.Error("audit checkpoint failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *Checkpointer) interval() time.Duration {
	if c.Interval <= 0 {
		return 10 * time.Minute
	}
	return c.Interval
}

// Tick makes a checkpoint when one is due and answers it (nil: none due).
func (c *Checkpointer) Tick(ctx context.Context) (*Checkpoint, error) {
	every := c.Every
	if every <= 0 {
		every = 1000
	}
	last, err := latestCheckpoint(ctx, c.DB)
	if err != nil {
		return nil, err
	}
	var h head
	if err := c.DB.WithContext(ctx).Raw("SELECT seq, hash FROM audit_head WHERE singleton").Scan(&h).Error; err != nil {
		return nil, fmt.Errorf("audit: read head: %w", err)
	}
	if h.Seq == 0 || h.Seq <= last.Seq {
		return nil, nil
	}
	if last.Seq > 0 && h.Seq-last.Seq < every && time.Since(last.At) < c.interval() {
		return nil, nil
	}
	cp, err := c.Make(ctx, last, h.Seq)
	if err != nil {
		return nil, err
	}
	return &cp, nil
}

// Make checks the chain from the last checkpoint to seq, then signs it,
// stores it, writes it to the folder and mails it.
func (c *Checkpointer) Make(ctx context.Context, last Checkpoint, seq int64) (Checkpoint, error) {
	db := c.DB.WithContext(ctx)
	if last.Seq > 0 {
		var r row
		if err := db.Where("seq = ?", last.Seq).Limit(1).Find(&r).Error; err != nil {
			return Checkpoint{}, fmt.Errorf("audit: read entry %d: %w", last.Seq, err)
		}
		if !bytes.Equal(r.Hash, last.Hash) {
			return Checkpoint{}, fmt.Errorf("audit: entry %d no longer matches its checkpoint; not signing", last.Seq)
		}
	}
	res, err := Verify(ctx, c.DB, VerifyOptions{FromSeq: last.Seq + 1, ToSeq: seq})
	if err != nil {
		return Checkpoint{}, err
	}
	if !res.OK {
		return Checkpoint{}, fmt.Errorf("audit: chain broken at entry %d (%s); not signing", res.FirstBroken.Seq, res.FirstBroken.Reason)
	}
	var r row
	if err := db.Where("seq = ?", seq).Limit(1).Find(&r).Error; err != nil || r.Seq != seq {
		return Checkpoint{}, fmt.Errorf("audit: read entry %d: %v", seq, err)
	}
	cp, err := SignCheckpoint(seq, r.Hash, time.Now(), c.Key)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Dir != "" { // outside the database first
		if err := os.MkdirAll(c.Dir, 0o700); err != nil {
			return Checkpoint{}, fmt.Errorf("audit: checkpoint folder: %w", err)
		}
		if err := os.WriteFile(filepath.Join(c.Dir, CheckpointFileName(seq)), append(cp.Document, '\n'), 0o600); err != nil {
			return Checkpoint{}, fmt.Errorf("audit: write checkpoint: %w", err)
		}
	}
	err = db.Exec(`INSERT INTO audit_checkpoints (seq, hash, at, key_fingerprint, document) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (seq) DO NOTHING`, cp.Seq, cp.Hash, cp.At, cp.Key, string(cp.Document)).Error
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	c.mail(ctx, cp)
	return cp, nil
}

// mail sends the signed checkpoint to the compliance officers; a failed
// delivery is logged: the checkpoint is stored and in the folder.
func (c *Checkpointer) mail(ctx context.Context, cp Checkpoint) {
	if c.Mail == nil {
		return
	}
	for _, to := range c.MailTo {
		to = strings.TrimSpace(to)
		if to == "" {
			continue
		}
		var msg bytes.Buffer
		fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: Redress audit checkpoint %d\r\n", c.Mail.FromAddress(), to, cp.Seq)
		fmt.Fprintf(&msg, "Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", cp.At.Format(time.RFC1123Z))
		fmt.Fprintf(&msg, "The audit chain of Redress reached entry %d at %s. Keep this message: it is a signed copy\r\n"+
			"held outside the database. To check the chain against it, save the JSON below as %s and run\r\n"+
			"  redress audit verify -checkpoints %s -checkpoint-key <public key>\r\n\r\n%s\r\n",
			cp.Seq, cp.At.Format(time.RFC3339), CheckpointFileName(cp.Seq), CheckpointFileName(cp.Seq), cp.Document)
		if err := c.Mail.SendMessage(ctx, to, msg.Bytes()); err != nil {
			c.Log.Error("mailing an audit checkpoint failed", "seq", cp.Seq, "err", err)
		}
	}
}

// CheckpointFileName is the file a checkpoint is written to.
func CheckpointFileName(seq int64) string { return fmt.Sprintf("checkpoint-%012d.json", seq) }

func latestCheckpoint(ctx context.Context, db *gorm.DB) (Checkpoint, error) {
	var r checkpointRow
	if err := db.WithContext(ctx).Order("seq DESC").Limit(1).Find(&r).Error; err != nil {
		return Checkpoint{}, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	return Checkpoint{Seq: r.Seq, Hash: r.Hash, At: r.At, Key: r.KeyFingerprint, Document: []byte(r.Document)}, nil
}

// CheckpointDoc is a checkpoint document and where it was found.
type CheckpointDoc struct {
	Source   string
	Document []byte
}

// StoredCheckpoints answers the checkpoint documents in the database.
func StoredCheckpoints(ctx context.Context, db *gorm.DB) ([]CheckpointDoc, error) {
	var rows []checkpointRow
	if err := db.WithContext(ctx).Order("seq").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	out := make([]CheckpointDoc, len(rows))
	for i, r := range rows {
		out[i] = CheckpointDoc{Source: "database", Document: []byte(r.Document)}
	}
	return out, nil
}

// CheckpointsCovering answers the stored checkpoint documents a proof of
// entries from..to carries: those inside the range and the first after it
// (the one that seals the range's last entry).
func CheckpointsCovering(ctx context.Context, db *gorm.DB, from, to int64) ([]json.RawMessage, error) {
	var rows []checkpointRow
	err := db.WithContext(ctx).Raw(`SELECT * FROM audit_checkpoints WHERE seq BETWEEN ? AND ?
		UNION ALL (SELECT * FROM audit_checkpoints WHERE seq > ? ORDER BY seq LIMIT 1) ORDER BY seq`, from, to, to).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	out := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		out[i] = json.RawMessage(r.Document)
	}
	return out, nil
}

// ReadCheckpoints reads checkpoint documents from a folder (its *.json
// files), a file holding one document, or a file holding a JSON array of
// them (as inspection and filing packages carry).
func ReadCheckpoints(path string) ([]CheckpointDoc, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.json")); err != nil {
			return nil, err
		}
		sort.Strings(files)
	}
	var out []CheckpointDoc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		b = bytes.TrimSpace(b)
		if len(b) > 0 && b[0] == '[' {
			var docs []json.RawMessage
			if err := json.Unmarshal(b, &docs); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for _, d := range docs {
				out = append(out, CheckpointDoc{Source: f, Document: d})
			}
			continue
		}
		out = append(out, CheckpointDoc{Source: f, Document: b})
	}
	return out, nil
}

// CheckpointResult is the outcome of checking the chain against checkpoints.
type CheckpointResult struct {
	Checked       int
	FirstMismatch *CheckpointMismatch
}

// CheckpointMismatch names the first checkpoint (by seq) the chain no
// longer matches.
type CheckpointMismatch struct {
	Seq    int64
	At     time.Time
	Source string
	Reason string
}

// VerifyCheckpoints checks every checkpoint's signature against pub and the
// chain's entry at its seq against the signed hash.
func VerifyCheckpoints(ctx context.Context, db *gorm.DB, docs []CheckpointDoc, pub ed25519.PublicKey) (CheckpointResult, error) {
	type parsed struct {
		Checkpoint
		source string
		err    error
	}
	all := make([]parsed, len(docs))
	for i, d := range docs {
		cp, err := ParseCheckpoint(d.Document, pub)
		if err != nil { // order an unreadable one by the seq it claims
			var claim checkpointDoc
			_ = json.Unmarshal(d.Document, &claim)
			cp.Seq = claim.Seq
		}
		all[i] = parsed{cp, d.Source, err}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	var res CheckpointResult
	for _, p := range all {
		res.Checked++
		fail := func(reason string) (CheckpointResult, error) {
			res.FirstMismatch = &CheckpointMismatch{Seq: p.Seq, At: p.At, Source: p.source, Reason: reason}
			return res, nil
		}
		if p.err != nil {
			return fail("signature not valid: " + p.err.Error())
		}
		var r row
		if err := db.WithContext(ctx).Where("seq = ?", p.Seq).Limit(1).Find(&r).Error; err != nil {
			return res, fmt.Errorf("audit: read entry %d: %w", p.Seq, err)
		}
		if r.Seq == 0 {
			return fail(fmt.Sprintf("entry %d is gone from the chain", p.Seq))
		}
		if !bytes.Equal(r.Hash, p.Hash) {
			return fail(fmt.Sprintf("entry %d's hash is %x, the signed checkpoint says %x: the chain up to it was rewritten", p.Seq, r.Hash, p.Hash))
		}
	}
	return res, nil
}

// LoadKeyFile reads an Ed25519 checkpoint key from a file holding the base64
// of its 32-byte seed. Only the checkpoint job reads it; the database and
// the services never see it. A key-management service plugs in instead as
// any crypto.Signer with an Ed25519 public key.
func LoadKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("checkpoint key %s: want the base64 of a %d-byte Ed25519 seed", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
