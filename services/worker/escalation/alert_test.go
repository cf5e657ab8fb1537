package escalation

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/escalation"
)

// An incident's report duty near its due time, and then missed, alerts
// those who may file it (compliance officers and supervisors) in the
// console: once per reminder and once for the breach, however often the
// activity is retried, naming the incident and linking to it.
func TestDutyRemindersAndBreachesAlertOfficers(t *testing.T) {
	ctx := context.Background()
	base := pgtest.Open(t)
	now := time.Now().UTC()
	for _, u := range [][2]string{{"officer.he", "compliance_officer"}, {"sup.wang", "supervisor"}, {"agent.li", "agent"}} {
		if err := base.Exec(`INSERT INTO users (id, username, display_name, role, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'x', ?, ?)`, uuid.New(), u[0], u[0], u[1], now, now).Error; err != nil {
			t.Fatal(err)
		}
	}
	id, due := uuid.NewString(), now.Add(time.Hour).Truncate(time.Second)
	if err := base.Exec(`INSERT INTO escalations (id, kind, dedupe_key, created_at, due_at) VALUES (?, 'incident', ?, ?, ?)`,
		id, "test/"+id, now, due).Error; err != nil {
		t.Fatal(err)
	}
	store := &alerts.Store{DB: pgtest.As(t, base, "redress_intake_app")}
	a := &Activities{DB: pgtest.As(t, base, "redress_escalation_app"), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Alerts: alerts.Local{Store: store}}
	for range 2 { // retried
		if err := a.dutyAlert(ctx, id, wf.Action{Type: wf.ActDutyReminder, Reference: wf.DutyReport, DueAt: due, Step: "80%"}); err != nil {
			t.Fatal(err)
		}
		if err := a.dutyAlert(ctx, id, wf.Action{Type: wf.ActDutyBreached, Reference: wf.DutyReport, DueAt: due}); err != nil {
			t.Fatal(err)
		}
	}
	var got []alerts.Alert
	if err := base.Order("kind, recipient").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, al := range got {
		seen = append(seen, string(al.Kind)+":"+al.Recipient)
		if al.SubjectRef != id || al.Link != "/incidents/"+id || al.DueAt == nil || !al.DueAt.Equal(due) {
			t.Errorf("alert %+v", al)
		}
	}
	want := "escalation_due:officer.he,escalation_due:sup.wang,escalation_overdue:officer.he,escalation_overdue:sup.wang"
	if strings.Join(seen, ",") != want {
		t.Fatalf("alerts %v, want %s", seen, want)
	}
}
