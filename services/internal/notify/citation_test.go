package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/policy"
)

// A notice cites the law that set its deadline by instrument, version and
// article as in force when the case was received: the CSL by its 2016 or
// 2026 numbering either side of 2026-01-01, the PIPL with its version, the
// ISC referral rule by its instrument; the incident notice names PIPL 2021
// Art. 57.
func TestNoticesCiteTheLawInForce(t *testing.T) {
	sh := func(y int, m time.Month, d, h int) time.Time {
		return time.Date(y, m, d, h, 0, 0, 0, calendar.Shanghai())
	}
	engine := policy.New(nil)
	due := sh(2026, 3, 10, 18)
	cases := []struct {
		name string
		f    policy.Facts
		want string
	}{
		{"prohibited content before the renumbering", policy.Facts{Kind: "report", Category: "prohibited_information", Channel: "web_form",
			ReceivedAt: sh(2025, 12, 31, 10)}, "CSL 2016 Art. 47"},
		{"prohibited content after it", policy.Facts{Kind: "report", Category: "prohibited_information", Channel: "web_form",
			ReceivedAt: sh(2026, 1, 2, 10)}, "CSL 2026 Art. 49"},
		{"regulator's due date", policy.Facts{Kind: "complaint", Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "12321",
			ReceivedAt: sh(2026, 3, 2, 10), RegulatorDueAt: &due}, "PIPL 2021 Art. 65"},
		{"ISC referral", policy.Facts{Kind: "complaint", Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "isc",
			ReceivedAt: sh(2026, 3, 2, 10)}, "Internet Society of China (ISC) complaint platform rule"},
	}
	srv := smtptest.Start(t)
	s := &notify.SMTPSender{Addr: srv.Addr(), From: from, Timeout: 5 * time.Second}
	for i, c := range cases {
		d, err := engine.Decide(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := notify.Notice{Kind: notify.KindAcknowledgement, Language: notify.LangEN, CaseNumber: caseNumber, DedupeKey: "ack/" + c.name,
			AckDueAt: d.Acknowledgement.DueAt, ResolutionDueAt: d.Resolution.DueAt, Citation: d.Resolution.Citation}
		if err := s.Send(context.Background(), notify.Recipient{Email: email}, n); err != nil {
			t.Fatal(err)
		}
		body := parseEmail(t, srv.WaitCount(t, i+1, 5*time.Second)[i].Raw).Body
		if !strings.Contains(body, "These deadlines are set by: "+c.want) {
			t.Errorf("%s: the notice does not cite %q:\n%s", c.name, c.want, body)
		}
	}
	n := notify.Notice{Kind: notify.KindReply, Language: notify.LangEN, CaseNumber: caseNumber, DedupeKey: "incident/1",
		Body: "A leak of phone numbers; contact privacy@operator.example.", Citation: wf.IncidentNoticeCitation}
	if err := s.Send(context.Background(), notify.Recipient{Email: email}, n); err != nil {
		t.Fatal(err)
	}
	if body := parseEmail(t, srv.WaitCount(t, len(cases)+1, 5*time.Second)[len(cases)].Raw).Body; !strings.Contains(body, "Legal basis: PIPL 2021 Art. 57") {
		t.Errorf("the incident notice does not cite PIPL 2021 Art. 57:\n%s", body)
	}
}
