package e2e

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/worker"
	"github.com/redress/redress/workflows/complaint"
)

// serveAlerts serves AlertService behind the real guard (no actor header
// trusted) on its own socket, on intake's database role as the intake
// process does, and answers a client of it.
func serveAlerts(t *testing.T, h *harness, store *alerts.Store) identityv1.AlertServiceClient {
	t.Helper()
	gs := grpcserver.New(h.log, grpcserver.NewMetrics(), access.Guard{Auth: h.identity})
	identityv1.RegisterAlertServiceServer(gs.GRPC, &alerts.Server{Store: store})
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
	return identityv1.NewAlertServiceClient(conn)
}

// The notification panel in a browser: a supervisor sees the unread count
// in the navigation bar (an at-risk case from the complaint worker's
// reminder, an incident near its deadline raised by the escalation service
// with its own credential), opens the list with the objects' links, marks
// one read and then all, reads it in Chinese, and turns mail off for
// overdue cases.
func TestAlertsInBrowser(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	store := &alerts.Store{DB: pgtest.As(t, h.db, "redress_intake_app"), Log: h.log}
	client := serveAlerts(t, h, store)
	base := serveConsole(t, h, console.Config{Alerts: client})
	consoleAccounts(t, h)

	sub, err := h.api.SubmitComplaint(h.as("feed"), submission("alerts-0001"))
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	acts := &worker.Activities{DB: pgtest.As(t, h.db, "redress_intake_app"), Log: h.log, Alerts: alerts.Local{Store: store}}
	if err := acts.RecordReminder(h.ctx, complaint.ReminderInput{CaseID: c.GetId(), Kind: "resolution",
		DueAt: time.Now().Add(72 * time.Hour), Ordinal: 1}); err != nil {
		t.Fatal(err)
	}
	escToken, err := h.factsCred.get(h.ctx, h.identity, "svc.escalation", access.EscalationService)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(40 * time.Minute)
	if err := (alerts.Remote{Client: client}).Raise(bearerCtx(h.ctx, escToken), alerts.Event{Kind: alerts.EscalationDue,
		Key: "escalation/inc-1/reminder/report", SubjectType: "escalation", SubjectRef: "inc-1", Note: "incident: is due soon",
		Link: "/incidents/inc-1", DueAt: &due}); err != nil {
		t.Fatal(err)
	}

	ctx := consoleBrowser(t, h, base)
	consoleSignIn(t, ctx, base, "sup.wang")
	count := func() string {
		t.Helper()
		return strings.TrimSpace(cget(t, ctx, "unread count", chromedp.Text(chromedp.ID("alert-count"))))
	}
	crun(t, ctx, "queue", chromedp.Navigate(base+"/queue"), chromedp.WaitVisible(chromedp.ID("queue")))
	if n := count(); n != "2" {
		t.Fatalf("navigation bar shows %q unread, want 2", n)
	}
	crun(t, ctx, "open alerts", chromedp.Click(chromedp.ID("nav-alerts")), chromedp.WaitVisible(chromedp.ID("alerts")))
	links := cget(t, ctx, "links", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#alerts a.alert-link")].map(a => a.getAttribute("href") + " " + a.textContent)`))
	if len(links) != 2 || links[0] != "/incidents/inc-1 inc-1" || links[1] != "/cases/"+c.GetId()+" "+c.GetCaseNumber() {
		t.Fatalf("alert links %q", links)
	}
	crun(t, ctx, "mark one read", chromedp.Click(`#alerts tr.unread .mark-read`), chromedp.WaitVisible(chromedp.ID("flash")))
	if n := count(); n != "1" {
		t.Fatalf("after marking one read the count is %q, want 1", n)
	}
	// The page after the first mark shows a flash too: take it away so the
	// wait below sees the next page's, not this one's.
	cget(t, ctx, "drop the flash", chromedp.Evaluate[bool](`(document.getElementById("flash").remove(), true)`))
	crun(t, ctx, "mark all read", chromedp.Click(chromedp.ID("alerts-read-all")), chromedp.WaitVisible(chromedp.ID("flash")))
	if n := count(); n != "0" {
		t.Fatalf("after marking all read the count is %q, want 0", n)
	}
	crun(t, ctx, "Chinese", chromedp.Navigate(base+"/lang/zh?back=/alerts"), chromedp.WaitVisible(chromedp.ID("alerts")))
	if nav := cget(t, ctx, "nav", chromedp.Text(chromedp.ID("nav-alerts"))); !strings.Contains(nav, "提醒") {
		t.Fatalf("Chinese navigation bar shows %q", nav)
	}
	if table := cget(t, ctx, "table", chromedp.Text(chromedp.ID("alerts"))); !strings.Contains(table, "工单即将到期") {
		t.Fatalf("Chinese list:\n%s", table)
	}

	crun(t, ctx, "mail off for overdue cases", chromedp.Click(chromedp.ID("email_ALERT_KIND_CASE_OVERDUE")),
		chromedp.Click(chromedp.ID("save-preferences")), chromedp.WaitVisible(chromedp.ID("flash")))
	prefs, err := store.Preferences(h.ctx, "sup.wang")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prefs {
		if want := alerts.DefaultPreference(p.Kind); p.Kind == alerts.CaseOverdue && (p.Email || !p.Console) ||
			p.Kind != alerts.CaseOverdue && p != want {
			t.Errorf("preference %+v after the form", p)
		}
	}
}

func bearerCtx(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
