package console

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/ratelimit"
)

const complianceMailbox = "compliance@operator.example"

// newInsiderEnv is a console whose identity store mails pending grants to
// the compliance officers through a real SMTP server, with a second
// administrator and a compliance officer besides the usual accounts.
func newInsiderEnv(t *testing.T) (*Env, *smtptest.Server) {
	t.Helper()
	mail := smtptest.Start(t)
	e := newEnv(t, func(e *Env, _ *Config) {
		e.Store.Mail = &notify.SMTPSender{Addr: mail.Addr(), From: "redress@operator.example", Timeout: 5 * time.Second}
		e.Store.ComplianceEmails = []string{complianceMailbox}
	})
	for _, u := range []identity.NewUser{
		{Username: "admin.two", Role: access.Admin, Password: testPassword},
		{Username: "comp.zhao", Role: access.ComplianceOfficer, Password: testPassword},
	} {
		if _, err := e.Store.AddUser(context.Background(), "test", u); err != nil {
			t.Fatal(err)
		}
	}
	return e, mail
}

func roleOf(t *testing.T, e *Env, username string) string {
	t.Helper()
	u, err := e.Store.User(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.Role
}

var grantRow = regexp.MustCompile(`id="grant-([0-9a-f-]{36})"`)

// An administrator cannot mint a credential for a person, cannot change
// their own role, and a role that reveals personal data, approves deletions
// or administers waits for a second person, who is told by mail.
func TestAdministratorCannotBecomeAnyone(t *testing.T) {
	e, mail := newInsiderEnv(t)
	ctx := context.Background()
	admin := e.client(t)
	admin.signIn("admin", testPassword)
	_, page := admin.get("/admin/users")
	csrf := csrfOf(t, page)

	// A credential for a supervisor: refused, readably, and nothing issued.
	code, body := admin.post("/admin/users/sup.wang/token", url.Values{"csrf": {csrf}, "label": {"x"}, "ttl": {"24h"}})
	if code != http.StatusForbidden || !strings.Contains(body, "only for yourself or for service accounts") || strings.Contains(body, "rdt_") {
		t.Fatalf("credential for sup.wang: %d\n%s", code, body)
	}
	if ts, _ := e.Store.Tokens(ctx, "sup.wang"); len(ts) != 0 {
		t.Fatalf("credential minted for sup.wang: %+v", ts)
	}
	// For oneself and for an automation account: issued.
	for _, who := range []string{"admin", "feed"} {
		if _, body := admin.post("/admin/users/"+who+"/token", url.Values{"csrf": {csrf}, "label": {"x"}, "ttl": {"24h"}}); !strings.Contains(body, `id="token-secret">rdt_`) {
			t.Fatalf("credential for %s not shown:\n%s", who, body)
		}
	}

	// One's own role: refused, whatever the role.
	code, body = admin.post("/admin/users/admin/role", url.Values{"csrf": {csrf}, "role": {"compliance_officer"}})
	if code != http.StatusForbidden || !strings.Contains(body, "your own role") || roleOf(t, e, "admin") != "admin" {
		t.Fatalf("own role change: %d %s\n%s", code, roleOf(t, e, "admin"), body)
	}

	// Supervisor for agent.li: pending, shown with no confirm button to the
	// requester, mailed to the compliance officers.
	code, body = admin.post("/admin/users/agent.li/role", url.Values{"csrf": {csrf}, "role": {"supervisor"}})
	if code != http.StatusOK || roleOf(t, e, "agent.li") != "agent" {
		t.Fatalf("grant request: %d role %s\n%s", code, roleOf(t, e, "agent.li"), body)
	}
	m := grantRow.FindStringSubmatch(body)
	if m == nil || strings.Contains(body, `id="confirm-`+m[1]+`"`) {
		t.Fatalf("pending grant not shown, or confirmable by its requester:\n%s", body)
	}
	grantID := m[1]
	msg := mail.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
		return strings.Contains(strings.Join(m.To, ","), complianceMailbox) && strings.Contains(m.Body, "agent.li") && strings.Contains(m.Body, "supervisor")
	})
	if !strings.Contains(msg.Body, "admin") {
		t.Fatalf("mail does not name the requester:\n%s", msg.Body)
	}
	// The requester cannot confirm it by posting either.
	if code, body := admin.post("/grants/"+grantID+"/confirm", url.Values{"csrf": {csrf}}); code != http.StatusForbidden || !strings.Contains(body, "second person") {
		t.Fatalf("requester confirming: %d\n%s", code, body)
	}
	// Nor the person it is for.
	target := e.client(t)
	target.signIn("agent.li", testPassword)
	_, tpage := target.get("/queue")
	if code, _ := target.post("/grants/"+grantID+"/confirm", url.Values{"csrf": {csrfOf(t, tpage)}}); code != http.StatusForbidden {
		t.Fatalf("target confirming: %d", code)
	}
	// A person issues their own credential on their account page.
	if _, body := target.post("/account/token", url.Values{"csrf": {csrfOf(t, tpage)}}); !strings.Contains(body, `id="token-secret">rdt_`) {
		t.Fatalf("own credential not shown:\n%s", body)
	}
	if roleOf(t, e, "agent.li") != "agent" {
		t.Fatal("role changed without a second person")
	}
	// A compliance officer sees it on the grants page and confirms it.
	officer := e.client(t)
	officer.signIn("comp.zhao", testPassword)
	_, opage := officer.get("/grants")
	if !strings.Contains(opage, `id="confirm-`+grantID+`"`) {
		t.Fatalf("no confirm button for the compliance officer:\n%s", opage)
	}
	if code, _ := officer.post("/grants/"+grantID+"/confirm", url.Values{"csrf": {csrfOf(t, opage)}}); code != http.StatusOK || roleOf(t, e, "agent.li") != "supervisor" {
		t.Fatalf("confirm: %d role %s", code, roleOf(t, e, "agent.li"))
	}

	// Administrator for sup.wang: a compliance officer may not confirm it
	// (it reveals nothing, it administers); another administrator may.
	_, body = admin.post("/admin/users/sup.wang/role", url.Values{"csrf": {csrf}, "role": {"admin"}})
	m = grantRow.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no pending grant:\n%s", body)
	}
	_, opage = officer.get("/grants")
	if strings.Contains(opage, `id="confirm-`+m[1]+`"`) {
		t.Fatal("compliance officer offered to confirm an administrator grant")
	}
	if code, _ := officer.post("/grants/"+m[1]+"/confirm", url.Values{"csrf": {csrfOf(t, opage)}}); code != http.StatusForbidden || roleOf(t, e, "sup.wang") != "supervisor" {
		t.Fatalf("officer confirming admin: %d", code)
	}
	second := e.client(t)
	second.signIn("admin.two", testPassword)
	_, spage := second.get("/admin/users")
	if code, _ := second.post("/grants/"+m[1]+"/confirm", url.Values{"csrf": {csrfOf(t, spage)}}); code != http.StatusOK || roleOf(t, e, "sup.wang") != "admin" {
		t.Fatalf("second admin confirming: %d role %s", code, roleOf(t, e, "sup.wang"))
	}

	// A person's account never becomes an automation account (whose
	// credentials an administrator may mint).
	if code, body := admin.post("/admin/users/agent.li/role", url.Values{"csrf": {csrf}, "role": {"automation"}}); code != http.StatusForbidden || !strings.Contains(body, "automation") {
		t.Fatalf("person to automation: %d\n%s", code, body)
	}

	// Everything is in the audit chain, under the names of who did it.
	var got []string
	for _, who := range []string{"sup.wang", "agent.li", "admin"} {
		recs, err := audit.ForObject(ctx, e.DB, "user", who)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, who+":"+r.Action+":"+r.Actor)
		}
	}
	// Refused changes are counted per actor and minute (audit.Count), each
	// entry naming the accounts tried.
	if _, err := audit.FlushCounts(ctx, e.DB, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var tried []struct{ Actor, Sample string }
	e.DB.Raw(`SELECT e.actor, x.sample FROM audit_entries e, jsonb_array_elements_text(e.details::jsonb -> 'samples') x(sample)
		WHERE e.action = 'access.refused' AND e.object_type = 'principal' AND e.details::jsonb ->> 'aggregated' = 'true'`).Scan(&tried)
	for _, r := range tried {
		got = append(got, strings.TrimPrefix(r.Sample, "user:")+":access.refused:"+r.Actor)
	}
	for _, want := range []string{
		"sup.wang:access.refused:admin",
		"admin:access.refused:admin",
		"agent.li:role.grant.requested:admin",
		"agent.li:access.refused:admin",
		"agent.li:access.refused:agent.li",
		"agent.li:role.grant.confirmed:comp.zhao",
		"sup.wang:access.refused:comp.zhao",
		"sup.wang:role.grant.confirmed:admin.two",
	} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("audit: no %s in %v", want, got)
		}
	}
}

// A new account made on the administration page has no permissions until
// a second person confirms its role.
func TestNewAccountWaitsForSecondPerson(t *testing.T) {
	e, _ := newInsiderEnv(t)
	admin := e.client(t)
	admin.signIn("admin", testPassword)
	_, page := admin.get("/admin/users")
	csrf := csrfOf(t, page)
	if code, _ := admin.post("/admin/users", url.Values{"csrf": {csrf}, "username": {"ghost"}, "role": {"compliance_officer"},
		"password": {"a long enough password"}}); code != http.StatusOK {
		t.Fatalf("add user: %d", code)
	}
	if r := roleOf(t, e, "ghost"); r != "none" {
		t.Fatalf("new account holds %q before confirmation", r)
	}
	ghost := e.client(t)
	ghost.signIn("ghost", "a long enough password")
	if code, _ := ghost.get("/admin/users"); code != http.StatusForbidden {
		t.Fatalf("unconfirmed account on the admin page: %d", code)
	}
	// Automation accounts need no second person.
	if code, _ := admin.post("/admin/users", url.Values{"csrf": {csrf}, "username": {"feed.two"}, "role": {"automation"}}); code != http.StatusOK || roleOf(t, e, "feed.two") != "automation" {
		t.Fatalf("automation account: %d", code)
	}
}

// The language switch goes back only to a clean path on this site.
func TestLanguageSwitchStaysOnSite(t *testing.T) {
	e := newEnv(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for back, want := range map[string]string{
		"/%09/evil.example":  "/",
		"/%0a/evil.example":  "/",
		"//evil.example":     "/",
		"/%5Cevil.example":   "/",
		"https://evil.ex":    "/",
		"/x/%2F/evil":        "/",
		"/cases/42?view=all": "/cases/42?view=all",
		"/queue":             "/queue",
	} {
		resp, err := c.Get(e.URL + "/lang/en?back=" + strings.ReplaceAll(back, "?", "%3F"))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("back=%s: Location %q, want %q", back, got, want)
		}
	}
}

// Sign-in attempts are limited per client address before any password is
// hashed; behind a trusted proxy the address is the forwarded one.
func TestSigninLimitPerAddress(t *testing.T) {
	e := newEnv(t, func(_ *Env, c *Config) {
		c.TrustedProxies = mustProxies(t, "127.0.0.1/32")
	})
	attempt := func(from string) (int, string) {
		c := e.client(t)
		_, page := c.get("/signin")
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/signin", strings.NewReader(url.Values{
			"csrf": {csrfOf(t, page)}, "username": {"agent.li"}, "password": {"wrong password here"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		return c.do(req)
	}
	for i := 1; i <= 10; i++ {
		if code, _ := attempt("203.0.113.7"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, body := attempt("203.0.113.7")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-in attempts") {
		t.Fatalf("11th attempt: %d\n%s", code, body)
	}
	// Another address is not blocked by the first one's attempts.
	if code, _ := attempt("198.51.100.9"); code != http.StatusUnauthorized {
		t.Fatalf("other address: %d", code)
	}

	// Without a trusted proxy, X-Forwarded-For is anyone's to write: the
	// limit keys on the peer, whatever the header says.
	e = newEnv(t)
	for i := 1; i <= 10; i++ {
		attempt("192.0.2." + strconv.Itoa(i))
	}
	if code, _ := attempt("192.0.2.99"); code != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For from an untrusted peer: %d", code)
	}
}

func mustProxies(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	p, err := ratelimit.ParseProxies(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
