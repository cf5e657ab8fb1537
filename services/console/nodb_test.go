package console

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A console built with nothing but its gRPC clients and its own credential
// (no database, no keys, no account store) signs people in, serves their
// pages, administers accounts through IdentityService and signs them out.
func TestConsoleWithoutDatabase(t *testing.T) {
	e := newEnv(t)
	e.Submit(t, "nodb-0001", "Spam SMS from a loan agency")
	srv, err := New(Config{Identity: e.Accounts, ConsoleToken: e.ConsoleToken, Intake: e.API,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	_ = hs.Listener.Close()
	hs.Listener = lis
	hs.Start()
	t.Cleanup(hs.Close)
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: hs.URL, http: &http.Client{Jar: jar}}

	if code, page := c.signIn("admin", testPassword); code != http.StatusOK || !strings.Contains(page, `id="who"`) || !strings.Contains(page, "admin") {
		t.Fatalf("sign-in: %d\n%s", code, page)
	}
	if code, page := c.get("/queue"); code != http.StatusOK || !strings.Contains(page, `class="case-link"`) {
		t.Fatalf("queue: %d\n%s", code, page)
	}
	code, page := c.get("/admin/users")
	if code != http.StatusOK || !strings.Contains(page, `id="user-agent.li"`) {
		t.Fatalf("administration: %d\n%s", code, page)
	}
	if code, _ := c.post("/admin/users/feed/disable", url.Values{"csrf": {csrfOf(t, page)}}); code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	if u, err := e.Store.User(t.Context(), "feed"); err != nil || !u.Disabled {
		t.Fatalf("feed not disabled: %+v %v", u, err)
	}
	// Signed out, the session is gone at the identity service: the old
	// cookie leads back to the sign-in page.
	cookie := jar.Cookies(mustURL(t, hs.URL))
	if code, _ := c.post("/signout", url.Values{"csrf": {csrfOf(t, page)}}); code != http.StatusOK {
		t.Fatalf("sign-out: %d", code)
	}
	replay := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/queue", nil)
	for _, ck := range cookie {
		req.AddCookie(ck)
	}
	resp, err := replay.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Fatalf("ended session still served: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without the identity service or its own credential there is no console.
	if _, err := New(Config{Intake: e.API}); err == nil {
		t.Fatal("console built without the identity service")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
