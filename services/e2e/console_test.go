package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/console"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
)

const browserPassword = "browser-test-pass"

// findChromium finds the system browser the project's setup installs
// (deploy/dev/test.sh: apt-get install chromium), or REDRESS_CHROMIUM.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REDRESS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: `make test` installs it (apt-get install chromium); or set REDRESS_CHROMIUM")
	return ""
}

// startConsole serves the console in front of the harness's services, the
// way `redress dev` does, and makes one account per role.
// serveConsole serves a console over HTTP with the services in cfg and the
// harness's identity (over gRPC, the console signing in with its own
// service credential), intake, case file and log (no database, no keys); it
// answers the base URL.
func serveConsole(t *testing.T, h *harness, cfg console.Config) string {
	t.Helper()
	token, err := h.identity.ServiceCredential(h.ctx, "test", "console", "Console", access.Console, "console", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Identity, cfg.ConsoleToken, cfg.Intake, cfg.CaseFile, cfg.Log = h.accounts, token, h.api, h.caseFile, h.log
	srv, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = grpcserver.ServeHTTP(h.ctx, lis, srv.Handler()) }()
	return "http://" + lis.Addr().String()
}

func startConsole(t *testing.T, h *harness) string {
	t.Helper()
	base := serveConsole(t, h, console.Config{})
	consoleAccounts(t, h)
	return base
}

// consoleAccounts makes one account per role of the browser tests.
func consoleAccounts(t *testing.T, h *harness) {
	t.Helper()
	for _, u := range []identity.NewUser{
		{Username: "agent.li", Role: access.Agent, Password: browserPassword},
		{Username: "sup.wang", Role: access.Supervisor, Password: browserPassword},
		{Username: "admin", Role: access.Admin, Password: browserPassword},
	} {
		if _, err := h.identity.AddUser(h.ctx, "test", u); err != nil {
			t.Fatal(err)
		}
	}
}

// consoleBrowser starts a headless Chromium at 1280x800. On failure it
// writes screenshots of the page it was on and of the queue to a folder it
// names in the test log.
func consoleBrowser(t *testing.T, h *harness, base string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChromium(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun, chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(h.ctx, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first run starts the browser: without a timeout, which would stop it.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dir := filepath.Join(os.TempDir(), "redress-console-screenshots", t.Name())
			_ = os.MkdirAll(dir, 0o755)
			shot := func(name string) {
				sctx, c := context.WithTimeout(ctx, 10*time.Second)
				defer c()
				if buf, err := chromedp.Run(sctx, chromedp.FullScreenshot(90)); err == nil {
					_ = os.WriteFile(filepath.Join(dir, name), buf, 0o644)
				}
			}
			shot("1-failing-page.jpg")
			nctx, c := context.WithTimeout(ctx, 10*time.Second)
			if chromedp.Do(nctx, chromedp.Navigate(base+"/queue")) == nil {
				shot("2-queue.jpg")
			}
			c()
			t.Logf("screenshots in %s", dir)
		}
		cancel()
		cancelAlloc()
	})
	return ctx
}

func crun(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(rctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func cget[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(rctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func consoleSignIn(t *testing.T, ctx context.Context, base, user string) {
	t.Helper()
	crun(t, ctx, "sign in as "+user,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), browserPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("who")),
	)
}

func consoleSignOut(t *testing.T, ctx context.Context) {
	t.Helper()
	crun(t, ctx, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin-form")))
}

// consoleAct submits one lifecycle form on the case page and returns the
// state shown after.
func consoleAct(t *testing.T, ctx context.Context, button string, fill ...chromedp.Action[chromedp.Void]) string {
	t.Helper()
	// Drop the previous action's notice, so the wait below sees the next page's.
	cget(t, ctx, "clear notice", chromedp.Evaluate[bool](`(document.getElementById("flash")?.remove(), true)`))
	crun(t, ctx, button, append(fill, chromedp.Click(chromedp.ID(button)), chromedp.WaitVisible(chromedp.ID("flash")))...)
	return cget(t, ctx, "state after "+button, chromedp.Text(chromedp.ID("case-state")))
}

// consolePost POSTs from the page's own origin with fetch (as a forged or
// scripted request would) and returns the status.
func consolePost(t *testing.T, ctx context.Context, path, body string) int {
	t.Helper()
	js := `fetch(` + strconv.Quote(path) + `, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: ` +
		body + `}).then(r => r.status)`
	return cget(t, ctx, "POST "+path, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
}

func TestConsoleInBrowser(t *testing.T) {
	h := newHarness(t, options{})
	base := startConsole(t, h)
	xss := `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script> spam since the leak`
	req := submission("browser-0001")
	req.Description = xss
	sub, err := h.api.SubmitComplaint(h.as("feed"), req)
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	h.eventually("workflow started", 30*time.Second, func() bool {
		got, err := h.api.GetCase(h.as("test"), &intakev1.GetCaseRequest{CaseId: c.GetId()})
		return err == nil && got.GetCase().GetWorkflowStarted()
	})
	casePage := base + "/cases/" + c.GetId()
	ctx := consoleBrowser(t, h, base)

	// The agent finds the case in the queue and opens it.
	consoleSignIn(t, ctx, base, "agent.li")
	crun(t, ctx, "queue", chromedp.Navigate(base+"/queue"), chromedp.WaitVisible(chromedp.ID("queue")))
	// Keyboard: "j" focuses the first case of the queue, Enter opens it.
	crun(t, ctx, "keyboard", chromedp.KeyEvent("j"))
	if focused := cget(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.textContent`)); focused != c.GetCaseNumber() {
		t.Fatalf("j focused %q, want %s", focused, c.GetCaseNumber())
	}
	crun(t, ctx, "open with Enter", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("case-number")))
	desc := cget(t, ctx, "description", chromedp.Text(chromedp.ID("description")))
	title := cget(t, ctx, "title", chromedp.Title())
	if strings.TrimSpace(desc) != xss || title == "pwned" {
		t.Fatalf("the XSS payload was not shown as text: %q (title %q)", desc, title)
	}
	masked := cget(t, ctx, "masked", chromedp.Text(chromedp.ID("masked")))
	if strings.Contains(masked, "13800138000") || strings.Contains(masked, "zhang.san@") {
		t.Fatalf("complainant not masked: %q", masked)
	}

	// Reveal, with a reason: the data shows and the audit trail says who and why.
	crun(t, ctx, "reveal",
		chromedp.SetValue(chromedp.ID("reveal-reason"), "verify"),
		chromedp.Click(chromedp.ID("reveal")),
		chromedp.WaitVisible(chromedp.ID("revealed")),
	)
	shown := cget(t, ctx, "revealed", chromedp.Text(chromedp.ID("revealed")))
	if !strings.Contains(shown, "+8613800138000") || !strings.Contains(shown, "zhang.san@example.com") {
		t.Fatalf("revealed: %q", shown)
	}
	trail, err := audit.ForObject(h.ctx, h.db, "case", c.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if last := trail[len(trail)-1]; last.Action != "complainant.revealed" || last.Actor != "agent.li" || last.Details["reason"] != "verify" {
		t.Fatalf("no audit entry for the reveal: %+v", last)
	}
	crun(t, ctx, "reload", chromedp.Navigate(casePage), chromedp.WaitVisible(chromedp.ID("timeline")))
	if timeline := cget(t, ctx, "timeline", chromedp.Text(chromedp.ID("timeline"))); !strings.Contains(timeline, "Personal data revealed") {
		t.Fatalf("timeline lacks the reveal:\n%s", timeline)
	}

	// A POST without the form's CSRF token is refused.
	if st := consolePost(t, ctx, "/cases/"+c.GetId()+"/note", `"body=forged"`); st != http.StatusForbidden {
		t.Fatalf("CSRF-less POST: %d", st)
	}

	// Work the case to resolution: accept and assign (supervisor), resolve
	// and close (agent). A received case offers no Assign, which the
	// workflow would refuse; once accepted, it does.
	consoleSignOut(t, ctx)
	consoleSignIn(t, ctx, base, "sup.wang")
	crun(t, ctx, "open case", chromedp.Navigate(casePage), chromedp.WaitVisible(chromedp.ID("case-number")))
	offered := func() string {
		return cget(t, ctx, "actions offered", chromedp.Evaluate[string](
			`[...document.querySelectorAll("button[id^=action-]")].map(b => b.id).join(" ")`))
	}
	if got := offered(); got != "action-accept action-reply action-reject action-merge action-note" {
		t.Fatalf("a received case offers %q", got)
	}
	if st := consoleAct(t, ctx, "action-accept"); st != "accepted" {
		t.Fatalf("after accept: %q", st)
	}
	if got := offered(); !strings.Contains(got, "action-assign") || strings.Contains(got, "action-accept") {
		t.Fatalf("an accepted case offers %q", got)
	}
	if st := consoleAct(t, ctx, "action-assign", chromedp.SendKeys(chromedp.ID("assignee-input"), "agent.li")); st != "in progress" {
		t.Fatalf("after assign: %q", st)
	}
	consoleSignOut(t, ctx)
	consoleSignIn(t, ctx, base, "agent.li")
	crun(t, ctx, "open case", chromedp.Navigate(casePage), chromedp.WaitVisible(chromedp.ID("case-number")))
	if st := consoleAct(t, ctx, "action-resolve", chromedp.SendKeys(chromedp.ID("resolve-body"), "The sender is blocked and reported to 12321.")); st != "resolved" {
		t.Fatalf("after resolve: %q", st)
	}
	if st := consoleAct(t, ctx, "action-close"); st != "closed" {
		t.Fatalf("after close: %q", st)
	}
	consoleSignOut(t, ctx)

	// An administrator may not reveal: no button, and 403 on the forced URL.
	consoleSignIn(t, ctx, base, "admin")
	crun(t, ctx, "admin case page", chromedp.Navigate(casePage), chromedp.WaitVisible(chromedp.ID("case-number")))
	if n := cget(t, ctx, "reveal buttons", chromedp.Evaluate[int](`document.querySelectorAll("#reveal, #reveal-form").length`)); n != 0 {
		t.Fatal("administrator sees the reveal button")
	}
	st := consolePost(t, ctx, "/cases/"+c.GetId()+"/reveal",
		`new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value, reason: "verify"})`)
	if st != http.StatusForbidden {
		t.Fatalf("administrator forcing the reveal URL: %d", st)
	}
}
