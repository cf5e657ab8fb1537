package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/devmail"
	"github.com/redress/redress/services/internal/inbound"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/records"
)

// gateway is the inbound gateway reaching the harness's intake listener over
// gRPC with its own credential (role inbound_gateway), as `serve inbound`.
func (h *harness) gateway() *inbound.Gateway {
	h.t.Helper()
	var cred serviceCredential
	conn, err := grpc.NewClient(h.conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(access.Bearer{Token: func(ctx context.Context) (string, error) {
			return cred.get(ctx, h.identity, "svc.inbound", access.InboundGateway)
		}}))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = conn.Close() })
	return &inbound.Gateway{Intake: intakev1.NewIntakeServiceClient(conn), Inbound: intakev1.NewInboundServiceClient(conn), Log: h.log}
}

const mailboxPassword = "mailbox-password"

// startMailbox runs the development mail server (real SMTP and IMAP) and the
// gateway's reader on its complaints mailbox until the test ends.
func (h *harness) startMailbox() *devmail.Server {
	h.t.Helper()
	mb, err := devmail.Start(devmail.Config{SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0", PageAddr: "127.0.0.1:0",
		Domain: "operator.example", Password: mailboxPassword})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = mb.Close() })
	r := &inbound.Reader{Gateway: h.gateway(), Log: h.log, Mailbox: inbound.Mailbox{Addr: mb.IMAPAddr(), User: mb.ComplaintsAddress(),
		Password: mailboxPassword, Insecure: true, Poll: 200 * time.Millisecond}}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-done })
	return mb
}

// mailTo sends a raw mail to the complaints address over SMTP.
func mailTo(t *testing.T, mb *devmail.Server, from, msg string) {
	t.Helper()
	if err := smtp.SendMail(mb.SMTPAddr(), nil, from, []string{mb.ComplaintsAddress()}, []byte(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
}

// waitAllTaken waits until the gateway has taken every mail of the
// complaints mailbox (flagged it), read over IMAP as any mail program would.
func waitAllTaken(h *harness, mb *devmail.Server, n int) {
	h.t.Helper()
	c, err := imapclient.DialInsecure(mb.IMAPAddr(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Login(mb.ComplaintsAddress(), mailboxPassword).Wait(); err != nil {
		h.t.Fatal(err)
	}
	h.eventually(fmt.Sprintf("%d mails taken", n), 30*time.Second, func() bool {
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			h.t.Fatal(err)
		}
		all, err1 := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		taken, err2 := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{inbound.TakenFlag}}, nil).Wait()
		if err1 != nil || err2 != nil {
			h.t.Fatal(err1, err2)
		}
		return len(all.AllUIDs()) == n && len(taken.AllUIDs()) == n
	})
}

func emailCases(h *harness) []records.Case {
	var cs []records.Case
	if err := h.db.Where("channel = ?", "email").Order("received_at").Find(&cs).Error; err != nil {
		h.t.Fatal(err)
	}
	return cs
}

// End to end against real SMTP and IMAP servers, PostgreSQL and Temporal: a
// mail opens a case (once, though it arrives twice) and gets an
// acknowledgement that threads with it; an auto-reply and a bounce open
// nothing and get no answer; the complainant's reply to an information
// request resumes the clock.
func TestMailOpensACaseAndAnswersThread(t *testing.T) {
	h := newHarness(t, options{})
	mb := h.startMailbox()
	complaint := `From: Li Lei <li.lei@example.com>
To: complaints@operator.example
Subject: Spam SMS since the leak
Message-ID: <first.1@mail.example.com>
Date: Wed, 02 Dec 2026 09:00:00 +0800
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="part"

--part
Content-Type: text/plain; charset=UTF-8

I get loan offers by SMS from 10690000001 every day since my number leaked.
--part
Content-Type: text/plain; charset=UTF-8
Content-Disposition: attachment; filename="sms.txt"

10690000001: Loan approved! Reply Y to get 50000 yuan today.
--part--
`
	mailTo(t, mb, "li.lei@example.com", complaint)
	mailTo(t, mb, "li.lei@example.com", complaint) // delivered twice
	mailTo(t, mb, "li.lei@example.com", `From: Li Lei <li.lei@example.com>
To: complaints@operator.example
Subject: Out of office
Auto-Submitted: auto-replied
Message-ID: <ooo.1@mail.example.com>

I am away until Monday.
`)
	mailTo(t, mb, "", `Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: complaints@operator.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce.1@mx.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

The mail could not be delivered.
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
Final-Recipient: rfc822; nobody@example.com
Action: failed
Status: 5.1.1
--b--
`)
	waitAllTaken(h, mb, 4)
	cs := emailCases(h)
	if len(cs) != 1 {
		t.Fatalf("%d cases opened by mail, want 1 (the same mail twice, an auto-reply and a bounce)", len(cs))
	}
	c := cs[0]
	if c.Language != "en" || c.SubmittedBy == nil || *c.SubmittedBy != "svc.inbound" {
		t.Fatalf("case opened with language %q by %v", c.Language, c.SubmittedBy)
	}
	var atts []records.Attachment
	h.db.Where("case_id = ?", c.ID).Find(&atts)
	if len(atts) != 1 || atts[0].ContentType != "text/plain" || atts[0].SizeBytes == 0 {
		t.Fatalf("the mail's attachment kept as %+v", atts)
	}
	ack := h.smtp.WaitFor(t, 30*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Subject, c.CaseNumber) })
	if ack.To[0] != "li.lei@example.com" || ack.Header.Get("In-Reply-To") != "<first.1@mail.example.com>" ||
		!strings.Contains(ack.Header.Get("References"), "<first.1@mail.example.com>") {
		t.Fatalf("acknowledgement to %v, In-Reply-To %q, References %q", ack.To, ack.Header.Get("In-Reply-To"), ack.Header.Get("References"))
	}

	// An agent asks a question; the complainant answers the notice by mail.
	agent := h.as("agent.li")
	if _, err := h.api.AcceptCase(agent, &intakev1.AcceptCaseRequest{CaseId: c.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.AssignCase(h.as("supervisor.wang"), &intakev1.AssignCaseRequest{CaseId: c.ID, Assignee: "agent.li"}); err != nil {
		t.Fatal(err)
	}
	asked, err := h.api.RequestInformation(agent, &intakev1.RequestInformationRequest{CaseId: c.ID, Question: "Which number sends the SMS?"})
	if err != nil || asked.GetCase().GetState() != intakev1.CaseState_CASE_STATE_AWAITING_COMPLAINANT {
		t.Fatalf("request information: %v, %v", asked.GetCase().GetState(), err)
	}
	question := h.smtp.WaitFor(t, 30*time.Second, func(m smtptest.Message) bool {
		return strings.Contains(m.Subject, c.CaseNumber) && strings.Contains(m.Body, "Which number sends the SMS?")
	})
	qid := question.Header.Get("Message-Id")
	mailTo(t, mb, "li.lei@example.com", fmt.Sprintf(`From: Li Lei <li.lei@example.com>
To: complaints@operator.example
Subject: Re: %s
Message-ID: <answer.1@mail.example.com>
In-Reply-To: %s
References: <first.1@mail.example.com> %s
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="part"

--part
Content-Type: text/plain; charset=UTF-8

It is 10690000001, every morning.

> Which number sends the SMS?
--part
Content-Type: text/plain; charset=UTF-8
Content-Disposition: attachment; filename="this-morning.txt"

10690000001: Final offer! 50000 yuan, reply Y.
--part--
`, question.Subject, qid, qid))
	h.eventually("the case leaves awaiting_complainant", 30*time.Second, func() bool {
		got, err := h.api.GetCase(agent, &intakev1.GetCaseRequest{CaseId: c.ID})
		return err == nil && got.GetCase().GetState() == intakev1.CaseState_CASE_STATE_IN_PROGRESS
	})
	msgs, err := h.caseFile.ListCaseMessages(h.as("supervisor.wang"), &intakev1.ListCaseMessagesRequest{CaseId: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, m := range msgs.GetMessages() {
		if m.GetKind() == records.MessageComplainantResponse {
			answered++
		}
	}
	if answered != 1 {
		t.Fatalf("%d complainant messages on the case, want 1: %v", answered, msgs.GetMessages())
	}
	// The file mailed with the answer is on the case beside the first one
	// (added after the text, which already moved the case).
	var names []string
	h.eventually("the answer's attachment on the case", 30*time.Second, func() bool {
		onCase, err := h.caseFile.ListAttachments(h.as("supervisor.wang"), &intakev1.ListAttachmentsRequest{CaseId: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		names = names[:0]
		for _, a := range onCase.GetAttachments() {
			names = append(names, a.GetFileName())
		}
		return slices.Contains(names, "this-morning.txt")
	})
	waitAllTaken(h, mb, 5)
	if n := len(emailCases(h)); n != 1 {
		t.Fatalf("the answer opened a case: %d cases by mail", n)
	}
	// Nothing answered the auto-reply or the bounce.
	for _, m := range h.smtp.Messages() {
		if m.To[0] != "li.lei@example.com" {
			t.Fatalf("a notice went to %v", m.To)
		}
	}
}

// The SMS gateway's signed webhook: a text naming the sender's case lands on
// it, once however often it is delivered; another phone naming it, or a
// text naming none, opens a case; a badly signed request is refused.
func TestSMSReplyLandsOnItsCase(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	secret := []byte("sms-gateway-secret")
	srv := httptest.NewServer(&inbound.SMSWebhook{Gateway: h.gateway(), Secret: secret})
	t.Cleanup(srv.Close)
	sub, err := h.api.SubmitComplaint(h.as("public-web"), &intakev1.SubmitComplaintRequest{
		IdempotencyKey: "sms-case-0001", Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT, Category: intakev1.Category_CATEGORY_SPAM_SMS,
		Channel: intakev1.Channel_CHANNEL_WEB_FORM, Description: "Spam SMS every day.",
		Complainant: &intakev1.Complainant{Name: "Zhang San", Phone: "+8613800138000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	post := func(body string, sign func(*http.Request)) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+inbound.SMSPath, strings.NewReader(body))
		sign(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	signed := func(body string) func(*http.Request) {
		return func(r *http.Request) {
			now := time.Now()
			r.Header.Set(connectors.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
			r.Header.Set(connectors.HeaderSignature, connectors.Sign(secret, now, []byte(body)))
		}
	}
	reply := fmt.Sprintf(`{"id":"mo-1","from":"+8613800138000","text":"%s: two more this morning"}`, c.GetCaseNumber())
	for i, want := range []string{`"answered"`, `"repeated"`} { // delivered twice
		if code, out := post(reply, signed(reply)); code != http.StatusOK || !strings.Contains(out, want) {
			t.Fatalf("delivery %d: %d %s, want %s", i+1, code, out, want)
		}
	}
	forged := strings.Replace(reply, "mo-1", "mo-2", 1)
	if code, _ := post(forged, signed(reply)); code != http.StatusUnauthorized {
		t.Fatalf("a body not the one signed: %d, want 401", code)
	}
	if code, _ := post(forged, func(r *http.Request) {
		old := time.Now().Add(-6 * time.Minute)
		r.Header.Set(connectors.HeaderTimestamp, strconv.FormatInt(old.Unix(), 10))
		r.Header.Set(connectors.HeaderSignature, connectors.Sign(secret, old, []byte(forged)))
	}); code != http.StatusUnauthorized {
		t.Fatalf("signed six minutes ago: %d, want 401", code)
	}
	var msgs int64
	h.db.Model(&records.CaseMessage{}).Where("case_id = ? AND kind = ?", c.GetId(), records.MessageComplainantResponse).Count(&msgs)
	if msgs != 1 {
		t.Fatalf("%d messages on the case, want 1", msgs)
	}
	stranger := fmt.Sprintf(`{"id":"mo-3","from":"+8613900139000","text":"%s is my case too"}`, c.GetCaseNumber())
	if code, out := post(stranger, signed(stranger)); code != http.StatusOK || !strings.Contains(out, `"opened"`) {
		t.Fatalf("another phone naming the case: %d %s, want a case opened", code, out)
	}
	fresh := `{"id":"mo-4","from":"+8613700137000","text":"每天收到贷款推销短信"}`
	if code, out := post(fresh, signed(fresh)); code != http.StatusOK || !strings.Contains(out, `"opened"`) {
		t.Fatalf("a new complaint by SMS: %d %s", code, out)
	}
	var sms []records.Case
	h.db.Where("channel = ?", "sms").Order("received_at").Find(&sms)
	if len(sms) != 2 || sms[1].Language != "zh" {
		t.Fatalf("%d cases by SMS (want 2), languages %v", len(sms), sms)
	}
	h.db.Model(&records.CaseMessage{}).Where("case_id = ? AND kind = ?", c.GetId(), records.MessageComplainantResponse).Count(&msgs)
	if msgs != 1 {
		t.Fatalf("%d messages on the case after the others, want 1", msgs)
	}
}
