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
// Art. 57. A notice in Chinese cites in Chinese.
func TestNoticesCiteTheLawInForce(t *testing.T) {
	sh := func(y int, m time.Month, d, h int) time.Time {
		return time.Date(y, m, d, h, 0, 0, 0, calendar.Shanghai())
	}
	engine := policy.New(nil)
	due := sh(2026, 3, 10, 18)
	cases := []struct {
		name     string
		f        policy.Facts
		want, zh string
	}{
		{"prohibited content before the renumbering", policy.Facts{Kind: "report", Category: "prohibited_information", Channel: "web_form",
			ReceivedAt: sh(2025, 12, 31, 10)}, "CSL 2016 Art. 47",
			"《中华人民共和国网络安全法》（2016年）第四十七条"},
		{"prohibited content after it", policy.Facts{Kind: "report", Category: "prohibited_information", Channel: "web_form",
			ReceivedAt: sh(2026, 1, 2, 10)}, "CSL 2026 Art. 49",
			"《中华人民共和国网络安全法》（2025年修正）第四十九条"},
		{"regulator's due date", policy.Facts{Kind: "complaint", Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "12321",
			ReceivedAt: sh(2026, 3, 2, 10), RegulatorDueAt: &due}, "PIPL 2021 Art. 65",
			"《中华人民共和国个人信息保护法》（2021年）第六十五条"},
		{"ISC referral", policy.Facts{Kind: "complaint", Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "isc",
			ReceivedAt: sh(2026, 3, 2, 10)}, "Internet Society of China (ISC) complaint platform rule",
			"中国互联网协会投诉平台规则（具体条款未确定）"},
	}
	srv := smtptest.Start(t)
	s := &notify.SMTPSender{Addr: srv.Addr(), From: from, Timeout: 5 * time.Second}
	sent := 0
	// send sends n and returns the body of the email it became.
	send := func(n notify.Notice) string {
		t.Helper()
		if err := s.Send(context.Background(), notify.Recipient{Email: email}, n); err != nil {
			t.Fatal(err)
		}
		sent++
		return parseEmail(t, srv.WaitCount(t, sent, 5*time.Second)[sent-1].Raw).Body
	}
	for _, c := range cases {
		d, err := engine.Decide(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for lang, want := range map[string]string{notify.LangEN: "These deadlines are set by: " + c.want, notify.LangZH: "期限依据：" + c.zh} {
			n := notify.Notice{Kind: notify.KindAcknowledgement, Language: lang, CaseNumber: caseNumber, DedupeKey: "ack/" + lang + c.name,
				AckDueAt: d.Acknowledgement.DueAt, ResolutionDueAt: d.Resolution.DueAt, Citation: d.Resolution.Citation}
			if body := send(n); !strings.Contains(body, want) {
				t.Errorf("%s (%s): the notice does not say %q:\n%s", c.name, lang, want, body)
			}
		}
	}
	for lang, want := range map[string]string{notify.LangEN: "Legal basis: PIPL 2021 Art. 57", notify.LangZH: "法律依据：《中华人民共和国个人信息保护法》（2021年）第五十七条"} {
		n := notify.Notice{Kind: notify.KindReply, Language: lang, CaseNumber: caseNumber, DedupeKey: "incident/" + lang,
			Body: "A leak of phone numbers; contact privacy@operator.example.", Citation: wf.IncidentNoticeCitation}
		if body := send(n); !strings.Contains(body, want) {
			t.Errorf("the incident notice (%s) does not say %q:\n%s", lang, want, body)
		}
	}
}
