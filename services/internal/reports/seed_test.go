package reports

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/redress/redress/workflows/calendar"
)

// fixture is one seeded case with its deadlines (times in Asia/Shanghai).
type fixture struct {
	category, channel, state string
	received                 string
	ackDue, ackMet           string // ackMet "" = not met
	ackStatus                string // when not met: open | breached
	resDue, resMet           string
	resStatus                string
	rule                     string
}

func sh(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Shanghai())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func seedFixtures(t *testing.T, db *gorm.DB, fs []fixture) {
	t.Helper()
	complainant := seedComplainant(t, db)
	for i, f := range fs {
		id := uuid.NewString()
		rec := sh(t, f.received)
		must(t, db.Exec(`INSERT INTO cases (id, case_number, kind, category, channel, state, complainant_id, description,
			policy_pack, ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
			VALUES (?, ?, 'complaint', ?, ?, ?, ?, 'seeded', 'cn', ?, ?, '\x00', ?, ?)`,
			id, fmt.Sprintf("C-2026-T%05d", i+1), f.category, f.channel, f.state, complainant,
			sh(t, f.ackDue), sh(t, f.resDue), rec, rec).Error)
		for _, d := range []struct{ kind, due, met, status, rule string }{
			{"acknowledgement", f.ackDue, f.ackMet, f.ackStatus, "cn/C1"},
			{"resolution", f.resDue, f.resMet, f.resStatus, f.rule},
		} {
			status, met := d.status, any(nil)
			if d.met != "" {
				status, met = "met", sh(t, d.met)
			}
			if status == "" {
				status = "open"
			}
			if d.rule == "" {
				d.rule = "cn/A1"
			}
			must(t, db.Exec(`INSERT INTO deadlines (case_id, kind, due_at, rule_id, citation, status, met_at)
				VALUES (?, ?, ?, ?, 'seeded citation', ?, ?)`, id, d.kind, sh(t, d.due), d.rule, status, met).Error)
		}
	}
}

func seedComplainant(t *testing.T, db *gorm.DB) string {
	key, id := uuid.NewString(), uuid.NewString()
	must(t, db.Exec(`INSERT INTO subject_keys (id, wrapped_key) VALUES (?, '\x01')`, key).Error)
	must(t, db.Exec(`INSERT INTO complainants (id, subject_key_id) VALUES (?, ?)`, id, key).Error)
	return id
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
