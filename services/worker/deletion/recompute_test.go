package deletionworker

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/calendars"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/policy"
)

// A request received on 17 December 2026 is due on the statutory holidays
// until the 2027 notice is confirmed; the recomputation reads the confirmed
// calendar from the database, moves the due date with its audit entry, and
// a second run changes nothing. An answered request keeps its date.
func TestRecomputeDueReadsTheConfirmedCalendar(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, _ := crypto.NewKeyring(master)
	set, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	engine := policy.New(set)
	received := time.Date(2026, 12, 17, 10, 0, 0, 0, calendar.Shanghai())
	before, err := deletion.DueFor(engine, deletion.Request{CreatedAt: received})
	if err != nil {
		t.Fatal(err)
	}
	newRequest := func(status string) deletion.Request {
		k, err := keys.NewSubjectKey(db)
		if err != nil {
			t.Fatal(err)
		}
		r := deletion.Request{ID: uuid.NewString(), Type: "erasure", Source: "agent", Status: status, SubjectKeyID: k.ID,
			DueAt: before.DueAt, DueRule: before.RuleID, SubmittedBy: "agent.li", CreatedAt: received, UpdatedAt: received}
		if err := db.Create(&r).Error; err != nil {
			t.Fatal(err)
		}
		return r
	}
	open, answered := newRequest(wf.StatusAwaitingApproval), newRequest(wf.StatusCompleted)

	// The 2027 notice, confirmed (1–5 January off, Saturday 9 January worked).
	file := []byte(`{"jurisdiction":"cn","year":2027,"source":"State Council notice of 2026-11-20 (test)",
		"holidays":[{"name":"New Year's Day","from":"2027-01-01","to":"2027-01-05","days_off":5}],
		"makeup_workdays":[{"date":"2027-01-09","weekday":"Saturday","for":"New Year's Day"}]}`)
	confirm2027(t, db, file)
	a := &Activities{DB: db, Keys: keys, Policy: engine, Calendars: &calendars.Store{DB: db, Set: set}}
	snap, err := a.RecomputeDue(ctx, open.ID, wf.Action{Actor: deletion.CalendarActor})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2027, 1, 12, 0, 0, 0, 0, calendar.Shanghai()) // 24:00 on Mon 11 January
	if !before.DueAt.Before(want) || !snap.DueAt.Equal(want) {
		t.Fatalf("due %v → %v, want %v", before.DueAt, snap.DueAt, want)
	}
	var details []string
	db.Raw(`SELECT details::text FROM audit_entries WHERE object_id = ? AND action = 'deletion.deadline_recomputed'`, open.ID).Scan(&details)
	if len(details) != 1 {
		t.Fatalf("recomputed entries: %v", details)
	}
	if again, err := a.RecomputeDue(ctx, open.ID, wf.Action{Actor: deletion.CalendarActor}); err != nil || !again.DueAt.Equal(want) {
		t.Fatalf("second run: %v %v", again.DueAt, err)
	}
	if s, err := a.RecomputeDue(ctx, answered.ID, wf.Action{Actor: deletion.CalendarActor}); err != nil || !s.DueAt.Equal(before.DueAt) {
		t.Fatalf("answered request: %v %v", s.DueAt, err)
	}
	var n int64
	db.Table("audit_entries").Where("action = 'deletion.deadline_recomputed'").Count(&n)
	if n != 1 {
		t.Fatalf("recomputed entries in all: %d, want 1", n)
	}
}

// confirm2027 records the 2027 calendar file as loaded and confirmed.
func confirm2027(t *testing.T, db *gorm.DB, file []byte) {
	t.Helper()
	sum, decided := sha256.Sum256(file), time.Now().UTC()
	if err := db.Create(&calendars.Load{ID: uuid.NewString(), Jurisdiction: "cn", Year: 2027, Content: file, SHA256: sum[:],
		Source: "test", NoticeDate: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), LoadedBy: "admin.li", LoadedAt: decided,
		Status: calendars.StatusConfirmed, DecidedBy: "admin.wang", DecidedAt: &decided}).Error; err != nil {
		t.Fatal(err)
	}
}

// A notice with a make-up Saturday brings a request's due date forward:
// those who approve plans or complete their tasks are alerted (the
// request's reference, its new date, a link), once however often the
// activity runs; the audit entry with both dates stays.
func TestRecomputeDueEarlierAlertsTheDeletionReviewers(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	for _, u := range [][2]string{{"agent.li", "agent"}, {"sup.wang", "supervisor"}, {"officer.he", "compliance_officer"}} {
		if err := db.Exec(`INSERT INTO users (id, username, display_name, role, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'x', now(), now())`, uuid.New(), u[0], u[0], u[1]).Error; err != nil {
			t.Fatal(err)
		}
	}
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, _ := crypto.NewKeyring(master)
	set, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	engine := policy.New(set)
	received := time.Date(2026, 12, 17, 10, 0, 0, 0, calendar.Shanghai())
	before, err := deletion.DueFor(engine, deletion.Request{CreatedAt: received})
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	r := deletion.Request{ID: uuid.NewString(), Type: "erasure", Source: "agent", Status: wf.StatusAwaitingApproval, SubjectKeyID: k.ID,
		DueAt: before.DueAt, DueRule: before.RuleID, SubmittedBy: "agent.li", CreatedAt: received, UpdatedAt: received}
	if err := db.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	confirm2027(t, db, []byte(`{"jurisdiction":"cn","year":2027,"source":"State Council notice of 2026-11-20 (test)",
		"holidays":[{"name":"New Year's Day","from":"2027-01-01","to":"2027-01-01","days_off":1}],
		"makeup_workdays":[{"date":"2027-01-02","weekday":"Saturday","for":"New Year's Day"}]}`))
	store := &alerts.Store{DB: pgtest.As(t, db, "redress_intake_app")}
	a := &Activities{DB: db, Keys: keys, Policy: engine, Calendars: &calendars.Store{DB: db, Set: set}, Alerts: alerts.Local{Store: store}}
	snap, err := a.RecomputeDue(ctx, r.ID, wf.Action{Actor: deletion.CalendarActor})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.DueAt.Before(before.DueAt) {
		t.Fatalf("due %v → %v: not earlier", before.DueAt, snap.DueAt)
	}
	// Raised again, as the retry of a failed commit would: nothing added.
	if err := a.dueMovedEarlier(ctx, db, r.ID, before.DueAt, snap.DueAt); err != nil {
		t.Fatal(err)
	}
	var told []alerts.Alert
	db.Order("recipient").Find(&told, "kind = ?", alerts.DeadlineMovedEarlier)
	if len(told) != 2 || told[0].Recipient != "agent.li" || told[1].Recipient != "sup.wang" ||
		told[0].SubjectRef != "DR-"+r.ID[:8] || told[0].Link != "/deletions/"+r.ID || !told[0].DueAt.Equal(snap.DueAt) {
		t.Fatalf("alerts %+v, want one each for agent.li and sup.wang naming the request and its new date", told)
	}
	var n int64
	db.Table("audit_entries").Where("action = 'deletion.deadline_moved_earlier' AND object_id = ?", r.ID).Count(&n)
	if n == 0 {
		t.Fatal("no moved-earlier audit entry")
	}
}
