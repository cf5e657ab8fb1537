package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/policy"
)

// A 2027 notice with a make-up Saturday on 2 January brings a paused-and-
// resumed case's deadline one working day forward: the recomputation counts
// the pause again, writes and audits the earlier date, and alerts the
// assignee and the supervisors (once, however often it is retried); a retry
// of the same action writes nothing twice.
func TestRecomputeMovesEarlierAndReplaysPauses(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	sh := calendar.Shanghai()
	received := time.Date(2026, 12, 17, 10, 0, 0, 0, sh)
	pausedFrom, pausedUntil := time.Date(2026, 12, 21, 10, 0, 0, 0, sh), time.Date(2026, 12, 23, 10, 0, 0, 0, sh)
	facts := policy.Facts{Pack: "cn", Kind: "complaint", Category: "personal_information_leak", Channel: "web_form", ReceivedAt: received}

	// As intake computed it, before the notice: provisional, then extended by the pause.
	before, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	old := decideAndPause(t, policy.New(before), facts, pausedFrom, pausedUntil)
	if !old.Provisional {
		t.Fatal("the deadline before the notice is not provisional")
	}

	caseID, comp := uuid.NewString(), uuid.NewString()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	must(err)
	sk, err := keys.NewSubjectKey(db)
	must(err)
	must(db.Exec(`INSERT INTO complainants (id, subject_key_id) VALUES (?, ?)`, comp, sk.ID).Error)
	must(db.Exec(`INSERT INTO cases (id, case_number, kind, category, channel, state, assignee, complainant_id, description,
		policy_pack, ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
		VALUES (?, 'C-2026-000900', 'complaint', 'personal_information_leak', 'web_form', 'in_progress', 'agent.li', ?, 'x', 'cn',
		?, ?, '\x00', ?, ?)`, caseID, comp, received.Add(24*time.Hour), old.DueAt, received, received).Error)
	rem, _ := json.Marshal(old.Reminders)
	must(db.Exec(`INSERT INTO deadlines (case_id, kind, due_at, rule_id, citation, provisional, pausable, reminders, status)
		VALUES (?, 'acknowledgement', ?, 'cn/ack', 'x', false, false, '[]', 'met'),
		       (?, 'resolution', ?, ?, ?, true, ?, ?, 'open')`,
		caseID, received.Add(24*time.Hour), caseID, old.DueAt, old.RuleID, old.Citation, old.Pausable, string(rem)).Error)
	for i, a := range []struct {
		action string
		at     time.Time
	}{{complaint.UpdateRequestInformation, pausedFrom}, {complaint.UpdateComplainantReplied, pausedUntil}} {
		must(db.Create(&records.CaseAction{ActionID: uuid.NewString(), CaseID: caseID, Action: a.action,
			FromState: []string{"in_progress", "awaiting_complainant"}[i], ToState: []string{"awaiting_complainant", "in_progress"}[i],
			Actor: "agent.li", AppliedAt: a.at}).Error)
	}

	after, err := calendar.LoadEmbedded()
	must(err)
	must(after.Add([]byte(`{"jurisdiction":"cn","year":2027,"source":"State Council notice of 2026-11-20 (test)",
		"holidays":[{"name":"New Year's Day","from":"2027-01-01","to":"2027-01-01","days_off":1}],
		"makeup_workdays":[{"date":"2027-01-02","weekday":"Saturday","for":"New Year's Day"}]}`)))
	engine := policy.New(after)
	want := decideAndPause(t, engine, facts, pausedFrom, pausedUntil)
	if !want.DueAt.Before(old.DueAt) || want.Provisional {
		t.Fatalf("fixture: new %v (provisional %v) is not earlier than %v", want.DueAt, want.Provisional, old.DueAt)
	}

	for _, u := range [][2]string{{"agent.li", "agent"}, {"agent.wu", "agent"}, {"sup.wang", "supervisor"}} {
		must(db.Exec(`INSERT INTO users (id, username, display_name, role, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'x', now(), now())`, uuid.New(), u[0], u[0], u[1]).Error)
	}
	store := &alerts.Store{DB: pgtest.As(t, db, "redress_intake_app")} // as the complaint worker raises them
	a := &Activities{DB: db, Policy: engine, Log: slog.New(slog.DiscardHandler), Alerts: alerts.Local{Store: store}}
	in := complaint.RecomputeInput{CaseID: caseID, ActionID: "recompute-1", Actor: "admin.wang"}
	res, err := a.RecomputeDeadlines(ctx, in)
	must(err)
	if len(res.Moved) != 1 || res.Moved[0].Kind != complaint.DeadlineResolution || !res.Moved[0].OldDueAt.Equal(old.DueAt) ||
		!res.Moved[0].NewDueAt.Equal(want.DueAt) || res.Moved[0].Communicated {
		t.Fatalf("moved: %+v, want resolution %v → %v, not communicated (no acknowledgement sent)", res.Moved, old.DueAt, want.DueAt)
	}
	if !res.Snapshot.Resolution.DueAt.Equal(want.DueAt) || res.Snapshot.Resolution.Provisional || res.Snapshot.Version != 1 {
		t.Fatalf("snapshot: %+v version %d", res.Snapshot.Resolution, res.Snapshot.Version)
	}
	var earlier []string
	must(db.Raw(`SELECT details::jsonb->>'assignee' FROM audit_entries WHERE action = 'case.deadline_moved_earlier' AND object_id = ?`, caseID).
		Scan(&earlier).Error)
	if len(earlier) != 1 || earlier[0] != "agent.li" {
		t.Fatalf("moved-earlier entries: %v", earlier)
	}
	// The alert is raised before the commit: raised again, as a retry after a
	// failed commit would, it adds nothing.
	must(a.deadlineMovedEarlier(ctx, db, records.Case{ID: caseID, CaseNumber: "C-2026-000900", Assignee: "agent.li"},
		complaint.DeadlineResolution, old.DueAt, want.DueAt, time.Now()))
	var told []alerts.Alert
	must(db.Order("recipient").Find(&told, "kind = ?", alerts.DeadlineMovedEarlier).Error)
	if len(told) != 2 || told[0].Recipient != "agent.li" || told[1].Recipient != "sup.wang" ||
		told[0].SubjectRef != "C-2026-000900" || told[0].Link != "/cases/"+caseID || !told[0].DueAt.Equal(want.DueAt) {
		t.Fatalf("alerts %+v, want one each for agent.li and sup.wang naming the case and its new date", told)
	}

	// The same action again (a retried activity): nothing more is written.
	again, err := a.RecomputeDeadlines(ctx, in)
	must(err)
	if len(again.Moved) != 0 || !again.Snapshot.Resolution.DueAt.Equal(want.DueAt) {
		t.Fatalf("retry: %+v", again)
	}
	// A later recomputation on the same calendars moves nothing.
	third, err := a.RecomputeDeadlines(ctx, complaint.RecomputeInput{CaseID: caseID, ActionID: "recompute-2", Actor: "admin.wang"})
	must(err)
	if len(third.Moved) != 0 {
		t.Fatalf("second recomputation moved %+v", third.Moved)
	}
	var n int64
	db.Table("audit_entries").Where("action = 'case.deadline_recomputed' AND object_id = ?", caseID).Count(&n)
	if n != 1 {
		t.Fatalf("deadline_recomputed entries: %d, want 1", n)
	}
}

func decideAndPause(t *testing.T, e *policy.Engine, f policy.Facts, from, until time.Time) policy.Deadline {
	t.Helper()
	d, err := e.Decide(f)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := e.ExtendForPause(d.Resolution, from, until)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}
