package reports

import (
	"testing"

	"github.com/google/uuid"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/pgtest"
)

func TestEscalationAndDeletionRegisters(t *testing.T) {
	db := pgtest.Open(t)
	seedFixtures(t, db, springFestival[:1])
	var caseID, keyID string
	must(t, db.Raw(`SELECT id FROM cases WHERE case_number = 'C-2026-T00001'`).Scan(&caseID).Error)
	must(t, db.Raw(`SELECT subject_key_id FROM complainants LIMIT 1`).Scan(&keyID).Error)
	escID := uuid.NewString()
	must(t, db.Exec(`INSERT INTO escalations (id, case_id, kind, deadline_kind, status, reason, dedupe_key, created_at, due_at, due_rule)
		VALUES (?, ?, 'sla_breach', 'acknowledgement', 'open', 'acknowledgement deadline missed', 'k1', ?, ?, 'cn/I1')`,
		escID, caseID, sh(t, "2026-02-13 10:00"), sh(t, "2026-02-13 14:00")).Error)
	// A missed duty shows in the register.
	must(t, db.Exec(`INSERT INTO escalation_breaches (escalation_id, duty, due_at, breached_at, action_id) VALUES (?, 'filing', ?, ?, 'a1')`,
		escID, sh(t, "2026-02-14 10:00"), sh(t, "2026-02-14 10:00")).Error)
	// An incident graded below the reporting threshold: recorded with its grade.
	must(t, db.Exec(`INSERT INTO escalations (id, kind, status, reason, dedupe_key, created_at, discovered_at, graded_at, severity, operator_class)
		VALUES (?, 'incident', 'open', 'leak', 'k2', ?, ?, ?, 'general', 'other')`,
		uuid.NewString(), sh(t, "2026-02-13 12:00"), sh(t, "2026-02-13 11:00"), sh(t, "2026-02-13 12:30")).Error)
	must(t, db.Exec(`INSERT INTO deletion_requests (id, type, source, case_id, status, subject_key_id, phone_enc, due_at, due_rule,
		reason_code, submitted_by, created_at, updated_at)
		VALUES (?, 'erasure', 'case', ?, 'executing', ?, '\xdeadbeef', ?, 'cn/A1', '', 'agent-1', ?, ?)`,
		uuid.NewString(), caseID, keyID, sh(t, "2026-03-06 23:59"), sh(t, "2026-02-13 11:00"), sh(t, "2026-02-14 09:00")).Error)
	c := reportingClient(t, db, sh(t, "2026-03-20 12:00"))

	_, rows := export(t, c, february(t, reportingv1.Report_REPORT_ESCALATION_REGISTER, 0))
	if len(rows) != 3 || rows[1][1] != "C-2026-T00001" || rows[1][2] != "sla_breach" || rows[1][7] != "2026-02-13T10:00:00+08:00" ||
		rows[1][8] != "2026-02-13T14:00:00+08:00" || rows[1][9] != "cn/I1" || rows[0][22] != "missed_duties" ||
		rows[1][22] != "filing@2026-02-14T02:00:00Z" || rows[0][23] != "severity" || rows[2][23] != "general" ||
		rows[2][20] != "2026-02-13T11:00:00+08:00" || rows[2][8] != "" {
		t.Errorf("escalation register %v", rows)
	}
	_, rows = export(t, c, february(t, reportingv1.Report_REPORT_DELETION_REGISTER, 0))
	if len(rows) != 2 || rows[1][1] != "erasure" || rows[1][3] != "C-2026-T00001" || rows[1][4] != "executing" ||
		rows[1][7] != "2026-03-06T23:59:00+08:00" {
		t.Errorf("deletion register %v", rows)
	}
	for _, cell := range rows[1] {
		if cell == "deadbeef" || cell == "\\xdeadbeef" {
			t.Errorf("encrypted identifier in the register: %v", rows[1])
		}
	}
}
