package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redress/redress/services/internal/notify"
)

// gateway is a real HTTP server that records what it was sent and answers
// the status codes queued in answers (200 once they run out).
type gateway struct {
	mu       sync.Mutex
	answers  []int
	requests []map[string]string
	headers  []http.Header
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, body)
	g.headers = append(g.headers, r.Header.Clone())
	code := http.StatusOK
	if len(g.answers) > 0 {
		code, g.answers = g.answers[0], g.answers[1:]
	}
	w.WriteHeader(code)
}

func startGateway(t *testing.T, answers ...int) (*gateway, *notify.SMSGatewaySender) {
	g := &gateway{answers: answers}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, &notify.SMSGatewaySender{Endpoint: srv.URL, Token: "tok", Timeout: 2 * time.Second}
}

func TestSMSSendsEveryKindShortAndComplete(t *testing.T) {
	g, s := startGateway(t)
	for _, lang := range []string{notify.LangZH, notify.LangEN} {
		for _, kind := range notify.Kinds {
			if err := s.Send(context.Background(), notify.Recipient{Phone: "138 0013 8000"}, sampleNotice(kind, lang)); err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			req := g.requests[len(g.requests)-1]
			if req["to"] != phone || req["idempotency_key"] != kind+"/1f0c-case" {
				t.Fatalf("%s/%s: request %v", lang, kind, req)
			}
			if n := utf8.RuneCountInString(req["text"]); n >= notify.SMSMaxChars {
				t.Errorf("%s/%s: SMS of %d characters", lang, kind, n)
			}
			containsAll(t, lang+"/"+kind+" sms", req["text"], wantText(t, kind, lang))
		}
	}
	if h := g.headers[0]; h.Get("Authorization") != "Bearer tok" || h.Get("Idempotency-Key") == "" {
		t.Fatalf("headers %v", h)
	}
}

// A long body is shortened with an ellipsis; the case number survives.
func TestSMSShortensLongBodies(t *testing.T) {
	g, s := startGateway(t)
	n := sampleNotice(notify.KindResult, notify.LangZH)
	n.Body = strings.Repeat("处理结果说明。", 200)
	if err := s.Send(context.Background(), notify.Recipient{Phone: phone}, n); err != nil {
		t.Fatal(err)
	}
	text := g.requests[0]["text"]
	if utf8.RuneCountInString(text) >= notify.SMSMaxChars || !strings.Contains(text, "…") || !strings.Contains(text, caseNumber) {
		t.Fatalf("shortened SMS: %q", text)
	}
}

func TestSMSErrorClasses(t *testing.T) {
	for _, c := range []struct {
		code      int
		permanent bool
	}{{400, true}, {422, true}, {401, false}, {429, false}, {500, false}, {503, false}} {
		_, s := startGateway(t, c.code)
		err := s.Send(context.Background(), notify.Recipient{Phone: phone}, sampleNotice(notify.KindReply, notify.LangEN))
		if err == nil || errors.Is(err, notify.ErrPermanent) != c.permanent {
			t.Errorf("answer %d: %v, permanent=%v", c.code, err, c.permanent)
		}
		noPersonalData(t, err, bodies[notify.KindReply])
	}
	_, s := startGateway(t)
	err := s.Send(context.Background(), notify.Recipient{Phone: "not a number"}, sampleNotice(notify.KindReply, notify.LangEN))
	if !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("invalid number: %v", err)
	}
}

func TestSMSTimeoutIsTemporary(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(func() { close(block); srv.Close() })
	s := &notify.SMSGatewaySender{Endpoint: srv.URL, Timeout: 200 * time.Millisecond}
	err := s.Send(context.Background(), notify.Recipient{Phone: phone}, sampleNotice(notify.KindReply, notify.LangEN))
	if err == nil || errors.Is(err, notify.ErrPermanent) || !errors.Is(err, notify.ErrTimeout) {
		t.Fatalf("timeout: %v", err)
	}
}

type recordingSender struct{ sent []notify.Recipient }

func (r *recordingSender) Send(_ context.Context, to notify.Recipient, _ notify.Notice) error {
	r.sent = append(r.sent, to)
	return nil
}

func TestRouterPrefersTheChosenChannel(t *testing.T) {
	mail, sms := &recordingSender{}, &recordingSender{}
	r := &notify.Router{Email: mail, SMS: sms}
	n := sampleNotice(notify.KindReply, notify.LangZH)
	for _, c := range []struct {
		to   notify.Recipient
		want string
	}{
		{notify.Recipient{Email: email, Phone: phone, Preferred: "sms"}, "sms"},
		{notify.Recipient{Email: email, Phone: phone}, "email"},
		{notify.Recipient{Phone: phone, Preferred: "email"}, "sms"},
		{notify.Recipient{Email: email, Preferred: "sms"}, "email"},
	} {
		if got := r.Route(c.to); got != c.want {
			t.Errorf("%v: routed to %q, want %q", c.to, got, c.want)
		}
		if err := r.Send(context.Background(), c.to, n); err != nil {
			t.Fatal(err)
		}
	}
	if len(mail.sent) != 2 || len(sms.sent) != 2 {
		t.Fatalf("email %d, sms %d", len(mail.sent), len(sms.sent))
	}
	emailOnly := &notify.Router{Email: mail}
	if err := emailOnly.Send(context.Background(), notify.Recipient{Phone: phone}, n); !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("unreachable recipient: %v", err)
	}
}

// Logs and printed values never carry the address, the code or the text.
func TestNothingPersonalInLogsOrPrints(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	to := notify.Recipient{Email: email, Phone: phone, Preferred: "sms"}
	n := sampleNotice(notify.KindAcknowledgement, notify.LangZH)
	n.Body = "secret body"
	if err := (&notify.LogSender{Log: log}).Send(context.Background(), to, n); err != nil {
		t.Fatal(err)
	}
	log.Info("sending", "to", to, "notice", n)
	out := buf.String() + to.String() + n.String() + to.GoString() + n.GoString()
	for _, secret := range []string{email, phone, "13800138000", lookupCode, "secret body"} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "8000") || !strings.Contains(out, caseNumber) {
		t.Errorf("output lost the redacted hint or the case number: %s", out)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"zhang.san@example.com": "z***@example.com",
		"+8613800138000":        "+86******8000",
		"13800138000":           "******8000",
		"12":                    "***",
		"":                      "",
	} {
		if got := notify.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
