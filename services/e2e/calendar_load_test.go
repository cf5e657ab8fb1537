package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/calendars"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/worker"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/policy"
)

// A case received on 17 December 2026 has its 15 working days end in
// January 2027, for which no notice is in force: counted on the statutory
// holidays, provisional (ends 24:00 on Fri 8 January). An administrator loads
// the 2027 notice (1–5 January off, Saturday 9 January a make-up working
// day), a second one confirms it: the case's workflow recomputes its deadline
// on it (24:00 on Mon 11 January), the change is audited with both dates, the
// provisional flag goes, the workflow's timer follows, and the complainant,
// who was told the old date, is told the new one. The worker runs in its own
// process's calendar set and picks the confirmed calendar up from the
// database, without a restart.
func TestConfirmedCalendarRecomputesAnOpenCase(t *testing.T) {
	shanghai := calendar.Shanghai()
	received := time.Date(2026, 12, 17, 10, 0, 0, 0, shanghai)
	h := newHarness(t, options{noWorker: true, now: func() time.Time { return received }})

	// The worker process: its own calendar set and policy engine.
	workerCals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	workerDB := pgtest.As(t, h.db, "redress_intake_app")
	acts := &worker.Activities{DB: workerDB, Keys: h.keys, Policy: policy.New(workerCals), Log: h.log,
		Escalations: esc.Command{Temporal: h.tc}, Calendars: &calendars.Store{DB: workerDB, Set: workerCals, Log: h.log},
		Sender: &notify.SMTPSender{Addr: h.smtp.Addr(), From: "redress@operator.example", Timeout: 5 * time.Second}}
	workCtx, stop := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := worker.Run(workCtx, h.tc, acts, h.commands); err != nil && workCtx.Err() == nil {
			t.Errorf("worker: %v", err)
		}
	}()
	t.Cleanup(func() { stop(); <-done }) // before the harness closes its client

	// CalendarService, as the intake listener serves it, with its own set.
	intakeCals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(h.log, grpcserver.NewMetrics(), access.Guard{Auth: h.identity, TrustActorHeader: true})
	calSrv := &calendars.Server{DB: h.db, Store: &calendars.Store{DB: h.db, Set: intakeCals},
		Temporal: h.tc, Commands: h.signer, Log: h.log}
	calendarv1.RegisterCalendarServiceServer(gs.GRPC, calSrv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(h.ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	cal := calendarv1.NewCalendarServiceClient(conn)

	req := submission("calendar-load-0001")
	req.Category = intakev1.Category_CATEGORY_PERSONAL_INFORMATION_LEAK
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), req)
	if err != nil {
		t.Fatal(err)
	}
	caseID := sub.GetCase().GetId()
	res := sub.GetCase().GetResolution()
	oldDue := time.Date(2027, 1, 9, 0, 0, 0, 0, shanghai) // 24:00 on 8 January
	if !res.GetDueAt().AsTime().Equal(oldDue) || !res.GetProvisional() {
		t.Fatalf("before the notice: due %v provisional %v, want %v provisional", res.GetDueAt().AsTime().In(shanghai), res.GetProvisional(), oldDue)
	}
	// The acknowledgement tells the complainant the (old) date.
	h.eventually("acknowledgement recorded as sent", time.Minute, func() bool {
		var n int64
		h.db.Model(&records.Notification{}).Where("case_id = ? AND kind = 'acknowledgement' AND status = 'sent'", caseID).Count(&n)
		return n == 1
	})

	file, err := os.ReadFile("../internal/calendars/testdata/cn-2027.json")
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := cal.Load(h.as("admin.li"), &calendarv1.LoadRequest{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cal.Confirm(h.as("admin.li"), &calendarv1.ConfirmRequest{LoadId: loaded.GetLoad().GetId()}); code(err) != codes.PermissionDenied {
		t.Fatalf("confirmed by its loader: %v", err)
	}
	conf, err := cal.Confirm(h.as("admin.wang"), &calendarv1.ConfirmRequest{LoadId: loaded.GetLoad().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if conf.GetRecomputed() != 1 || conf.GetFailed() != 0 {
		t.Fatalf("recomputed %d, failed %d; want the one open case", conf.GetRecomputed(), conf.GetFailed())
	}

	newDue := time.Date(2027, 1, 12, 0, 0, 0, 0, shanghai) // 24:00 on 11 January
	var d records.Deadline
	if err := h.db.Take(&d, "case_id = ? AND kind = ?", caseID, complaint.DeadlineResolution).Error; err != nil {
		t.Fatal(err)
	}
	if !d.DueAt.Equal(newDue) || d.Provisional {
		t.Fatalf("after confirmation: due %v provisional %v, want %v, not provisional", d.DueAt.In(shanghai), d.Provisional, newDue)
	}
	var c records.Case
	if err := h.db.Select("resolution_due_at").Take(&c, "id = ?", caseID).Error; err != nil || !c.ResolutionDueAt.Equal(newDue) {
		t.Fatalf("case row's copy: %v %v", c.ResolutionDueAt, err)
	}
	var details []string
	if err := h.db.Raw(`SELECT details::text FROM audit_entries WHERE action = 'case.deadline_recomputed' AND object_id = ?`, caseID).
		Scan(&details).Error; err != nil {
		t.Fatal(err)
	}
	if len(details) != 1 {
		t.Fatalf("deadline_recomputed entries: %v", details)
	}
	var det map[string]any
	if err := json.Unmarshal([]byte(details[0]), &det); err != nil {
		t.Fatal(err)
	}
	if det["deadline"] != "resolution" || det["old_due_at"] != oldDue.UTC().Format(time.RFC3339) ||
		det["new_due_at"] != newDue.UTC().Format(time.RFC3339) || det["new_provisional"] != false || det["old_provisional"] != true {
		t.Fatalf("audit details: %v", det)
	}
	var earlier int64
	h.db.Table("audit_entries").Where("action = 'case.deadline_moved_earlier' AND object_id = ?", caseID).Count(&earlier)
	if earlier != 0 {
		t.Fatal("a later deadline recorded as moved earlier")
	}

	// The workflow holds the new date: its timer is armed on it.
	v, err := h.tc.QueryWorkflow(h.ctx, complaint.WorkflowID(caseID), "", complaint.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var view complaint.StateView
	if err := v.Get(&view); err != nil {
		t.Fatal(err)
	}
	if !view.Resolution.DueAt.Equal(newDue) || view.Resolution.Provisional {
		t.Fatalf("workflow's view: %+v", view.Resolution)
	}

	// The complainant is told the new date.
	m := h.smtp.WaitFor(t, time.Minute, func(m smtptest.Message) bool {
		return strings.Contains(m.Subject, "期限变更") && strings.Contains(m.Subject, sub.GetCase().GetCaseNumber())
	})
	if !strings.Contains(m.Body, "2027-01-11 24:00") || !strings.Contains(m.Body, "是否受理") { // still received: both dates

		t.Fatalf("deadline notice does not tell the new date:\n%s", m.Body)
	}

	// The intake process's sweep finds nothing left to recompute.
	if err := calSrv.Sweep(h.ctx); err != nil {
		t.Fatal(err)
	}
	var recomputes int64
	h.db.Model(&records.CaseAction{}).Where("case_id = ? AND action = ?", caseID, complaint.UpdateRecomputeDeadlines).Count(&recomputes)
	if recomputes != 1 {
		t.Fatalf("recompute actions after the sweep: %d, want 1", recomputes)
	}

	list, err := cal.List(h.as("officer.chen"), &calendarv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range list.GetYears() {
		if y.GetYear() == 2027 && y.GetBasis() != calendarv1.YearBasis_YEAR_BASIS_LOADED {
			t.Fatalf("2027 listed as %v", y.GetBasis())
		}
	}
}
