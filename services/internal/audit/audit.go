// Package audit keeps the tamper-evident record of everything Redress does:
// an append-only hash chain in audit_entries. Each entry's hash covers its
// canonical content and the previous entry's hash, so altering, removing or
// reordering any entry breaks every hash after it. Entries carry digests of
// the before and after states, never personal data in clear.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Entry is what a caller records.
type Entry struct {
	Actor        string
	Action       string
	ObjectType   string
	ObjectID     string
	BeforeDigest string
	AfterDigest  string
	Details      map[string]any // no personal data: identifiers, codes, digests
	At           time.Time      // zero means now
}

// Record is an entry as stored in the chain.
type Record struct {
	Entry
	Seq         int64
	PrevHash    []byte
	Hash        []byte
	DetailsJSON string
}

// row is the audit_entries table.
type row struct {
	Seq          int64 `gorm:"primaryKey;autoIncrement:false"`
	At           time.Time
	Actor        string
	Action       string
	ObjectType   string
	ObjectID     string
	BeforeDigest string
	AfterDigest  string
	Details      string
	PrevHash     []byte
	Hash         []byte
}

func (row) TableName() string { return "audit_entries" }

type head struct {
	Seq  int64
	Hash []byte
}

func (head) TableName() string { return "audit_head" }

// Append adds e to the chain inside tx, so the entry commits or rolls back
// with the change it records. The lock on the head row orders concurrent
// appenders: chain order is seq order is commit order. The services' database
// role may only lock the head (audit_lock_head) and insert entries; the
// owner's trigger on audit_entries moves the head, and only along entries
// that extend it (migration 00012).
func Append(tx *gorm.DB, e Entry) (Record, error) {
	recs, err := AppendAll(tx, []Entry{e})
	if err != nil {
		return Record{}, err
	}
	return recs[0], nil
}

// AppendAll adds entries to the chain, in order, inside tx: one head lock,
// one insert (and so one head move by the trigger) for all of them, so a transaction recording
// many changes (a group commit of submissions) holds the head briefly.
func AppendAll(tx *gorm.DB, entries []Entry) ([]Record, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	details := make([][]byte, len(entries))
	for i, e := range entries {
		if e.Actor == "" || e.Action == "" || e.ObjectType == "" || e.ObjectID == "" {
			return nil, errors.New("audit: actor, action, object type and object id are required")
		}
		details[i] = []byte("{}")
		if len(e.Details) > 0 {
			var err error
			if details[i], err = json.Marshal(e.Details); err != nil { // map keys come out sorted
				return nil, fmt.Errorf("audit: details: %w", err)
			}
		}
	}
	var h head
	if err := tx.Raw("SELECT head_seq AS seq, head_hash AS hash FROM audit_lock_head()").Scan(&h).Error; err != nil {
		return nil, fmt.Errorf("audit: lock head: %w", err)
	}
	if len(h.Hash) == 0 {
		return nil, errors.New("audit: audit_head is missing; run the migrations")
	}
	recs := make([]Record, len(entries))
	rows := make([]row, len(entries))
	for i, e := range entries {
		if e.At.IsZero() {
			e.At = time.Now()
		}
		e.At = e.At.UTC().Truncate(time.Microsecond) // what PostgreSQL keeps
		rec := Record{Entry: e, Seq: h.Seq + 1, PrevHash: h.Hash, DetailsJSON: string(details[i])}
		rec.Hash = chainHash(rec.PrevHash, Canonical(rec))
		recs[i] = rec
		rows[i] = row{
			Seq: rec.Seq, At: e.At, Actor: e.Actor, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
			BeforeDigest: e.BeforeDigest, AfterDigest: e.AfterDigest, Details: rec.DetailsJSON,
			PrevHash: rec.PrevHash, Hash: rec.Hash,
		}
		h = head{Seq: rec.Seq, Hash: rec.Hash}
	}
	if err := tx.CreateInBatches(&rows, 1000).Error; err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	return recs, nil
}

// Canonical is the exact byte form an entry's hash covers. Field order is
// fixed and the time is in UTC with microseconds, so anyone can recompute it.
func Canonical(r Record) []byte {
	b, _ := json.Marshal(struct {
		Seq          int64  `json:"seq"`
		At           string `json:"at"`
		Actor        string `json:"actor"`
		Action       string `json:"action"`
		ObjectType   string `json:"object_type"`
		ObjectID     string `json:"object_id"`
		BeforeDigest string `json:"before_digest"`
		AfterDigest  string `json:"after_digest"`
		Details      string `json:"details"`
	}{r.Seq, r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), r.Actor, r.Action, r.ObjectType, r.ObjectID,
		r.BeforeDigest, r.AfterDigest, r.DetailsJSON})
	return b
}

// ChainHash is SHA-256(prev_hash || canonical).
func chainHash(prev, canonical []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(canonical)
	return h.Sum(nil)
}

// Digest is "sha256:<hex>" of v's JSON form, for before/after states.
func Digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", v))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r row) record() Record {
	rec := Record{
		Entry: Entry{Actor: r.Actor, Action: r.Action, ObjectType: r.ObjectType, ObjectID: r.ObjectID,
			BeforeDigest: r.BeforeDigest, AfterDigest: r.AfterDigest, At: r.At.UTC()},
		Seq: r.Seq, PrevHash: r.PrevHash, Hash: r.Hash, DetailsJSON: r.Details,
	}
	_ = json.Unmarshal([]byte(r.Details), &rec.Details)
	return rec
}
