package worker

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/escalation"
)

type noOpener struct{}

func (noOpener) Open(context.Context, escalation.Opening) (string, error) { return "e", nil }

// staff adds an account of role with a work address.
func staff(t *testing.T, db *gorm.DB, username, role string, disabled bool) {
	t.Helper()
	now := time.Now().UTC()
	if err := db.Exec(`INSERT INTO users (id, username, display_name, role, email, password_hash, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'x', ?, ?, ?)`, uuid.New(), username, username, role, username+"@staff.example", disabled, now, now).Error; err != nil {
		t.Fatal(err)
	}
}

// A deadline reminder alerts the case's assignee and every supervisor, once
// however often the activity is retried, with the case number and a link
// and nothing of the complainant; a breach alerts them again and is mailed
// per preferences: a supervisor who turned mail off for overdue cases gets
// none. All as the complaint worker connects (intake's role).
func TestReminderAndBreachAlertAssigneeAndSupervisors(t *testing.T) {
	ctx := context.Background()
	db := pgtest.As(t, pgtest.Open(t), "redress_intake_app")
	keys := testKeyring(t)
	caseID := noticeCase(t, db, keys, "C-2026-A00001")
	if err := db.Exec(`UPDATE cases SET assignee = 'agent.li' WHERE id = ?`, caseID).Error; err != nil {
		t.Fatal(err)
	}
	staff(t, db, "agent.li", "agent", false)
	staff(t, db, "agent.wu", "agent", false) // not the assignee
	staff(t, db, "sup.chen", "supervisor", false)
	staff(t, db, "sup.gone", "supervisor", true)
	staff(t, db, "sup.quiet", "supervisor", false)

	smtp := smtptest.Start(t)
	store := &alerts.Store{DB: db, Mail: &notify.SMTPSender{Addr: smtp.Addr(), From: "Redress <r@x>", PlainText: true, Timeout: 5 * time.Second},
		ConsoleURL: "https://console.example"}
	if err := store.SetPreferences(ctx, "sup.quiet", []alerts.Preference{{Kind: alerts.CaseOverdue, Console: true, Email: false}}); err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: db, Keys: keys, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Escalations: noOpener{},
		Alerts: alerts.Local{Store: store}}
	due := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	rem := complaint.ReminderInput{CaseID: caseID, Kind: "resolution", DueAt: due, Ordinal: 2}
	for range 2 { // the activity retried
		if err := a.RecordReminder(ctx, rem); err != nil {
			t.Fatal(err)
		}
	}
	var got []alerts.Alert
	if err := db.Order("recipient").Find(&got, "kind = 'case_at_risk'").Error; err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, al := range got {
		who = append(who, al.Recipient)
		if al.SubjectRef != "C-2026-A00001" || al.Link != "/cases/"+caseID || al.DueAt == nil || !al.DueAt.Equal(due) {
			t.Errorf("alert %+v", al)
		}
		for _, pd := range []string{"zhang", "example.com"} {
			if strings.Contains(al.Note+al.SubjectRef+al.Link+al.EventKey, pd) {
				t.Errorf("alert carries personal data %q: %+v", pd, al)
			}
		}
	}
	if strings.Join(who, ",") != "agent.li,sup.chen,sup.quiet" {
		t.Fatalf("reminder alerted %v, want the assignee and the enabled supervisors once each", who)
	}
	if n := len(smtp.Messages()); n != 0 {
		t.Fatalf("%d mails for a reminder (mail is off by default for at-risk cases)", n)
	}

	for range 2 {
		if err := a.RecordBreach(ctx, complaint.BreachInput{CaseID: caseID, Kind: "resolution", DueAt: due}); err != nil {
			t.Fatal(err)
		}
	}
	var overdue int64
	db.Model(&alerts.Alert{}).Where("kind = 'case_overdue'").Count(&overdue)
	if overdue != 3 {
		t.Fatalf("%d overdue alerts, want 3", overdue)
	}
	msgs := smtp.WaitCount(t, 2, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	if len(smtp.Messages()) != 2 {
		t.Fatalf("%d mails, want 2 (assignee and sup.chen; sup.quiet turned mail off)", len(smtp.Messages()))
	}
	var to []string
	for _, m := range msgs {
		to = append(to, m.To...)
		if !strings.Contains(m.Subject, "C-2026-A00001") || !strings.Contains(m.Body, "https://console.example/cases/"+caseID) ||
			strings.Contains(m.Body, "zhang") {
			t.Errorf("mail %q: %s", m.Subject, m.Body)
		}
	}
	if strings.Join(to, ",") != "agent.li@staff.example,sup.chen@staff.example" && strings.Join(to, ",") != "sup.chen@staff.example,agent.li@staff.example" {
		t.Fatalf("mailed %v", to)
	}
}
