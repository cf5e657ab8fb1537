package filing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
)

// Verification is the outcome of checking a package against the database.
type Verification struct {
	OK        bool
	Entries   int
	FromSeq   int64
	ToSeq     int64
	BrokenSeq int64
	Reason    string
}

// VerifyPackage checks a filing package's audit proof: every included entry
// hashes to what the package says, the database holds the same hash at the
// same place, and the database chain over the covered segment is intact.
// An entry altered in the database after filing fails the check.
func VerifyPackage(ctx context.Context, db *gorm.DB, zipBytes []byte) (Verification, error) {
	m, proof, err := Read(zipBytes)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{Entries: len(proof), FromSeq: m.Proof.FromSeq, ToSeq: m.Proof.ToSeq}
	fail := func(seq int64, reason string) (Verification, error) {
		v.BrokenSeq, v.Reason = seq, reason
		return v, nil
	}
	seqs := make([]int64, len(proof))
	for i, p := range proof {
		seqs[i] = p.Seq
		at, err := time.Parse("2006-01-02T15:04:05.000000Z", p.At)
		if err != nil {
			return fail(p.Seq, "entry time is malformed")
		}
		prev, err1 := hex.DecodeString(p.PrevHash)
		want, err2 := hex.DecodeString(p.Hash)
		if err1 != nil || err2 != nil {
			return fail(p.Seq, "entry hashes are malformed")
		}
		rec := audit.Record{Entry: audit.Entry{Actor: p.Actor, Action: p.Action, ObjectType: p.ObjectType, ObjectID: p.ObjectID,
			BeforeDigest: p.BeforeDigest, AfterDigest: p.AfterDigest, At: at}, Seq: p.Seq, DetailsJSON: p.Details}
		h := sha256.New()
		h.Write(prev)
		h.Write(audit.Canonical(rec))
		if !bytes.Equal(h.Sum(nil), want) {
			return fail(p.Seq, "entry in the package does not match its own hash")
		}
	}
	if len(proof) > 0 && proof[len(proof)-1].Hash != m.Proof.HashAtTo {
		return fail(m.Proof.ToSeq, "manifest's hash_at_to differs from the last entry")
	}
	var rows []struct {
		Seq  int64
		Hash []byte
	}
	if err := db.WithContext(ctx).Raw("SELECT seq, hash FROM audit_entries WHERE seq IN ?", seqs).Scan(&rows).Error; err != nil {
		return v, fmt.Errorf("filing: read audit entries: %w", err)
	}
	stored := make(map[int64][]byte, len(rows))
	for _, r := range rows {
		stored[r.Seq] = r.Hash
	}
	for _, p := range proof {
		h, ok := stored[p.Seq]
		if !ok {
			return fail(p.Seq, "entry is missing from the database")
		}
		if hex.EncodeToString(h) != p.Hash {
			return fail(p.Seq, "database holds a different entry at this place")
		}
	}
	res, err := audit.Verify(ctx, db, audit.VerifyOptions{FromSeq: m.Proof.FromSeq, ToSeq: m.Proof.ToSeq})
	if err != nil {
		return v, err
	}
	if !res.OK {
		return fail(res.FirstBroken.Seq, res.FirstBroken.Reason)
	}
	v.OK = true
	return v, nil
}
