package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/filing"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/escalation"
)

// `redress audit verify -filing` accepts a filing package whose included
// entries match the database, and exits 1 naming the entry once one included
// entry was altered behind the append-only trigger.
func TestAuditVerifyFilingPackage(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	gdb, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	other := func(i int) { // entries of other objects interleave with the escalation's
		if err := gdb.Transaction(func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{Actor: "agent.li", Action: "case.note_added", ObjectType: "case",
				ObjectID: uuid.NewString(), Details: map[string]any{"n": i}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	other(1)
	dr := uuid.NewString()
	e, _, err := store.Create(gdb, store.Escalation{Kind: wf.KindManual, DeletionRequestID: &dr, DedupeKey: "manual/" + dr,
		Reason: "erasure refused by a data system"}, "officer.wang", nil)
	if err != nil {
		t.Fatal(err)
	}
	other(2)
	if _, err := store.Apply(gdb, nil, e.ID, wf.Action{ID: "a-1", Type: wf.ActAckReminder, Actor: "system:workflow", Reference: "1"}); err != nil {
		t.Fatal(err)
	}
	other(3)
	pub, key, _ := ed25519.GenerateKey(nil)
	if _, err := (&audit.Checkpointer{DB: gdb, Key: key}).Tick(ctx); err != nil { // signs entry 4
		t.Fatal(err)
	}
	b, err := filing.Build(ctx, gdb, nil, e.ID, time.Now()) // no cases: intake is not asked
	if err != nil {
		t.Fatal(err)
	}
	if b.FromSeq != 2 || b.ToSeq != 4 {
		t.Fatalf("proof covers %d..%d, want 2..4", b.FromSeq, b.ToSeq)
	}
	path := filepath.Join(t.TempDir(), "filing.zip")
	if err := os.WriteFile(path, b.Zip, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", "-filing", path}
	cfg := config.Config{DatabaseURL: url, CheckpointPublicKey: base64.StdEncoding.EncodeToString(pub)}
	if code := runAudit(ctx, cfg, args); code != 0 {
		t.Fatalf("untouched: exit %d", code)
	}
	if docs, err := filing.ReadCheckpoints(b.Zip); err != nil || len(docs) != 1 {
		t.Fatalf("the package carries %d checkpoints (%v), want the one at entry 4", len(docs), err)
	}
	otherKey, _, _ := ed25519.GenerateKey(nil)
	if code := runAudit(ctx, cfg, append(args, "-checkpoint-key", base64.StdEncoding.EncodeToString(otherKey))); code != 1 {
		t.Fatalf("checkpoints checked against another key: exit %d, want 1", code)
	}
	// An entry outside the package changes nothing for it.
	other(4)
	if code := runAudit(ctx, cfg, args); code != 0 {
		t.Fatalf("after a later entry: exit %d", code)
	}
	for _, stmt := range []string{
		"ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_update_delete",
		"UPDATE audit_entries SET details = '{\"kind\":\"manual\",\"dedupe_key\":\"forged\"}' WHERE seq = 2",
		"ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_no_update_delete",
	} {
		if err := pgtest.OpenURL(t, pgtest.OwnerURL(url)).Exec(stmt).Error; err != nil { // only the owner gets behind the trigger
			t.Fatal(err)
		}
	}
	if code := runAudit(ctx, cfg, args); code != 1 {
		t.Fatalf("altered included entry: exit %d, want 1", code)
	}
	v, err := filing.VerifyPackage(ctx, gdb, b.Zip)
	if err != nil || v.OK || v.BrokenSeq != 2 {
		t.Fatalf("verification after tampering: %+v %v; want entry 2 named", v, err)
	}
}

// The operator profile and the filing wait come from the environment: a
// misspelt operator class stops the process instead of being taken for
// "other"; REDRESS_ESCALATION_FILING_WAIT reaches the escalation workflows'
// timing.
func TestEscalationProfileAndFilingWaitFromEnvironment(t *testing.T) {
	t.Setenv("REDRESS_ESCALATION_FILING_WAIT", "6h")
	t.Setenv("REDRESS_OPERATOR_CLASS", "central_bodies")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openStack(context.Background(), cfg, nil, 0); err == nil || !strings.Contains(err.Error(), "REDRESS_OPERATOR_CLASS") {
		t.Fatalf("misspelt operator class: %v", err)
	}
	cfg.OperatorClass = wf.ClassCentralBody
	st, err := openStack(context.Background(), cfg, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if got := st.escalationTiming(); got.FilingWait != 6*time.Hour || got.AckWait != 24*time.Hour {
		t.Fatalf("timing %+v", got)
	}
}
