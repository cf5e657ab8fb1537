package main

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/pgtest"
)

// `redress audit verify` passes on an untouched chain and exits 1 naming the
// entry a table owner altered behind the append-only trigger.
func TestAuditVerifyCommand(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	gdb, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		err := gdb.Transaction(func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{Actor: "agent.li", Action: "case.note_added", ObjectType: "case",
				ObjectID: "c-" + string(rune('a'+i)), Details: map[string]any{"n": i}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Config{DatabaseURL: url}
	if code := runAudit(ctx, cfg, []string{"verify"}); code != 0 {
		t.Fatalf("untouched chain: exit %d", code)
	}
	for _, stmt := range []string{
		"ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_update_delete",
		"UPDATE audit_entries SET actor = 'someone.else' WHERE seq = 4",
		"ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_no_update_delete",
	} {
		if err := pgtest.OpenURL(t, pgtest.OwnerURL(url)).Exec(stmt).Error; err != nil { // only the owner gets behind the trigger
			t.Fatal(err)
		}
	}
	if code := runAudit(ctx, cfg, []string{"verify"}); code != 1 {
		t.Fatalf("tampered chain: exit %d, want 1", code)
	}
	res, err := audit.Verify(ctx, gdb, audit.VerifyOptions{})
	if err != nil || res.OK || res.FirstBroken.Seq != 4 {
		t.Fatalf("verify after tampering: %+v %v; want entry 4 named", res, err)
	}
}
