package audit

import (
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/pgtest"
)

// The services' database role appends through the normal path (one entry or
// a group commit of many) but can neither switch off the append-only
// trigger, rewrite or remove entries, nor move the chain head itself.
func TestRuntimeRoleOnlyAppends(t *testing.T) {
	db := pgtest.Open(t) // the runtime role, as the services connect
	appendN(t, db, 3)
	err := db.Transaction(func(tx *gorm.DB) error {
		batch := make([]Entry, 50)
		for i := range batch {
			batch[i] = Entry{Actor: "intake", Action: "case.received", ObjectType: "case", ObjectID: "g"}
		}
		_, err := AppendAll(tx, batch)
		return err
	})
	if err != nil {
		t.Fatalf("group commit as the runtime role: %v", err)
	}

	refused := []string{
		"ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_update_delete",
		"ALTER TABLE audit_entries DISABLE TRIGGER USER",
		"DROP TRIGGER audit_entries_no_update_delete ON audit_entries",
		"CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
		"UPDATE audit_entries SET actor = 'someone.else' WHERE seq = 2",
		"DELETE FROM audit_entries WHERE seq = 53",
		"TRUNCATE audit_entries",
		"UPDATE audit_head SET seq = 1",
		"DELETE FROM audit_head",
		"INSERT INTO audit_head (singleton, seq, hash) VALUES (true, 1, '\\x00') ON CONFLICT (singleton) DO UPDATE SET seq = 1",
		"ALTER TABLE audit_head DISABLE TRIGGER USER",
		"ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_move_head",
		// An entry that does not extend the head (a fork from entry 1) is refused by the owner's trigger.
		"INSERT INTO audit_entries (seq, at, actor, action, object_type, object_id, prev_hash, hash) SELECT 54, now(), 'x', 'x', 'x', 'x', hash, hash FROM audit_entries WHERE seq = 1",
		"INSERT INTO audit_entries (seq, at, actor, action, object_type, object_id, prev_hash, hash) VALUES (100, now(), 'x', 'x', 'x', 'x', '\\x00', '\\x00')",
	}
	for _, s := range refused {
		if err := db.Exec(s).Error; err == nil {
			t.Errorf("runtime role ran %q", s)
		} else if !strings.Contains(err.Error(), "denied") && !strings.Contains(err.Error(), "must be owner") &&
			!strings.Contains(err.Error(), "does not extend the chain head") {
			t.Errorf("%q: %v, want a privilege or chain refusal", s, err)
		}
	}
	// A temporary table named like the head cannot divert the owner's function.
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("CREATE TEMP TABLE audit_head (singleton boolean, seq bigint, hash bytea) ON COMMIT DROP").Error; err != nil {
			return nil // no TEMP privilege: nothing to divert
		}
		_ = tx.Exec("INSERT INTO audit_head VALUES (true, 1, '\\x00')")
		var seq int64
		if err := tx.Raw("SELECT head_seq FROM audit_lock_head()").Scan(&seq).Error; err != nil {
			return err
		}
		if seq != 53 {
			t.Errorf("audit_lock_head read a temporary table: seq %d, want 53", seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	appendN(t, db, 1)
	if res := verify(t, db, VerifyOptions{}); !res.OK || res.Entries != 54 {
		t.Fatalf("chain after the refused attempts: %+v %+v", res, res.FirstBroken)
	}
}
