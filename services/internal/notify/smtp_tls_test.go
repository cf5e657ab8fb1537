package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
)

// A remote server that does not offer STARTTLS (as when someone on the path
// strips it from the EHLO answer) is sent nothing: not the notice, not the
// credentials. Plain text goes only to loopback, or when the operator
// explicitly turned TLS off.
func TestSMTPRequiresTLSToRemoteServers(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{}) // no STARTTLS on offer
	n := sampleNotice(notify.KindReply, notify.LangZH)
	ctx := context.Background()

	remote := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	notify.AsRemote(remote)
	err := remote.Send(ctx, notify.Recipient{Email: email}, n)
	if err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("remote server without STARTTLS: %v, want a temporary refusal", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("the notice went to a remote server in the clear")
	}

	optedOut := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", PlainText: true, Timeout: 5 * time.Second}
	notify.AsRemote(optedOut)
	if err := optedOut.Send(ctx, notify.Recipient{Email: email}, n); err != nil {
		t.Fatalf("TLS explicitly off: %v", err)
	}
	local := &notify.SMTPSender{Addr: srv.Addr(), From: "complaints@operator.example", Timeout: 5 * time.Second}
	if err := local.Send(ctx, notify.Recipient{Email: email}, n); err != nil {
		t.Fatalf("loopback relay: %v", err)
	}
	if got := len(srv.Messages()); got != 2 {
		t.Fatalf("%d messages, want 2", got)
	}

	// With STARTTLS on offer, a remote server gets the notice encrypted.
	cfg, _ := smtptest.SelfSignedTLS(t)
	tlsSrv := smtptest.StartWith(t, smtptest.Options{TLS: cfg})
	secure := &notify.SMTPSender{Addr: tlsSrv.Addr(), From: "complaints@operator.example", InsecureSkipVerify: true, Timeout: 5 * time.Second}
	notify.AsRemote(secure)
	if err := secure.Send(ctx, notify.Recipient{Email: email}, n); err != nil {
		t.Fatal(err)
	}
	if m := tlsSrv.Messages(); len(m) != 1 || !m[0].TLS {
		t.Fatalf("messages %+v, want one over TLS", m)
	}
}
