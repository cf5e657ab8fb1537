package inspection

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
)

// A package carries the signed checkpoints of its range and verifies with
// the operator's key (not with another). Built after the database owner
// rewrote an entry and recomputed the chain and head, its extract, proof
// and manifest all agree, and only the carried checkpoint exposes it.
func TestPackageCarriesCheckpoints(t *testing.T) {
	ctx := context.Background()
	pub, key, _ := ed25519.GenerateKey(nil)
	build := func(rewriteSeq int64) string {
		db := pgtest.Open(t)
		cp := &audit.Checkpointer{DB: db, Key: key, Every: 1}
		for i := range 5 {
			must(t, db.Transaction(func(tx *gorm.DB) error {
				_, err := audit.Append(tx, audit.Entry{Actor: "agent-1", Action: "case.accept", ObjectType: "case",
					ObjectID: "c-" + string(rune('a'+i)), AfterDigest: "sha256:00", Details: map[string]any{"n": i}})
				return err
			}))
			_, err := cp.Tick(ctx)
			must(t, err)
		}
		if rewriteSeq > 0 {
			ownerRewrite(t, db, rewriteSeq)
		}
		cals, err := calendar.LoadEmbedded()
		must(t, err)
		b := reportingBuilder(t, db, cals)
		p := filepath.Join(t.TempDir(), "package.zip")
		f, err := os.Create(p)
		must(t, err)
		now := time.Now()
		must(t, b.Build(ctx, now.Add(-time.Hour), now.Add(time.Hour), f))
		must(t, f.Close())
		return p
	}
	p := build(0)
	res, err := VerifyPathWithKey(p, pub)
	must(t, err)
	if !res.OK || res.Checkpoints != 5 {
		t.Fatalf("untouched package with checkpoints: %+v", res)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if res, _ := VerifyPathWithKey(p, other); res.OK {
		t.Fatal("checkpoints accepted with another key")
	}
	res, err = VerifyPath(build(3))
	must(t, err)
	if res.OK || !strings.Contains(res.Problem, "audit entry 3: does not match the signed checkpoint") {
		t.Fatalf("package of a recomputed chain: %+v", res)
	}
}

// ownerRewrite edits entry n and recomputes every later hash and the head.
func ownerRewrite(t *testing.T, db *gorm.DB, n int64) {
	db = pgtest.Owner(t, db) // only the owner gets behind the trigger
	must(t, db.Transaction(func(tx *gorm.DB) error {
		must(t, tx.Exec("ALTER TABLE audit_entries DISABLE TRIGGER USER").Error)
		var first struct{ PrevHash []byte }
		must(t, tx.Raw("SELECT prev_hash FROM audit_entries WHERE seq = ?", n).Scan(&first).Error)
		must(t, tx.Exec("UPDATE audit_entries SET actor = 'agent-2' WHERE seq = ?", n).Error)
		prev := first.PrevHash
		var recs []audit.Record
		for _, id := range []string{"c-a", "c-b", "c-c", "c-d", "c-e"} {
			r, err := audit.ForObject(context.Background(), tx, "case", id)
			must(t, err)
			recs = append(recs, r...)
		}
		for _, r := range recs[n-1:] {
			h := sha256.Sum256(append(append([]byte{}, prev...), audit.Canonical(r)...))
			must(t, tx.Exec("UPDATE audit_entries SET prev_hash = ?, hash = ? WHERE seq = ?", prev, h[:], r.Seq).Error)
			prev = h[:]
		}
		must(t, tx.Exec("UPDATE audit_head SET hash = ? WHERE singleton", prev).Error)
		return tx.Exec("ALTER TABLE audit_entries ENABLE TRIGGER USER").Error
	}))
}
