package notify_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
)

const from = "Redress 投诉处理 <complaints@operator.example>"

// Every kind, in both languages, through a real SMTP server; the received
// message is taken apart with net/mail and mime.
func TestSMTPSendsEveryKindInBothLanguages(t *testing.T) {
	srv := smtptest.Start(t)
	s := &notify.SMTPSender{Addr: srv.Addr(), From: from, Timeout: 5 * time.Second}
	ctx := context.Background()
	type sent struct{ kind, lang string }
	var order []sent
	for _, lang := range []string{notify.LangZH, notify.LangEN} {
		for _, kind := range notify.Kinds {
			if err := s.Send(ctx, notify.Recipient{Email: email}, sampleNotice(kind, lang)); err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			order = append(order, sent{kind, lang})
		}
	}
	msgs := srv.WaitCount(t, len(order), 5*time.Second)
	for i, m := range msgs {
		kind, lang := order[i].kind, order[i].lang
		t.Run(lang+"/"+kind, func(t *testing.T) {
			if m.From != "complaints@operator.example" || len(m.To) != 1 || m.To[0] != email {
				t.Fatalf("envelope %q -> %v", m.From, m.To)
			}
			p := parseEmail(t, m.Raw)
			if !strings.Contains(p.Subject, caseNumber) {
				t.Errorf("subject %q lacks the case number", p.Subject)
			}
			if strings.Contains(p.Subject, lookupCode) {
				t.Errorf("subject %q shows the lookup code", p.Subject)
			}
			containsAll(t, "body", p.Body, wantEmailText(t, kind, lang))
			if got, want := p.Header.Get("Message-Id"), "<"+kind+"/1f0c-case@redress>"; got != want {
				t.Errorf("Message-ID %q, want %q", got, want)
			}
			if _, err := p.Header.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			if p.Header.Get("Mime-Version") != "1.0" {
				t.Errorf("MIME-Version %q", p.Header.Get("Mime-Version"))
			}
			to, err := p.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != email {
				t.Errorf("To %v: %v", to, err)
			}
			fromHdr, err := p.Header.AddressList("From")
			if err != nil || fromHdr[0].Name != "Redress 投诉处理" {
				t.Errorf("From %v: %v", fromHdr, err)
			}
			// Chinese subjects must be RFC 2047 encoded on the wire.
			if raw := m.Header.Get("Subject"); lang == notify.LangZH && !strings.HasPrefix(raw, "=?UTF-8?") {
				t.Errorf("raw subject %q is not RFC 2047 encoded", raw)
			}
			// The smtptest decoder agrees with ours.
			if m.Subject != p.Subject || strings.TrimSpace(m.Body) != strings.TrimSpace(p.Body) {
				t.Errorf("smtptest decoded a different message")
			}
			// Wire lines stay within the RFC 5322 limit.
			for _, l := range strings.Split(string(m.Raw), "\r\n") {
				if len(l) > 78 && !strings.HasPrefix(l, "From:") {
					t.Errorf("line longer than 78: %q", l)
				}
			}
		})
	}
}

// A resend of the same notice carries the same Message-ID; a key with
// characters outside dot-atom text is sanitised and stays unique.
func TestSMTPMessageIDFromDedupeKey(t *testing.T) {
	srv := smtptest.Start(t)
	s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	n := sampleNotice(notify.KindResult, notify.LangZH)
	n.DedupeKey = "result/msg 42<x>@y"
	for range 2 {
		if err := s.Send(context.Background(), notify.Recipient{Email: email}, n); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.WaitCount(t, 2, 5*time.Second)
	id0, id1 := msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id")
	if id0 != id1 || id0 != notify.MessageID(n.DedupeKey) {
		t.Fatalf("Message-IDs %q, %q, want %q twice", id0, id1, notify.MessageID(n.DedupeKey))
	}
	if !strings.HasPrefix(id0, "<result/msg-42-x--y-") || !strings.HasSuffix(id0, "@redress>") {
		t.Fatalf("Message-ID %q", id0)
	}
	if _, err := mail.ParseAddress("x " + id0); err != nil {
		t.Fatalf("Message-ID %q is not an addr-spec in angle brackets: %v", id0, err)
	}
}

func TestMessageID(t *testing.T) {
	for key, want := range map[string]string{
		"acknowledgement/7c9e6679-7425-40de-944b-e07fc1f90ae7": "<acknowledgement/7c9e6679-7425-40de-944b-e07fc1f90ae7@redress>",
		"info/a.b": "<info/a.b@redress>",
	} {
		if got := notify.MessageID(key); got != want {
			t.Errorf("MessageID(%q) = %q, want %q", key, got, want)
		}
	}
	// Keys that need sanitising never collide with one another or with a clean key.
	seen := map[string]string{}
	for _, key := range []string{"a b", "a-b", "a_b", "a..b", "a.b.", ".ab", "a@b", "a-b-", "信/1", "a>b"} {
		id := notify.MessageID(key)
		if other, ok := seen[id]; ok {
			t.Errorf("%q and %q share %q", key, other, id)
		}
		seen[id] = key
		if _, err := mail.ParseAddress("x " + id); err != nil {
			t.Errorf("MessageID(%q) = %q: %v", key, id, err)
		}
	}
	if a, b := notify.MessageID(""), notify.MessageID(""); a == b {
		t.Errorf("empty keys share %q", a)
	}
}

// STARTTLS when offered, then AUTH PLAIN; the certificate is checked unless
// InsecureSkipVerify.
func TestSMTPStartTLSAndPlainAuth(t *testing.T) {
	cfg, _ := smtptest.SelfSignedTLS(t)
	srv := smtptest.StartWith(t, smtptest.Options{TLS: cfg, Users: map[string]string{"redress": "s3cret"}})
	ctx := context.Background()
	n := sampleNotice(notify.KindAcknowledgement, notify.LangEN)

	// A fresh sender each time: a copy would share its open connections.
	sender := func(change func(*notify.SMTPSender)) *notify.SMTPSender {
		s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Username: "redress", Password: "s3cret",
			InsecureSkipVerify: true, Timeout: 5 * time.Second}
		change(s)
		return s
	}
	ok := sender(func(*notify.SMTPSender) {})
	if err := ok.Send(ctx, notify.Recipient{Email: email}, n); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitCount(t, 1, 5*time.Second)[0]
	if !m.TLS || m.AuthUser != "redress" {
		t.Fatalf("TLS %v, user %q", m.TLS, m.AuthUser)
	}

	// The self-signed certificate is refused when verification is on: a
	// temporary error (configuration), and nothing is sent.
	strict := sender(func(s *notify.SMTPSender) { s.InsecureSkipVerify = false })
	err := strict.Send(ctx, notify.Recipient{Email: email}, n)
	if err == nil || errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unverified certificate: %v", err)
	}
	noPersonalData(t, err)

	// Wrong password: temporary, the server's text is not quoted.
	bad := sender(func(s *notify.SMTPSender) { s.Password = "nope" })
	err = bad.Send(ctx, notify.Recipient{Email: email}, n)
	if err == nil || errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "AUTH refused with 535") {
		t.Fatalf("bad password: %v", err)
	}
	// No credentials: the server requires them, MAIL FROM is refused (temporary).
	anon := sender(func(s *notify.SMTPSender) { s.Username, s.Password = "", "" })
	if err := anon.Send(ctx, notify.Recipient{Email: email}, n); err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("anonymous: %v", err)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("%d messages, want 1", got)
	}
}

// RequireTLS refuses a server without STARTTLS.
func TestSMTPRequireTLS(t *testing.T) {
	srv := smtptest.Start(t)
	s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", RequireTLS: true, Timeout: 5 * time.Second}
	err := s.Send(context.Background(), notify.Recipient{Email: email}, sampleNotice(notify.KindReply, notify.LangZH))
	if err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("sent in the clear")
	}
}

// A refused recipient is permanent; a 4xx is temporary; neither error quotes
// the server's text (which names the address).
func TestSMTPErrorClasses(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{RejectRcpt: func(a string) bool { return strings.HasPrefix(a, "gone") }})
	s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	ctx := context.Background()
	n := sampleNotice(notify.KindResult, notify.LangZH)

	err := s.Send(ctx, notify.Recipient{Email: "gone@example.com"}, n)
	if !errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "550 5.1.1") {
		t.Fatalf("refused recipient: %v", err)
	}
	noPersonalData(t, err, "gone@example.com", "gone", n.Body)

	srv.FailNext(1)
	err = s.Send(ctx, notify.Recipient{Email: email}, n)
	if err == nil || errors.Is(err, notify.ErrPermanent) || !strings.Contains(err.Error(), "451") {
		t.Fatalf("temporary failure: %v", err)
	}
	noPersonalData(t, err, n.Body)

	for _, addr := range []string{"", "not an address", "a@b\r\nRCPT TO:<x@y>"} {
		err = s.Send(ctx, notify.Recipient{Email: addr, Phone: phone}, n)
		if !errors.Is(err, notify.ErrPermanent) {
			t.Errorf("address %q: %v", addr, err)
		}
		noPersonalData(t, err, "not an address")
	}
	// An invalid notice is permanent too: a result without feedback text.
	err = s.Send(ctx, notify.Recipient{Email: email}, notify.Notice{Kind: notify.KindResult, CaseNumber: caseNumber})
	if !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("result without text: %v", err)
	}
	if got := len(srv.Messages()); got != 0 {
		t.Fatalf("%d messages stored, want 0", got)
	}
	// Nobody listening: temporary.
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := lis.Addr().String()
	_ = lis.Close()
	s.Addr = addr
	if err := s.Send(ctx, notify.Recipient{Email: email}, n); err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("connection refused: %v", err)
	}
}

// Notices sent one after another share one connection (one handshake, not
// one per notice); a transaction that failed drops its connection, and the
// next notice opens a new one.
func TestSMTPReusesItsConnection(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{RejectRcpt: func(a string) bool { return strings.HasPrefix(a, "gone") }})
	s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	ctx := context.Background()
	for i := range 5 {
		if err := s.Send(ctx, notify.Recipient{Email: email}, sampleNotice(notify.KindAcknowledgement, notify.LangZH)); err != nil {
			t.Fatalf("notice %d: %v", i, err)
		}
	}
	if got, conns := len(srv.WaitCount(t, 5, 5*time.Second)), srv.Connections(); conns != 1 {
		t.Fatalf("%d notices over %d connections, want 1", got, conns)
	}
	if err := s.Send(ctx, notify.Recipient{Email: "gone@example.com"}, sampleNotice(notify.KindAcknowledgement, notify.LangZH)); !errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("refused recipient: %v", err)
	}
	if err := s.Send(ctx, notify.Recipient{Email: email}, sampleNotice(notify.KindAcknowledgement, notify.LangZH)); err != nil {
		t.Fatal(err)
	}
	if conns := srv.Connections(); conns != 2 {
		t.Fatalf("%d connections, want 2 (a new one after the refusal)", conns)
	}
}

// A connection the server closed while it waited is not an error: the next
// notice finds it gone (RSET fails) and opens another.
func TestSMTPReconnectsWhenTheServerClosedTheIdleConnection(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{IdleTimeout: 200 * time.Millisecond})
	s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	ctx := context.Background()
	for i := range 2 {
		if i == 1 {
			time.Sleep(600 * time.Millisecond) // the server drops the idle connection
		}
		if err := s.Send(ctx, notify.Recipient{Email: email}, sampleNotice(notify.KindAcknowledgement, notify.LangEN)); err != nil {
			t.Fatalf("notice %d: %v", i, err)
		}
	}
	if got, conns := len(srv.WaitCount(t, 2, 5*time.Second)), srv.Connections(); conns != 2 {
		t.Fatalf("%d notices over %d connections, want 2", got, conns)
	}
}

// A server that accepts the connection and says nothing: the send gives up
// after Timeout with a temporary timeout error; cancelling the context ends
// it at once.
func TestSMTPTimeout(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	s := &notify.SMTPSender{Addr: lis.Addr().String(), From: "complaints@operator.example", Timeout: 300 * time.Millisecond}
	n := sampleNotice(notify.KindReply, notify.LangEN)
	start := time.Now()
	err = s.Send(context.Background(), notify.Recipient{Email: email}, n)
	if !errors.Is(err, notify.ErrTimeout) || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
	s.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	err = s.Send(ctx, notify.Recipient{Email: email}, n)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("cancelled: %v after %v", err, time.Since(start))
	}
}

// The worker stops (the send's context is cancelled) after the whole
// message went out, while the server is answering it: the send waits for
// the answer and reports the notice delivered. Taking the cancellation as a
// failure left the notice pending, and its retry mailed it a second time
// (seen once in the e2e test that stops the worker midway: 21 mails for 20
// cases).
func TestSMTPStopAfterTheMessageWentOutWaitsForTheAnswer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := smtptest.StartWith(t, smtptest.Options{OnMessage: func() {
		cancel()
		time.Sleep(100 * time.Millisecond) // the client sees the cancellation before the answer
	}})
	s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	if err := s.Send(ctx, notify.Recipient{Email: email}, sampleNotice(notify.KindAcknowledgement, notify.LangZH)); err != nil {
		t.Fatalf("the server accepted the notice, but the send answered %v", err)
	}
	if got := len(srv.WaitCount(t, 1, 5*time.Second)); got != 1 {
		t.Fatalf("%d messages, want 1", got)
	}
}

// A notice about a case that came by mail answers the complainant's mail,
// so that it threads; a header-breaking id is left out.
func TestSMTPNoticeAnswersTheComplainantsMail(t *testing.T) {
	srv := smtptest.Start(t)
	s := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	n := sampleNotice(notify.KindAcknowledgement, notify.LangZH)
	for _, id := range []string{"<first.mail@example.com>", "<x@y>\r\nBcc: someone@example.org", ""} {
		n.InReplyTo = id
		if err := s.Send(context.Background(), notify.Recipient{Email: email}, n); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.WaitCount(t, 3, 5*time.Second)
	if h := msgs[0].Header; h.Get("In-Reply-To") != "<first.mail@example.com>" || h.Get("References") != "<first.mail@example.com>" {
		t.Fatalf("In-Reply-To %q, References %q", h.Get("In-Reply-To"), h.Get("References"))
	}
	for _, m := range msgs[1:] {
		if m.Header.Get("In-Reply-To") != "" || m.Header.Get("References") != "" || m.Header.Get("Bcc") != "" {
			t.Fatalf("headers %v", m.Header)
		}
	}
}
