package e2e

import (
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/workflows/calendar"
	delwf "github.com/redress/redress/workflows/deletion"
)

// englishTerms are the English names of states, statuses, roles, kinds and
// column headings (from the shared catalogue): none may show on a Chinese
// page.
func englishTerms() []string {
	var out []string
	for key, text := range i18n.Shared[i18n.EN] {
		group, code, _ := strings.Cut(key, ".")
		switch group {
		case "state", "deletion", "esc", "esc_kind", "followup", "role", "col", "dstatus", "action", "deadline", "unit", "adapter":
			out = append(out, text, code) // the English name, and the code shown raw
		}
	}
	return out
}

// consoleKey is an untranslated catalogue key as it would show
// ("newcase.submit", "[missing x]").
var consoleKey = regexp.MustCompile(`\[missing|\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b`)

// notWords are data on a page that look like words or keys: account
// names, addresses and host names.
var notWords = regexp.MustCompile(`\b(?:sup\.wang|agent\.li|comp\.zhao|admin\.zhou|svc\.[a-z]+)\b|[\w.+-]+@[\w.-]+|\b(?:[a-z0-9-]+\.)+(?:example|com|cn|local|org)\b`)

// han is a Chinese character.
var han = regexp.MustCompile(`\p{Han}`)

// Every console page in Chinese, in Chromium, for each role that sees it:
// no English state, status, role, kind or column name, and no untranslated
// key; the case timeline names its audit actions in Chinese. Identifiers,
// what people typed and citations with the policy's notes on them are
// data, not words of the console, and are left out.
func TestConsoleSpeaksChineseOnEveryPage(t *testing.T) {
	r := newDeletionRig(t, 10)
	h := r.harness
	e := startEscalation(h, escOptions{})
	gs := grpcserver.New(h.log, grpcserver.NewMetrics(), access.Guard{Auth: h.identity, TrustActorHeader: true})
	escalationv1.RegisterEscalationServiceServer(gs.GRPC, e.srv)
	glis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(h.ctx, glis) }()
	conn, err := grpc.NewClient(glis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, h, console.Config{Deletion: r.api, Escalation: escalationv1.NewEscalationServiceClient(conn),
		Reporting: reportingv1.NewReportingServiceClient(h.conn), Policy: h.policy, Calendars: cals})
	for _, u := range []identity.NewUser{
		{Username: "sup.wang", Role: access.Supervisor, Password: browserPassword},
		{Username: "admin.zhou", Role: access.Admin, Password: browserPassword},
		{Username: "comp.zhao", Role: access.ComplianceOfficer, Password: browserPassword},
	} {
		if _, err := h.identity.AddUser(h.ctx, "test", u); err != nil {
			t.Fatal(err)
		}
	}

	// Something on every page: a case, a manual escalation, an incident, a
	// deletion request awaiting approval.
	sub, err := h.api.SubmitComplaint(h.as("feed"), submission("console-zh-0001"))
	if err != nil {
		t.Fatal(err)
	}
	caseID := sub.GetCase().GetId()
	esc, err := e.api.EscalateManually(h.as("sup.wang"), &escalationv1.EscalateManuallyRequest{CaseId: caseID, Reason: "complainant threatens to go to the regulator"})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := e.api.OpenIncident(h.as("comp.zhao"), &escalationv1.OpenIncidentRequest{LeakedDataType: "email_address",
		LeakSource: "newsletter tool", CaseIds: []string{caseID}, Reason: "mailing list exposed"})
	if err != nil {
		t.Fatal(err)
	}
	del, err := r.api.SubmitDeletion(r.as("agent.li"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: "console-zh-del-1", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(2), Language: "zh",
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(2), HeldFrom: timestamppb.New(time.Now().AddDate(-1, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	delID := del.GetDeletion().GetId()
	if _, err := r.api.AttestIdentity(r.as("agent.li"), &deletionv1.AttestIdentityRequest{DeletionId: delID, Reason: "Requester came to the shop with ID card"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(delID, delwf.StatusAwaitingApproval)
	// A second deletion request, approved and carried out: its page shows
	// the evidence per system.
	done, err := r.api.SubmitDeletion(r.as("agent.li"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: "console-zh-del-2", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(3), Language: "zh",
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(3), HeldFrom: timestamppb.New(time.Now().AddDate(-1, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	doneID := done.GetDeletion().GetId()
	if _, err := r.api.AttestIdentity(r.as("agent.li"), &deletionv1.AttestIdentityRequest{DeletionId: doneID, Reason: "Requester came to the shop with ID card"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(doneID, delwf.StatusAwaitingApproval)
	plan, err := r.api.GetPlan(r.as("agent.li"), &deletionv1.GetPlanRequest{DeletionId: doneID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.api.ApprovePlan(r.as("sup.wang"), &deletionv1.ApprovePlanRequest{DeletionId: doneID, PlanDigest: plan.GetPlanDigest()}); err != nil {
		t.Fatal(err)
	}
	r.eventually("plan applied", 60*time.Second, func() bool {
		st := r.status(doneID)
		return st == delwf.StatusRestricted || st == delwf.StatusCompleted
	})

	pages := map[string][]string{
		"sup.wang": {"/queue", "/queue?view=team", "/queue?view=overdue", "/cases/new", "/cases/" + caseID, "/deletions", "/deletions/" + delID, "/deletions/" + doneID,
			"/escalations", "/escalations/" + esc.GetEscalation().GetId(), "/incidents", "/incidents/" + inc.GetEscalation().GetId(), "/policies", "/account/password"},
		"admin.zhou": {"/admin/users", "/connectors", "/grants", "/queue", "/cases/" + caseID},
		"comp.zhao":  {"/reports", "/escalations", "/incidents/" + inc.GetEscalation().GetId(), "/grants"},
	}
	terms := englishTerms()
	ctx := consoleBrowser(t, h, base)
	for _, user := range []string{"sup.wang", "admin.zhou", "comp.zhao"} {
		consoleSignIn(t, ctx, base, user)
		crun(t, ctx, "Chinese", chromedp.Navigate(base+"/lang/zh?back=/queue"), chromedp.WaitVisible(chromedp.ID("who")))
		for _, path := range pages[user] {
			crun(t, ctx, "open "+path, chromedp.Navigate(base+path), chromedp.WaitVisible("main"))
			// What the page says in its own words: without data (identifiers,
			// typed text, citations, audit codes) and without people's names.
			text := cget(t, ctx, "text of "+path, chromedp.Evaluate[string](`(() => {
				const main = document.body.cloneNode(true);
				main.querySelectorAll("code, cite, pre, time, textarea, input, .description, #who b, #rules td:nth-child(4)")
					.forEach(e => e.remove());
				return main.innerText;
			})()`))
			if lang := cget(t, ctx, "lang", chromedp.Evaluate[string](`document.documentElement.lang`)); !strings.HasPrefix(lang, "zh") {
				t.Errorf("%s as %s: html lang %q", path, user, lang)
			}
			text = notWords.ReplaceAllString(text, " ")
			for _, term := range terms {
				if regexp.MustCompile(`(?:^|[^A-Za-z_])` + regexp.QuoteMeta(term) + `(?:$|[^A-Za-z_])`).MatchString(text) {
					t.Errorf("%s as %s: English %q on the Chinese page:\n%s", path, user, term, text)
				}
			}
			if keys := consoleKey.FindAllString(text, -1); len(keys) > 0 {
				t.Errorf("%s as %s: untranslated keys %q:\n%s", path, user, keys, text)
			}
			if path == "/cases/"+caseID {
				actions := cget(t, ctx, "timeline of "+path, chromedp.Evaluate[[]string](
					`[...document.querySelectorAll("#timeline .action")].map(e => e.textContent)`))
				if len(actions) == 0 {
					t.Errorf("%s as %s: no timeline", path, user)
				}
				for _, a := range actions {
					if !han.MatchString(a) {
						t.Errorf("%s as %s: timeline action %q is not in Chinese", path, user, a)
					}
				}
			}
		}
		consoleSignOut(t, ctx)
	}
}
