package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/pgtest"
)

// `redress audit verify -checkpoints DIR -checkpoint-key KEY` passes on a
// checkpointed chain and exits 1 once the owner has rewritten an entry and
// recomputed every later hash and the head, which the plain chain
// recomputation does not notice.
func TestAuditVerifyAgainstCheckpoints(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	gdb, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	// The signer connects as its own database role: it reads the chain and
	// stores checkpoints, nothing else.
	cp := &audit.Checkpointer{DB: pgtest.As(t, gdb, "redress_checkpoints_app"), Key: key, Dir: t.TempDir(), Every: 4}
	for i := range 12 {
		err := gdb.Transaction(func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{Actor: "agent.li", Action: "case.note_added", ObjectType: "case",
				ObjectID: "c-1", Details: map[string]any{"n": i}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cp.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Config{DatabaseURL: url}
	args := []string{"verify", "-checkpoints", cp.Dir, "-checkpoint-key", base64.StdEncoding.EncodeToString(pub)}
	if code := runAudit(ctx, cfg, args); code != 0 {
		t.Fatalf("checkpointed chain: exit %d", code)
	}
	if code := runAudit(ctx, cfg, []string{"verify", "-checkpoints", cp.Dir}); code != 2 {
		t.Fatalf("checkpoints without a public key: exit %d, want 2", code)
	}

	// The owner rewrites entry 6 and everything after it, and the head.
	err = pgtest.Owner(t, gdb).Transaction(func(tx *gorm.DB) error {
		tx.Exec("ALTER TABLE audit_entries DISABLE TRIGGER USER")
		var first struct{ PrevHash []byte }
		if err := tx.Raw("SELECT prev_hash FROM audit_entries WHERE seq = 6").Scan(&first).Error; err != nil {
			return err
		}
		prev := first.PrevHash
		for seq := int64(6); seq <= 12; seq++ {
			if seq == 6 {
				tx.Exec("UPDATE audit_entries SET actor = 'someone.else' WHERE seq = 6")
			}
			recsOf, err := audit.ForObject(ctx, tx, "case", "c-1")
			if err != nil {
				return err
			}
			r := recsOf[seq-1]
			h := sha256.Sum256(append(append([]byte{}, prev...), audit.Canonical(r)...))
			if err := tx.Exec("UPDATE audit_entries SET prev_hash = ?, hash = ? WHERE seq = ?", prev, h[:], seq).Error; err != nil {
				return err
			}
			prev = h[:]
		}
		tx.Exec("UPDATE audit_head SET hash = ? WHERE singleton", prev)
		return tx.Exec("ALTER TABLE audit_entries ENABLE TRIGGER USER").Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := runAudit(ctx, cfg, []string{"verify", "-db-checkpoints=false"}); code != 0 {
		t.Fatalf("the recomputed chain alone should still pass (the attack): exit %d", code)
	}
	if code := runAudit(ctx, cfg, args); code != 1 {
		t.Fatalf("rewritten chain against the checkpoints: exit %d, want 1", code)
	}
	res, err := audit.VerifyCheckpoints(ctx, gdb, mustRead(t, cp.Dir), pub)
	if err != nil || res.FirstMismatch == nil || res.FirstMismatch.Seq != 9 {
		t.Fatalf("first checkpoint no longer matching: %+v %v, want the one at entry 9 (checkpoints at 1, 5, 9)", res.FirstMismatch, err)
	}
}

func mustRead(t *testing.T, dir string) []audit.CheckpointDoc {
	docs, err := audit.ReadCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}
