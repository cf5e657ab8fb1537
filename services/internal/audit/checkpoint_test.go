package audit

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
)

func testCheckpointer(t *testing.T, db *gorm.DB) (*Checkpointer, ed25519.PublicKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Checkpointer{DB: db, Key: key, Dir: t.TempDir(), Every: 10}, pub
}

// rewrite does what the database owner can: edit entry n, recompute every
// later hash and move the head, so the chain recomputes cleanly.
func rewrite(t *testing.T, db *gorm.DB, n int64) {
	t.Helper()
	db = pgtest.Owner(t, db)
	var rows []row
	if err := db.Where("seq >= ?", n).Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("ALTER TABLE audit_entries DISABLE TRIGGER USER").Error; err != nil {
			return err
		}
		prev := rows[0].PrevHash
		for i, r := range rows {
			if i == 0 {
				r.Actor = "someone.else"
			}
			h := chainHash(prev, Canonical(r.record()))
			if err := tx.Exec("UPDATE audit_entries SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", r.Actor, prev, h, r.Seq).Error; err != nil {
				return err
			}
			prev = h
		}
		if err := tx.Exec("UPDATE audit_head SET hash = ? WHERE singleton", prev).Error; err != nil {
			return err
		}
		return tx.Exec("ALTER TABLE audit_entries ENABLE TRIGGER USER").Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A chain with checkpoints verifies; after the owner rewrites entry 25 and
// recomputes everything after it, the chain still recomputes, but checking
// it against the signed checkpoints (from the database or from the folder
// outside it) names checkpoint 30, the first one that no longer matches.
func TestCheckpointsCatchARecomputedChain(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	cp, pub := testCheckpointer(t, db)
	for range 5 {
		appendN(t, db, 10)
		if got, err := cp.Tick(ctx); err != nil || got == nil {
			t.Fatalf("checkpoint due after 10 entries: %v %v", got, err)
		}
	}
	if got, err := cp.Tick(ctx); err != nil || got != nil {
		t.Fatalf("no checkpoint due on an unmoved head: %v %v", got, err)
	}
	stored, err := StoredCheckpoints(ctx, db)
	if err != nil || len(stored) != 5 {
		t.Fatalf("stored checkpoints: %d %v", len(stored), err)
	}
	outside, err := ReadCheckpoints(cp.Dir)
	if err != nil || len(outside) != 5 {
		t.Fatalf("checkpoints in the folder: %d %v", len(outside), err)
	}
	for _, docs := range [][]CheckpointDoc{stored, outside} {
		res, err := VerifyCheckpoints(ctx, db, docs, pub)
		if err != nil || res.FirstMismatch != nil || res.Checked != 5 {
			t.Fatalf("untouched chain against checkpoints: %+v %v", res, err)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if res, _ := VerifyCheckpoints(ctx, db, outside, other); res.FirstMismatch == nil || res.FirstMismatch.Seq != 10 ||
		!strings.Contains(res.FirstMismatch.Reason, "signature") {
		t.Fatalf("checkpoints checked against another key: %+v", res.FirstMismatch)
	}

	rewrite(t, db, 25)
	if res := verify(t, db, VerifyOptions{}); !res.OK {
		t.Fatalf("the recomputed chain should still recompute (that is the attack): %+v", res.FirstBroken)
	}
	for _, docs := range [][]CheckpointDoc{stored, outside} {
		res, err := VerifyCheckpoints(ctx, db, docs, pub)
		if err != nil {
			t.Fatal(err)
		}
		if m := res.FirstMismatch; m == nil || m.Seq != 30 || !strings.Contains(m.Reason, "rewritten") {
			t.Fatalf("rewritten chain against checkpoints: %+v, want checkpoint 30 named", m)
		}
	}
	// Nor will the job sign the rewritten chain.
	appendN(t, db, 10)
	if _, err := cp.Tick(ctx); err == nil || !strings.Contains(err.Error(), "not signing") {
		t.Fatalf("checkpoint of a rewritten chain: %v", err)
	}
	// An edited copy outside the database fails its signature.
	f := filepath.Join(cp.Dir, CheckpointFileName(40))
	b, _ := os.ReadFile(f)
	if err := os.WriteFile(f, []byte(strings.Replace(string(b), `"seq": 40`, `"seq": 41`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCheckpoint([]byte(strings.Replace(string(b), `"seq": 40`, `"seq": 41`, 1)), pub); err == nil {
		t.Fatal("an edited checkpoint passed its signature")
	}
}

// Each checkpoint reaches the compliance officers by mail (the notify
// package's SMTP sender) with the signed document, which verifies as sent.
func TestCheckpointsAreMailedToComplianceOfficers(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	srv := smtptest.Start(t)
	cp, pub := testCheckpointer(t, db)
	cp.Mail = &notify.SMTPSender{Addr: srv.Addr(), From: "Redress <no-reply@redress.local>"}
	cp.MailTo = []string{"officer.a@example.com", "officer.b@example.com"}
	appendN(t, db, 3)
	made, err := cp.Tick(ctx)
	if err != nil || made == nil {
		t.Fatalf("checkpoint: %v %v", made, err)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one per officer", len(msgs))
	}
	for _, m := range msgs {
		i := strings.Index(m.Body, "{")
		if i < 0 {
			t.Fatalf("mail to %v carries no checkpoint", m.To)
		}
		body := m.Body[i:]
		got, err := ParseCheckpoint([]byte(strings.TrimSpace(body)), pub)
		if err != nil || got.Seq != 3 || !strings.Contains(m.Subject, "checkpoint 3") {
			t.Fatalf("mailed checkpoint to %v: %+v %v", m.To, got, err)
		}
	}
}
