package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/intake/intaketest"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/escalation"
)

func leakCase(t *testing.T, db *gorm.DB, received time.Time) string {
	t.Helper()
	key, comp, id := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO subject_keys (id, wrapped_key) VALUES (?, '\\x00')", []any{key}},
		{"INSERT INTO complainants (id, subject_key_id) VALUES (?, ?)", []any{comp, key}},
		{`INSERT INTO cases (id, case_number, kind, category, channel, state, complainant_id, leaked_data_type, leak_source,
			description, policy_pack, ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
			VALUES (?, ?, 'complaint', 'personal_information_leak', 'web_form', 'received', ?, 'phone', 'app', 'leak', 'cn',
			now(), now(), '\x00', ?, now())`, []any{id, "T-" + id[:8], comp, received}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// A detected incident awaits its grade; linking an earlier complaint moves
// its discovery and deadline earlier; grading counts the deadline from
// discovery; a missed duty is one breach row per duty and due time.
func TestIncidentDiscoveryGradeAndBreach(t *testing.T) {
	db := pgtest.Open(t)
	in := intaketest.CaseFacts(t, db, nil, nil)
	d0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	c0 := leakCase(t, db, d0)
	due := d0.Add(4 * time.Hour)
	e, _, err := Create(db, Escalation{Kind: wf.KindIncident, DedupeKey: "incident/" + c0, OperatorClass: wf.ClassOther,
		DueAt: &due, DiscoveredAt: &d0, CreatedAt: d0.Add(time.Hour)}, SystemActor, []string{c0})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Snapshot(db, e.ID)
	if err != nil || !s.AwaitingGrade || !s.ClockStart.Equal(d0) || !s.DueAt.Equal(due) {
		t.Fatalf("snapshot %+v %v", s, err)
	}
	earlier := leakCase(t, db, d0.Add(-2*time.Hour))
	if _, err := Apply(db, in, e.ID, wf.Action{ID: "l1", Type: wf.ActLinkCases, Actor: "officer.wang", CaseIDs: []string{earlier}}); err != nil {
		t.Fatal(err)
	}
	s, _ = Snapshot(db, e.ID)
	if !s.ClockStart.Equal(d0.Add(-2*time.Hour)) || !s.DueAt.Equal(d0.Add(2*time.Hour)) {
		t.Fatalf("after linking an earlier complaint: discovered %v due %v", s.ClockStart, s.DueAt)
	}
	if _, err := Apply(db, in, e.ID, wf.Action{ID: "g1", Type: wf.ActGrade, Actor: "officer.wang", OperatorClass: wf.ClassCentralBody, Severity: wf.SeveritySerious}); err != nil {
		t.Fatal(err)
	}
	s, _ = Snapshot(db, e.ID)
	var row Escalation
	db.Take(&row, "id = ?", e.ID)
	if s.AwaitingGrade || !s.DueAt.Equal(d0) || row.GradedBy != "officer.wang" || row.GradedAt == nil {
		t.Fatalf("graded: %+v, graded by %q at %v", s, row.GradedBy, row.GradedAt)
	}
	for _, id := range []string{"b1", "b2"} {
		if _, err := Apply(db, in, e.ID, wf.Action{ID: id, Type: wf.ActDutyBreached, Reference: wf.DutyReport, DueAt: d0}); err != nil {
			t.Fatal(err)
		}
	}
	var breaches []Breach
	db.Where("escalation_id = ?", e.ID).Find(&breaches)
	if len(breaches) != 1 || breaches[0].Duty != wf.DutyReport || !breaches[0].DueAt.Equal(d0) || breaches[0].ActionID != "b1" {
		t.Fatalf("breaches %+v", breaches)
	}
	_, err = Apply(db, in, e.ID, wf.Action{ID: "b3", Type: wf.ActDutyBreached, Reference: "lunch", DueAt: d0})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != wf.ErrTypeInvalidInput {
		t.Fatalf("unknown duty: %v", err)
	}
}

// An officer sets the discovery earlier than any complaint: the deadline
// follows, audited with the old and new times; a future time is refused. A
// grade below "relatively serious" leaves no due date (nothing to file), a
// re-grade at or above it brings the deadline back.
func TestIncidentSetDiscoveryAndSeverity(t *testing.T) {
	db := pgtest.Open(t)
	in := intaketest.CaseFacts(t, db, nil, nil)
	d0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	c0 := leakCase(t, db, d0)
	due := d0.Add(4 * time.Hour)
	e, _, err := Create(db, Escalation{Kind: wf.KindIncident, DedupeKey: "incident/" + c0, OperatorClass: wf.ClassOther,
		DueAt: &due, DiscoveredAt: &d0, CreatedAt: d0.Add(time.Hour)}, SystemActor, []string{c0})
	if err != nil {
		t.Fatal(err)
	}
	now := d0.Add(2 * time.Hour)
	_, err = Apply(db, in, e.ID, wf.Action{ID: "f1", Type: wf.ActSetDiscovery, Actor: "officer.wang", At: now, DiscoveredAt: now.Add(time.Minute)})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != wf.ErrTypeInvalidInput {
		t.Fatalf("future discovery: %v", err)
	}
	earlier := d0.Add(-3 * time.Hour)
	s, err := Apply(db, in, e.ID, wf.Action{ID: "s1", Type: wf.ActSetDiscovery, Actor: "officer.wang", At: now, DiscoveredAt: earlier})
	if err != nil || !s.ClockStart.Equal(earlier) || !s.DueAt.Equal(d0.Add(time.Hour)) {
		t.Fatalf("set discovery: %+v %v", s, err)
	}
	var details string
	if err := db.Raw(`SELECT details::text FROM audit_entries WHERE object_id = ? AND action = 'escalation.set_discovery'`, e.ID).Scan(&details).Error; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"old_discovered_at":"2026-11-30T08:00:00Z"`, `"discovered_at":"2026-11-30T05:00:00Z"`,
		`"old_due_at":"2026-11-30T12:00:00Z"`, `"due_at":"2026-11-30T09:00:00Z"`} {
		if !strings.Contains(details, want) {
			t.Fatalf("audit details %s lack %s", details, want)
		}
	}
	s, err = Apply(db, in, e.ID, wf.Action{ID: "g1", Type: wf.ActGrade, Actor: "officer.wang", At: now, Severity: wf.SeverityGeneral})
	if err != nil || !s.BelowThreshold || s.AwaitingGrade || s.DueAt != nil {
		t.Fatalf("graded general: %+v %v", s, err)
	}
	s, err = Apply(db, in, e.ID, wf.Action{ID: "g2", Type: wf.ActGrade, Actor: "officer.wang", At: now, Severity: wf.SeverityRelativelySerious})
	if err != nil || s.BelowThreshold || s.DueAt == nil || !s.DueAt.Equal(d0.Add(time.Hour)) {
		t.Fatalf("re-graded relatively serious: %+v %v", s, err)
	}
	var row Escalation
	db.Take(&row, "id = ?", e.ID)
	if row.Severity != wf.SeverityRelativelySerious || row.OperatorClass != wf.ClassOther {
		t.Fatalf("row severity %q class %q", row.Severity, row.OperatorClass)
	}
}
