package public

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/ratelimit"
)

func TestLimiterAllowsThirtyPerMinutePerAddress(t *testing.T) {
	now := time.Date(2026, 2, 14, 10, 0, 0, 0, time.UTC)
	l := NewLimiter(30, time.Minute)
	l.Now = func() time.Time { return now }
	for i := 1; i <= 30; i++ {
		if !l.Allow("203.0.113.7") {
			t.Fatalf("request %d refused", i)
		}
		now = now.Add(time.Second)
	}
	if l.Allow("203.0.113.7") {
		t.Fatal("31st request within a minute allowed")
	}
	if !l.Allow("198.51.100.1") {
		t.Fatal("another address refused")
	}
	// A minute after the first request, one slot is free again; refused
	// requests did not count.
	now = time.Date(2026, 2, 14, 10, 1, 0, 0, time.UTC)
	if !l.Allow("203.0.113.7") {
		t.Fatal("refused after the window moved on")
	}
	if l.Allow("203.0.113.7") {
		t.Fatal("second slot should still be taken")
	}
}

// Behind a trusted proxy the form's limit keys on the forwarded client, so
// one person does not block everyone behind the proxy; from any other peer
// X-Forwarded-For is ignored.
func TestSubmitLimitKeysOnForwardedClient(t *testing.T) {
	post := func(base, from string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/complaint", strings.NewReader("x=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	serve := func(proxies string) string {
		cfg := Config{Intake: intakev1.NewIntakeServiceClient(nil), Status: intakev1.NewPublicStatusServiceClient(nil)} // never reached
		if proxies != "" {
			p, err := ratelimit.ParseProxies([]string{proxies})
			if err != nil {
				t.Fatal(err)
			}
			cfg.TrustedProxies = p
		}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s)
		t.Cleanup(hs.Close)
		return hs.URL
	}
	behind := serve("127.0.0.0/8")
	for i := 1; i <= 30; i++ {
		if code := post(behind, "203.0.113.7"); code == http.StatusTooManyRequests {
			t.Fatalf("request %d refused", i)
		}
	}
	if code := post(behind, "203.0.113.7"); code != http.StatusTooManyRequests {
		t.Fatalf("31st from one client: %d", code)
	}
	if code := post(behind, "198.51.100.1, 127.0.0.1"); code == http.StatusTooManyRequests {
		t.Fatal("another client behind the proxy refused")
	}
	direct := serve("")
	for i := 1; i <= 30; i++ {
		post(direct, "192.0.2."+strconv.Itoa(i))
	}
	if code := post(direct, "192.0.2.99"); code != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For from an untrusted peer: %d", code)
	}
}
