package audit

import (
	"bytes"
	"context"
	"fmt"

	"gorm.io/gorm"
)

// VerifyOptions bound the part of the chain checked; zero means from the
// beginning / to the head.
type VerifyOptions struct {
	FromSeq int64
	ToSeq   int64
}

// Result of a verification.
type Result struct {
	Entries     int64
	OK          bool
	FirstBroken *Broken
}

// Broken names the first entry where the chain does not hold.
type Broken struct {
	Seq        int64
	ObjectType string
	ObjectID   string
	Reason     string
}

const verifyBatch = 2000

// Verify recomputes the chain in seq order, in batches so memory stays
// bounded, and checks that it ends at the recorded head.
func Verify(ctx context.Context, db *gorm.DB, o VerifyOptions) (Result, error) {
	db = db.WithContext(ctx)
	var h head
	if err := db.Raw("SELECT seq, hash FROM audit_head WHERE singleton").Scan(&h).Error; err != nil {
		return Result{}, fmt.Errorf("audit: read head: %w", err)
	}
	from, to := max(o.FromSeq, 1), o.ToSeq
	if to == 0 || to > h.Seq {
		to = h.Seq
	}
	res := Result{OK: true}
	var prev []byte
	if from == 1 {
		prev = make([]byte, 32)
	} else {
		var before row
		err := db.Where("seq = ?", from-1).Limit(1).Find(&before).Error
		if err != nil {
			return Result{}, fmt.Errorf("audit: read entry %d: %w", from-1, err)
		}
		if before.Seq == 0 {
			return broken(res, from-1, row{}, "entry is missing"), nil
		}
		prev = before.Hash
	}
	next := from
	for next <= to {
		var rows []row
		err := db.Where("seq >= ? AND seq <= ?", next, to).Order("seq").Limit(verifyBatch).Find(&rows).Error
		if err != nil {
			return Result{}, fmt.Errorf("audit: read entries: %w", err)
		}
		if len(rows) == 0 {
			return broken(res, next, row{}, "entry is missing (the chain ends early)"), nil
		}
		for _, r := range rows {
			if r.Seq != next {
				return broken(res, next, row{}, fmt.Sprintf("entry is missing (next stored entry is %d)", r.Seq)), nil
			}
			if !bytes.Equal(r.PrevHash, prev) {
				return broken(res, r.Seq, r, "prev_hash does not match the previous entry's hash"), nil
			}
			if !bytes.Equal(chainHash(prev, Canonical(r.record())), r.Hash) {
				return broken(res, r.Seq, r, "content does not match its hash (entry altered)"), nil
			}
			prev = r.Hash
			res.Entries++
			next++
		}
	}
	if to == h.Seq && h.Seq > 0 && !bytes.Equal(prev, h.Hash) {
		return broken(res, h.Seq, row{}, "last entry does not match the recorded head"), nil
	}
	var beyond int64
	if err := db.Model(&row{}).Where("seq > ?", h.Seq).Count(&beyond).Error; err != nil {
		return Result{}, fmt.Errorf("audit: read entries: %w", err)
	}
	if beyond > 0 && o.ToSeq == 0 {
		return broken(res, h.Seq+1, row{}, "entries exist beyond the recorded head"), nil
	}
	return res, nil
}

func broken(res Result, seq int64, r row, reason string) Result {
	res.OK = false
	res.FirstBroken = &Broken{Seq: seq, ObjectType: r.ObjectType, ObjectID: r.ObjectID, Reason: reason}
	return res
}

// ForObject answers one object's entries in chain order: its timeline.
func ForObject(ctx context.Context, db *gorm.DB, objectType, objectID string) ([]Record, error) {
	var rows []row
	err := db.WithContext(ctx).Where("object_type = ? AND object_id = ?", objectType, objectID).
		Order("seq").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("audit: entries of %s %s: %w", objectType, objectID, err)
	}
	out := make([]Record, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out, nil
}
