package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/audit"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	if code, _ := c.get("/queue"); code != http.StatusOK {
		t.Fatalf("queue before sign-in: %d (want the sign-in page after a redirect)", code)
	}
	// A sign-in POST without the form's CSRF token is refused.
	if code, _ := c.post("/signin", url.Values{"username": {"agent.li"}, "password": {testPassword}}); code != http.StatusForbidden {
		t.Fatalf("sign-in without CSRF: %d", code)
	}
	if code, body := c.signIn("agent.li", "wrong password!"); code != http.StatusUnauthorized || !strings.Contains(body, "wrong password") {
		t.Fatalf("wrong password: %d", code)
	}
	code, body := c.signIn("agent.li", testPassword)
	if code != http.StatusOK || !strings.Contains(body, `id="who"`) || !strings.Contains(body, "agent.li") {
		t.Fatalf("sign in: %d\n%s", code, body)
	}
	u, _ := url.Parse(e.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == sessionCookie && !strings.HasPrefix(ck.Value, "rds_") {
			t.Fatalf("session cookie %q", ck.Value)
		}
	}
	// Sign-out is a CSRF-protected POST that ends the session for good.
	_, page := c.get("/queue")
	if code, _ := c.post("/signout", url.Values{"csrf": {csrfOf(t, page)}}); code != http.StatusOK {
		t.Fatalf("sign out: %d", code)
	}
	if _, body := c.get("/queue"); !strings.Contains(body, `id="signin-form"`) {
		t.Fatal("still signed in after sign-out")
	}
}

func TestSessionCookieFlags(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, page := c.get("/signin")
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/signin", strings.NewReader(url.Values{"csrf": {csrfOf(t, page)}, "username": {"agent.li"}, "password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Fatalf("session cookie flags: %+v", ck)
			}
		}
	}
	if !found || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("no session cookie (status %d)", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
}

func TestQueueCaseRevealAndPrivacy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cs := e.Submit(t, "console-test-0001", "Loan spam every morning <script>alert('x')</script>")
	agent := e.client(t)
	agent.signIn("agent.li", testPassword)

	code, queue := agent.get("/queue")
	if code != http.StatusOK || !strings.Contains(queue, cs.GetCaseNumber()) {
		t.Fatalf("queue lacks the case: %d", code)
	}
	code, page := agent.get("/cases/" + cs.GetId())
	if code != http.StatusOK || !strings.Contains(page, `id="reveal"`) {
		t.Fatalf("agent case page: %d, reveal button missing", code)
	}
	// The description is text, never markup.
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") {
		t.Fatal("description not escaped")
	}
	for _, pi := range seeded {
		if strings.Contains(page, pi) {
			t.Fatalf("unmasked %q on the case page before reveal", pi)
		}
	}
	// Reveal without a reason is refused; with one it shows the data and audits it.
	if code, _ := agent.post("/cases/"+cs.GetId()+"/reveal", url.Values{"csrf": {csrfOf(t, page)}}); code != http.StatusBadRequest {
		t.Fatalf("reveal without reason: %d", code)
	}
	code, shown := agent.post("/cases/"+cs.GetId()+"/reveal", url.Values{"csrf": {csrfOf(t, page)}, "reason": {"contact"}})
	if code != http.StatusOK || !strings.Contains(shown, "13800138000") || !strings.Contains(shown, "zhang.san@example.com") {
		t.Fatalf("reveal: %d\n%s", code, shown)
	}
	recs, err := audit.ForObject(ctx, e.DB, "case", cs.GetId())
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if last.Action != "complainant.revealed" || last.Actor != "agent.li" || last.Details["reason"] != "contact" {
		t.Fatalf("audit entry: %+v", last)
	}
	if _, again := agent.get("/cases/" + cs.GetId()); !strings.Contains(again, `title="complainant.revealed">Personal data revealed<`) {
		t.Fatal("timeline lacks the reveal")
	}

	// CSRF-less POSTs are refused and change nothing.
	if code, _ := agent.post("/cases/"+cs.GetId()+"/note", url.Values{"body": {"sneaky"}}); code != http.StatusForbidden {
		t.Fatalf("note without CSRF: %d", code)
	}
	if code, _ := agent.post("/cases/"+cs.GetId()+"/reveal", url.Values{"reason": {"contact"}, "csrf": {"forged"}}); code != http.StatusForbidden {
		t.Fatalf("reveal with a forged CSRF token: %d", code)
	}
	if after, _ := audit.ForObject(ctx, e.DB, "case", cs.GetId()); len(after) != len(recs) {
		t.Fatalf("refused POSTs wrote %d audit entries", len(after)-len(recs))
	}

	// Notes show to the agent; their text may hold personal data (this one
	// names the complainant), so the administrator below must not see it.
	if code, _ := agent.post("/cases/"+cs.GetId()+"/note", url.Values{"csrf": {csrfOf(t, page)}, "body": {"Called back; Zhang San confirmed the sender."}}); code != http.StatusOK {
		t.Fatalf("note: %d", code)
	}
	if _, withNote := agent.get("/cases/" + cs.GetId()); !strings.Contains(withNote, "Called back; Zhang San confirmed the sender.") {
		t.Fatal("the agent does not see the note")
	}

	// An administrator reads cases but never personal data: no button, 403
	// on the forced URL, and nothing unmasked anywhere it can reach.
	admin := e.client(t)
	admin.signIn("admin", testPassword)
	_, apage := admin.get("/cases/" + cs.GetId())
	if strings.Contains(apage, `id="reveal"`) || strings.Contains(apage, `id="action-note"`) {
		t.Fatal("admin sees the reveal button or a case action")
	}
	if code, _ := admin.post("/cases/"+cs.GetId()+"/reveal", url.Values{"csrf": {csrfOf(t, apage)}, "reason": {"contact"}}); code != http.StatusForbidden {
		t.Fatalf("admin forced reveal: %d", code)
	}
	if code, _ := admin.post("/cases/"+cs.GetId()+"/note", url.Values{"csrf": {csrfOf(t, apage)}, "body": {"x"}}); code != http.StatusForbidden {
		t.Fatalf("admin forced note (service refuses): %d", code)
	}
	admin.get("/queue")
	admin.get("/queue?view=at_risk")
	admin.get("/lang/zh")
	if _, body := admin.get("/cases/" + cs.GetId()); !strings.Contains(body, `id="messages"`) || strings.Contains(body, "Called back") {
		t.Fatal("administrator: note listed with its text, or not listed")
	}
	for _, pi := range seeded {
		if strings.Contains(admin.seen.String(), pi) {
			t.Errorf("personal data %q reached an administrator", pi)
		}
		if strings.Contains(e.Logs.String(), pi) {
			t.Errorf("personal data %q in the logs", pi)
		}
	}
}

func TestLanguageSwitch(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.signIn("agent.li", testPassword)
	if _, body := c.get("/lang/zh"); !strings.Contains(body, "工单队列") {
		t.Fatal("no Chinese after switching")
	}
	if _, body := c.get("/lang/en?back=//evil.example"); !strings.Contains(body, "Queue") {
		t.Fatal("no English after switching back")
	}
}

func TestPoliciesAndCalendars(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.signIn("agent.li", testPassword)
	code, page := c.get("/policies?year=2026")
	if code != http.StatusOK || !strings.Contains(page, "cn/A1") || !strings.Contains(page, `id="holidays"`) || !strings.Contains(page, "2026-02-") {
		t.Fatalf("policies page: %d\n%s", code, page)
	}
	// The operator profile with where it is set, each rule's confidence, the
	// instruments of T4 and T5, and the CSL citation switching on 2026-01-01.
	for _, want := range []string{`id="profile"`, `id="operator-class">Other operator<`, "REDRESS_OPERATOR_CLASS", "within 4 h",
		`id="provider-type">App operator`, "REDRESS_PROVIDER_TYPE", "disabled: cn/T3", "MIIT Order 24 (2013) Art. 12, 14",
		"MIIT SMS Service Rules (Order 31, 2015)", "Internet Society of China (ISC) complaint platform rule", "article not identified",
		`class="confidence-secondary">secondary source only<`, `class="confidence-unverified">unverified: a configurable default<`,
		`class="confidence-text">verified`, "REDRESS_POLICY_RULES_OFF", "from 2026-01-01:</small> <cite>CSL 2026 Art. 51"} {
		if !strings.Contains(page, want) {
			t.Fatalf("policies page lacks %q:\n%s", want, page)
		}
	}
	c.get("/lang/zh")
	_, zh := c.get("/policies?year=2026")
	if !strings.Contains(zh, "春节") || !strings.Contains(zh, "仅有二手来源") || !strings.Contains(zh, "App 运营者") {
		t.Fatal("no Chinese holiday names, confidence or profile")
	}
	// Citations in Chinese: law, version, article in Chinese numerals; an
	// instrument without an identified article says so; none in English.
	for _, want := range []string{"《中华人民共和国网络安全法》（2025年修正）第五十一条", "《中华人民共和国网络安全法》（2016年）第四十九条",
		"《电信和互联网用户个人信息保护规定》（工业和信息化部令第24号）第十二条、第十四条", "《通信短信息服务管理规定》（工业和信息化部令第31号）（具体条款未确定）",
		"中国互联网协会投诉平台规则（具体条款未确定）", "《国家网络安全事件报告管理办法》（2025年11月1日起施行）第四条"} {
		if !strings.Contains(zh, want) {
			t.Errorf("the Chinese policies page lacks %q", want)
		}
	}
	for _, m := range regexp.MustCompile(`(?s)<cite>(.*?)</cite>`).FindAllStringSubmatch(zh, -1) {
		if strings.Contains(m[1], "Art.") || strings.Contains(m[1], "MIIT") {
			t.Errorf("an English citation on the Chinese policies page: %s", m[1])
		}
	}
}

// The timeline names audit actions in words in the console's language, the
// code beside them for the auditor; a code the catalogue does not know
// shows as it is.
func TestTimelineInWords(t *testing.T) {
	e := newEnv(t)
	cs := e.Submit(t, "console-timeline-01", "Spam SMS every day from the same number.")
	agent := e.client(t)
	agent.signIn("agent.li", testPassword)
	for _, c := range []struct{ lang, want string }{{"en", "Case filed"}, {"zh", "案件登记"}} {
		agent.get("/lang/" + c.lang + "?back=/queue")
		_, page := agent.get("/cases/" + cs.GetId())
		if want := `<b class="action" title="case.submitted">` + c.want + `</b>`; !strings.Contains(page, want) {
			t.Errorf("%s: timeline lacks %s\n%s", c.lang, want, page)
		}
	}
	if got := auditAction("zh", "case.not_yet_named"); got != "case.not_yet_named" {
		t.Errorf("an unknown action reads %q, want its code", got)
	}
}
