package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/workflows/calendar"
)

func engine(t *testing.T) *Engine {
	t.Helper()
	cal, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	return New(cal)
}

// sh is a wall-clock time in Asia/Shanghai.
func sh(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, Shanghai())
}

// endOf is 24:00 Asia/Shanghai of the given day, i.e. 16:00 UTC that day.
func endOf(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 16, 0, 0, 0, time.UTC) }

func ptr(t time.Time) *time.Time { return &t }

func TestDecideResolution(t *testing.T) {
	e := engine(t)
	cases := []struct {
		name        string
		f           Facts
		due         time.Time
		rule        string
		citation    string
		provisional bool
		pausable    bool
	}{
		{
			// Feb 13=1, Feb 14 (make-up Sat)=2, Feb 15–23 off, Feb 24–27=3..6,
			// Feb 28 (make-up Sat)=7, Mar 2–6=8..12, Mar 9–11=13..15.
			name: "spring festival 2026, 15 working days",
			f:    Facts{Category: "personal_information_leak", Channel: "web_form", ReceivedAt: sh(2026, 2, 12, 10, 0)},
			due:  endOf(2026, 3, 11), rule: "cn/A1", citation: "App PI Violation Identification Method (2019) §6", pausable: true,
		},
		{
			// Receipt on a make-up Saturday is not counted: Feb 24–28=1..5,
			// Mar 2–6=6..10, Mar 9–13=11..15.
			name: "receipt on make-up Saturday",
			f:    Facts{Category: "identity_misuse", Channel: "phone", ReceivedAt: sh(2026, 2, 14, 10, 0)},
			due:  endOf(2026, 3, 13), rule: "cn/A1", citation: "App PI Violation Identification Method (2019) §6", pausable: true,
		},
		{
			// Fri Sep 18: Sep 20 (make-up Sun)=1, Sep 21–24=2..5, Sep 25–27 off,
			// Sep 28–30=6..8, Oct 1–7 off, Oct 8–9=9..10, Oct 10 (make-up Sat)=11,
			// Oct 12–15=12..15.
			name: "national day 2026, 15 working days",
			f:    Facts{Category: "harassing_call", Channel: "api", ReceivedAt: sh(2026, 9, 18, 15, 0)},
			due:  endOf(2026, 10, 15), rule: "cn/A1", citation: "App PI Violation Identification Method (2019) §6", pausable: true,
		},
		{
			// Fri Jan 24 2025: Jan 26 (make-up Sun)=1, Jan 27=2, Jan 28–Feb 4 off,
			// Feb 5–7=3..5, Feb 8 (make-up Sat)=6, Feb 10–14=7..11, Feb 17–20=12..15.
			name: "spring festival 2025, 15 working days",
			f:    Facts{Category: "spam_sms", Channel: "sms", ReceivedAt: sh(2025, 1, 24, 10, 0)},
			due:  endOf(2025, 2, 20), rule: "cn/A1", citation: "App PI Violation Identification Method (2019) §6", pausable: true,
		},
		{
			// Sep 16 + 15 = Oct 1, a holiday: runs to the end of Thu Oct 8.
			name: "15 calendar days ending on a holiday",
			f:    Facts{Category: "service_quality", Channel: "phone", ReceivedAt: sh(2026, 9, 16, 9, 0)},
			due:  endOf(2026, 10, 8), rule: "cn/T1", citation: "MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14", pausable: true,
		},
		{
			// Jan 31 + 15 = Feb 15, Spring Festival (Feb 15–23): ends Tue Feb 24.
			name: "15 calendar days ending in spring festival",
			f:    Facts{Category: "service_quality", Channel: "web_form", ReceivedAt: sh(2026, 1, 31, 9, 0)},
			due:  endOf(2026, 2, 24), rule: "cn/T1", citation: "MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14", pausable: true,
		},
		{
			// Feb 13 + 15 = Feb 28, a make-up Saturday, so a working day: no shift.
			name: "15 calendar days ending on a make-up Saturday",
			f:    Facts{Category: "service_quality", Channel: "web_form", ReceivedAt: sh(2026, 2, 13, 9, 0)},
			due:  endOf(2026, 2, 28), rule: "cn/T1", citation: "MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14", pausable: true,
		},
		{
			// Dec 17 2026 + 15 = Fri Jan 1 2027: no 2027 notice yet, but New
			// Year's Day is a statutory holiday, then a weekend: ends Mon Jan 4.
			name: "15 calendar days ending on New Year's Day of a year without a notice",
			f:    Facts{Category: "service_quality", Channel: "web_form", ReceivedAt: sh(2026, 12, 17, 9, 0)},
			due:  endOf(2027, 1, 4), rule: "cn/T1", citation: "MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14", provisional: true, pausable: true,
		},
		{
			// Feb 27 + 15 = Sat Mar 14, an ordinary weekend: ends Mon Mar 16.
			name: "15 calendar days ending on a weekend",
			f:    Facts{Category: "service_quality", Channel: "web_form", ReceivedAt: sh(2026, 2, 27, 9, 0)},
			due:  endOf(2026, 3, 16), rule: "cn/T1", citation: "MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14", pausable: true,
		},
		{
			// 30 calendar days: Mar 2 + 30 = Wed Apr 1.
			name: "fallback G1",
			f:    Facts{Category: "other", Channel: "email", ReceivedAt: sh(2026, 3, 2, 9, 0)},
			due:  endOf(2026, 4, 1), rule: "cn/G1", citation: "GB/T 35273-2020 §8.7", pausable: true,
		},
		{
			// 30 calendar days from Sep 5 2026 = Oct 5 (National Day) → Oct 8.
			name: "fallback G1 ending in national day",
			f:    Facts{Kind: "report", Category: "other", Channel: "email", ReceivedAt: sh(2026, 9, 5, 9, 0)},
			due:  endOf(2026, 10, 8), rule: "cn/G1", citation: "GB/T 35273-2020 §8.7", pausable: true,
		},
		{
			name: "2 h prohibited information",
			f:    Facts{Kind: "report", Category: "prohibited_information", Channel: "web_form", ReceivedAt: sh(2026, 3, 2, 9, 30)},
			due:  sh(2026, 3, 2, 11, 30).UTC(), rule: "cn/C2", citation: "CSL 2026 Art. 49",
		},
		{
			name: "2 h prohibited information, before the renumbering",
			f:    Facts{Kind: "report", Category: "prohibited_information", Channel: "internal", ReceivedAt: sh(2025, 12, 31, 23, 59)},
			due:  sh(2026, 1, 1, 1, 59).UTC(), rule: "cn/C2", citation: "CSL 2016 Art. 47",
		},
		{
			name: "2 h malicious program, before the renumbering",
			f:    Facts{Kind: "report", Category: "malicious_program", Channel: "web_form", ReceivedAt: sh(2025, 12, 31, 23, 30)},
			due:  sh(2026, 1, 1, 1, 30).UTC(), rule: "cn/C3", citation: "CSL 2016 Art. 48 ¶2",
		},
		{
			name: "2 h malicious program, after the renumbering",
			f:    Facts{Kind: "report", Category: "malicious_program", Channel: "web_form", ReceivedAt: sh(2026, 1, 1, 0, 0)},
			due:  sh(2026, 1, 1, 2, 0).UTC(), rule: "cn/C3", citation: "CSL 2026 Art. 50",
		},
		{
			// 12321 15 wd from Mon Mar 2: Mar 23. A1 ties with it; T4 cannot pause, so it wins
			// (a pause under A1 must not carry the case past the referral's deadline).
			name: "12321 referral without a regulator date: A1 ties T4, the non-pausable T4 wins",
			f:    Facts{Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "12321", ReceivedAt: sh(2026, 3, 2, 10, 0)},
			due:  endOf(2026, 3, 23), rule: "cn/T4", citation: "MIIT SMS Service Rules (Order 31, 2015)", pausable: false,
		},
		{
			name: "12321 referral, service quality: T1 (Mar 2 + 15 = Tue Mar 17) beats T4 (Mar 23)",
			f:    Facts{Category: "service_quality", Channel: "regulator_referral", ReferringBody: "12321", ReceivedAt: sh(2026, 3, 2, 10, 0)},
			due:  endOf(2026, 3, 17), rule: "cn/T1", citation: "MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14", pausable: true,
		},
		{
			// 12321 category other: T4 (Mar 23) beats G1 (Apr 1).
			name: "12321 referral, other category: T4",
			f:    Facts{Category: "other", Channel: "regulator_referral", ReferringBody: "12321", ReceivedAt: sh(2026, 3, 2, 10, 0)},
			due:  endOf(2026, 3, 23), rule: "cn/T4", citation: "MIIT SMS Service Rules (Order 31, 2015)",
		},
		{
			// ISC 10 wd from Mon Mar 2: Mar 3–6=1..4, Mar 9–13=5..9, Mar 16=10.
			name: "ISC referral: T5",
			f:    Facts{Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "isc", ReceivedAt: sh(2026, 3, 2, 10, 0)},
			due:  endOf(2026, 3, 16), rule: "cn/T5", citation: "Internet Society of China (ISC) complaint platform rule",
		},
		{
			name: "strictest wins: regulator due date before 15 working days",
			f: Facts{Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "12321", ReceivedAt: sh(2026, 3, 2, 10, 0),
				RegulatorDueAt: ptr(sh(2026, 3, 10, 18, 0))},
			due: sh(2026, 3, 10, 18, 0).UTC(), rule: "cn/P6", citation: "PIPL 2021 Art. 65 (regulator referral due date)",
		},
		{
			// T4 and P6 tie exactly, both not pausable: the rule listed first (T4) is recorded.
			name: "regulator due date equal to 15 working days: T4 listed before P6 wins the tie",
			f: Facts{Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "12321", ReceivedAt: sh(2026, 3, 2, 10, 0),
				RegulatorDueAt: ptr(endOf(2026, 3, 23))},
			due: endOf(2026, 3, 23), rule: "cn/T4", citation: "MIIT SMS Service Rules (Order 31, 2015)", pausable: false,
		},
		{
			name: "regulator due date later than 15 working days: T4 (tied with A1, not pausable) stays",
			f: Facts{Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "12321", ReceivedAt: sh(2026, 3, 2, 10, 0),
				RegulatorDueAt: ptr(sh(2026, 4, 30, 18, 0))},
			due: endOf(2026, 3, 23), rule: "cn/T4", citation: "MIIT SMS Service Rules (Order 31, 2015)", pausable: false,
		},
		{
			// Wed Dec 16 2026: Dec 17–18=1..2, Dec 21–25=3..7, Dec 28–31=8..11,
			// then 2027 without a notice: Fri Jan 1 is New Year's Day by the
			// National Holidays Regulation, Jan 4–7=12..15.
			name: "15 working days into 2027 without a calendar",
			f:    Facts{Category: "account_security", Channel: "web_form", ReceivedAt: sh(2026, 12, 16, 10, 0)},
			due:  endOf(2027, 1, 7), rule: "cn/A1", citation: "App PI Violation Identification Method (2019) §6", provisional: true, pausable: true,
		},
		{
			// Dec 1 + 15 = Wed Dec 16 2026: all in a loaded year.
			name: "15 calendar days inside 2026 is not provisional",
			f:    Facts{Category: "service_quality", Channel: "web_form", ReceivedAt: sh(2026, 12, 1, 10, 0)},
			due:  endOf(2026, 12, 16), rule: "cn/T1", citation: "MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14", pausable: true,
		},
		{
			// Late evening UTC is already the next day in Shanghai: received
			// 2026-02-13 17:00 UTC = Feb 14 01:00 +08 (make-up Saturday).
			name: "receipt day taken in Asia/Shanghai",
			f:    Facts{Category: "junk_email", Channel: "email", ReceivedAt: time.Date(2026, 2, 13, 17, 0, 0, 0, time.UTC)},
			due:  endOf(2026, 3, 13), rule: "cn/A1", citation: "App PI Violation Identification Method (2019) §6", pausable: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.Decide(c.f)
			if err != nil {
				t.Fatal(err)
			}
			r := d.Resolution
			if !r.DueAt.Equal(c.due) || r.RuleID != c.rule || r.Citation != c.citation ||
				r.Provisional != c.provisional || r.Pausable != c.pausable || r.Kind != "resolution" {
				t.Errorf("got %s %s %q prov=%v pausable=%v\nwant %s %s %q prov=%v pausable=%v",
					r.DueAt.Format(time.RFC3339), r.RuleID, r.Citation, r.Provisional, r.Pausable,
					c.due.Format(time.RFC3339), c.rule, c.citation, c.provisional, c.pausable)
			}
			if r.DueAt.Location() != time.UTC {
				t.Errorf("DueAt not UTC: %v", r.DueAt.Location())
			}
			if d.QuietPeriod != 7*24*time.Hour {
				t.Errorf("quiet period %v", d.QuietPeriod)
			}
			if d.Acknowledgement.DueAt.After(r.DueAt) {
				t.Errorf("ack %v after resolution %v", d.Acknowledgement.DueAt, r.DueAt)
			}
		})
	}
}

func TestProvisionalClearsWhenCalendarArrives(t *testing.T) {
	cal, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	e := New(cal)
	f := Facts{Category: "account_security", Channel: "web_form", ReceivedAt: sh(2026, 12, 16, 10, 0)}
	before, err := e.Decide(f)
	if err != nil {
		t.Fatal(err)
	}
	// Statutory New Year's Day off: Jan 4–7 = 12..15, provisional.
	if !before.Resolution.Provisional || !before.Resolution.DueAt.Equal(endOf(2027, 1, 7)) {
		t.Fatalf("before: %+v", before.Resolution)
	}
	if err := cal.Add([]byte(`{"jurisdiction":"cn","year":2027,"source":"test fixture",
		"holidays":[{"name":"New Year's Day","from":"2027-01-01","to":"2027-01-01","days_off":1}],
		"makeup_workdays":[{"date":"2027-01-02","weekday":"Saturday","for":"New Year's Day"}]}`)); err != nil {
		t.Fatal(err)
	}
	after, err := e.Decide(f)
	if err != nil {
		t.Fatal(err)
	}
	// The notice makes Sat Jan 2 a working day: Jan 2=12, Jan 4–6 = 13..15.
	if after.Resolution.Provisional || !after.Resolution.DueAt.Equal(endOf(2027, 1, 6)) {
		t.Fatalf("after: %+v", after.Resolution)
	}
}

func TestAcknowledgement(t *testing.T) {
	e := engine(t)
	cases := []struct {
		name     string
		f        Facts
		due      time.Time
		citation string
	}{
		{"24 h, 2026", Facts{Category: "other", Channel: "web_form", ReceivedAt: sh(2026, 2, 12, 10, 0)},
			sh(2026, 2, 13, 10, 0).UTC(), "CSL 2026 Art. 51"},
		{"last minute of 2025", Facts{Category: "other", Channel: "web_form", ReceivedAt: sh(2025, 12, 31, 23, 59)},
			sh(2026, 1, 1, 23, 59).UTC(), "CSL 2016 Art. 49"},
		// 2025-12-31 16:30 UTC is already 2026-01-01 00:30 in Shanghai.
		{"first minutes of 2026 (UTC still 2025)", Facts{Category: "other", Channel: "web_form", ReceivedAt: time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC)},
			time.Date(2026, 1, 1, 16, 30, 0, 0, time.UTC), "CSL 2026 Art. 51"},
		{"clamped to 2 h rule", Facts{Kind: "report", Category: "prohibited_information", Channel: "web_form", ReceivedAt: sh(2026, 3, 2, 9, 30)},
			sh(2026, 3, 2, 11, 30).UTC(), "CSL 2026 Art. 51"},
		{"clamped to 2 h rule, 2025", Facts{Kind: "report", Category: "malicious_program", Channel: "api", ReceivedAt: sh(2025, 6, 2, 9, 30)},
			sh(2025, 6, 2, 11, 30).UTC(), "CSL 2016 Art. 49"},
		{"clamped to an earlier regulator date", Facts{Category: "other", Channel: "regulator_referral", ReferringBody: "12377",
			ReceivedAt: sh(2026, 3, 2, 9, 30), RegulatorDueAt: ptr(sh(2026, 3, 2, 17, 0))},
			sh(2026, 3, 2, 17, 0).UTC(), "CSL 2026 Art. 51"},
	}
	for _, c := range cases {
		d, err := e.Decide(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a := d.Acknowledgement
		if !a.DueAt.Equal(c.due) || a.Citation != c.citation || a.RuleID != "cn/C1" || a.Kind != "acknowledgement" || a.Pausable || a.Provisional {
			t.Errorf("%s: got %+v, want %s %q", c.name, a, c.due.Format(time.RFC3339), c.citation)
		}
		if d.Considered[0] != "cn/C1" {
			t.Errorf("%s: considered %v", c.name, d.Considered)
		}
	}
}

func TestReminders(t *testing.T) {
	e := engine(t)
	// Received Feb 12 02:00 UTC, due Mar 11 16:00 UTC: 662 h allowed.
	// 50% = 331 h → Feb 25 21:00 UTC; 80% = 529 h 36 m → Mar 6 03:36 UTC.
	d, err := e.Decide(Facts{Category: "personal_information_leak", Channel: "web_form", ReceivedAt: sh(2026, 2, 12, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{time.Date(2026, 2, 25, 21, 0, 0, 0, time.UTC), time.Date(2026, 3, 6, 3, 36, 0, 0, time.UTC)}
	if got := d.Resolution.Reminders; len(got) != 2 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
		t.Errorf("resolution reminders %v, want %v", got, want)
	}
	// Ack 24 h: 12 h and 19 h 12 m.
	ackWant := []time.Time{time.Date(2026, 2, 12, 14, 0, 0, 0, time.UTC), time.Date(2026, 2, 12, 21, 12, 0, 0, time.UTC)}
	if got := d.Acknowledgement.Reminders; len(got) != 2 || !got[0].Equal(ackWant[0]) || !got[1].Equal(ackWant[1]) {
		t.Errorf("ack reminders %v, want %v", got, ackWant)
	}
	// 2 h rule: 60 min and 96 min.
	d, err = e.Decide(Facts{Category: "prohibited_information", Channel: "web_form", ReceivedAt: sh(2026, 3, 2, 9, 30)})
	if err != nil {
		t.Fatal(err)
	}
	want = []time.Time{sh(2026, 3, 2, 10, 30).UTC(), sh(2026, 3, 2, 11, 6).UTC()}
	for _, got := range [][]time.Time{d.Resolution.Reminders, d.Acknowledgement.Reminders} {
		if len(got) != 2 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
			t.Errorf("2 h reminders %v, want %v", got, want)
		}
	}
	// A regulator date already past: no reminders, deadline as given.
	d, err = e.Decide(Facts{Category: "other", Channel: "regulator_referral", ReferringBody: "12321",
		ReceivedAt: sh(2026, 3, 2, 9, 30), RegulatorDueAt: ptr(sh(2026, 3, 1, 9, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if d.Resolution.RuleID != "cn/P6" || len(d.Resolution.Reminders) != 0 || !d.Acknowledgement.DueAt.Equal(d.Resolution.DueAt) {
		t.Errorf("past regulator date: %+v / %+v", d.Resolution, d.Acknowledgement)
	}
}

func TestConsidered(t *testing.T) {
	e := engine(t)
	d, err := e.Decide(Facts{Category: "spam_sms", Channel: "regulator_referral", ReferringBody: "12321",
		ReceivedAt: sh(2026, 3, 2, 10, 0), RegulatorDueAt: ptr(sh(2026, 3, 10, 18, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Considered, ","); got != "cn/C1,cn/A1,cn/T4,cn/P6,cn/G1" {
		t.Errorf("considered %s", got)
	}
	d, err = e.Decide(Facts{Category: "personal_information_leak", Channel: "web_form", ReceivedAt: sh(2026, 3, 2, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Considered, ","); got != "cn/C1,cn/A1,cn/G1" { // T3 disabled
		t.Errorf("considered %s", got)
	}
}

func TestDecideErrors(t *testing.T) {
	e := engine(t)
	ok := Facts{Category: "other", Channel: "web_form", ReceivedAt: sh(2026, 3, 2, 10, 0)}
	cases := []struct {
		field string
		mod   func(*Facts)
	}{
		{"pack", func(f *Facts) { f.Pack = "eu-gdpr" }},
		{"kind", func(f *Facts) { f.Kind = "appeal" }},
		{"category", func(f *Facts) { f.Category = "fraud" }},
		{"category", func(f *Facts) { f.Category = "" }},
		{"channel", func(f *Facts) { f.Channel = "fax" }},
		{"referring_body", func(f *Facts) { f.ReferringBody = "cac" }},
		{"referring_body", func(f *Facts) { f.ReferringBody = "12321" }}, // channel web_form
		{"received_at", func(f *Facts) { f.ReceivedAt = time.Time{} }},
		{"regulator_due_at", func(f *Facts) { f.RegulatorDueAt = &time.Time{} }},
	}
	for _, c := range cases {
		f := ok
		c.mod(&f)
		if _, err := e.Decide(f); err == nil || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("%s: err = %v", c.field, err)
		}
	}
	if _, err := e.Decide(ok); err != nil {
		t.Errorf("valid facts: %v", err)
	}
	if _, err := New(nil).Decide(ok); err != nil {
		t.Errorf("nil calendar: %v", err)
	}
}

func TestRules(t *testing.T) {
	e := engine(t)
	r, ok := e.Rule("cn/T3")
	if !ok || r.Enabled || r.Confidence != "secondary" || r.Amount != 15 {
		t.Errorf("T3 for an app operator = %+v %v", r, ok)
	}
	r, ok = e.Rule("cn/A1")
	if !ok || !r.Enabled || r.Unit != WorkingDays || r.Amount != 15 || !r.Pausable || r.Pack != "cn" {
		t.Errorf("A1 = %+v", r)
	}
	r.Match.Categories[0] = "mutated"
	if again, _ := e.Rule("cn/A1"); again.Match.Categories[0] == "mutated" {
		t.Error("Rule returned shared slices")
	}
	if _, ok := e.Rule("cn/X9"); ok {
		t.Error("unknown rule found")
	}
	for _, id := range []string{"cn/C1", "cn/A1", "cn/T1", "cn/T4", "cn/T5", "cn/C2", "cn/C3", "cn/P6", "cn/G1"} {
		if r, ok := e.Rule(id); !ok || !r.Enabled {
			t.Errorf("%s missing or disabled", id)
		}
	}
	if len(e.Rules("cn")) != 10 || e.Rules("eu-gdpr") != nil {
		t.Error("Rules listing")
	}
}

func TestExtendForPause(t *testing.T) {
	e := engine(t)
	// A test-only pack with a pausable hours rule.
	e.packs["test"] = &pack{id: "test", jurisdiction: "cn", loc: Shanghai(), rules: []Rule{
		{ID: "test/H1", Pack: "test", Deadline: KindResolution, Unit: Hours, Amount: 72, Pausable: true, Enabled: true},
		{ID: "test/M1", Pack: "test", Deadline: KindResolution, Unit: CalendarMonths, Amount: 1, Pausable: true, Enabled: true},
	}}
	decide := func(f Facts) Deadline {
		t.Helper()
		d, err := e.Decide(f)
		if err != nil {
			t.Fatal(err)
		}
		return d.Resolution
	}
	a1 := decide(Facts{Category: "personal_information_leak", Channel: "web_form", ReceivedAt: sh(2026, 2, 12, 10, 0)}) // due Mar 11
	t1 := decide(Facts{Category: "service_quality", Channel: "phone", ReceivedAt: sh(2026, 9, 16, 9, 0)})               // due Oct 8
	g1 := decide(Facts{Category: "other", Channel: "email", ReceivedAt: sh(2026, 3, 2, 9, 0)})                          // due Apr 1
	h1 := Deadline{Kind: "resolution", DueAt: sh(2026, 3, 5, 9, 0).UTC(), RuleID: "test/H1", Pausable: true,
		Reminders: reminders(sh(2026, 3, 2, 9, 0).UTC(), sh(2026, 3, 5, 9, 0).UTC())}
	m1 := Deadline{Kind: "resolution", DueAt: endOf(2026, 3, 2), RuleID: "test/M1", Pausable: true}

	cases := []struct {
		name        string
		d           Deadline
		from, until time.Time
		due         time.Time
	}{
		// (Feb 24, Feb 28] = Feb 25, 26, 27, 28 (make-up) = 4 wd; after Mar 11: Mar 12, 13, 16, 17.
		{"working days", a1, sh(2026, 2, 24, 10, 0), sh(2026, 2, 28, 9, 0), endOf(2026, 3, 17)},
		// (Feb 13, Feb 24] = Feb 14 (make-up), Feb 24 = 2 wd: Mar 12, 13.
		{"working days across spring festival", a1, sh(2026, 2, 13, 18, 0), sh(2026, 2, 24, 9, 0), endOf(2026, 3, 13)},
		// Same-day pause: no whole day, no change.
		{"working days, same day", a1, sh(2026, 2, 24, 10, 0), sh(2026, 2, 24, 16, 0), endOf(2026, 3, 11)},
		// (Feb 15, Feb 22] all holiday: 0 wd.
		{"working days, pause inside the holiday", a1, sh(2026, 2, 15, 10, 0), sh(2026, 2, 22, 10, 0), endOf(2026, 3, 11)},
		// 3 calendar days: Oct 8 + 3 = Sun Oct 11 → Mon Oct 12.
		{"calendar days then rest-day rule", t1, sh(2026, 9, 20, 10, 0), sh(2026, 9, 23, 10, 0), endOf(2026, 10, 12)},
		// 2 calendar days: Oct 8 + 2 = Sat Oct 10, a make-up working day.
		{"calendar days onto make-up Saturday", t1, sh(2026, 9, 20, 10, 0), sh(2026, 9, 22, 10, 0), endOf(2026, 10, 10)},
		// 3 calendar days: Apr 1 + 3 = Sat Apr 4, Qingming Apr 4–6 → Tue Apr 7.
		{"calendar days into Qingming", g1, sh(2026, 3, 10, 10, 0), sh(2026, 3, 13, 10, 0), endOf(2026, 4, 7)},
		{"hours: exact paused duration", h1, sh(2026, 3, 3, 9, 0), sh(2026, 3, 3, 14, 30), sh(2026, 3, 5, 14, 30).UTC()},
		// months rule extends by calendar days: Mar 2 + 5 = Sat Mar 7 → Mon Mar 9.
		{"months extend by calendar days", m1, sh(2026, 2, 3, 10, 0), sh(2026, 2, 8, 10, 0), endOf(2026, 3, 9)},
	}
	for _, c := range cases {
		got, err := e.ExtendForPause(c.d, c.from, c.until)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !got.DueAt.Equal(c.due) || got.RuleID != c.d.RuleID || got.Citation != c.d.Citation || !got.Pausable {
			t.Errorf("%s: due %s, want %s", c.name, got.DueAt.Format(time.RFC3339), c.due.Format(time.RFC3339))
		}
		for _, r := range got.Reminders {
			if r.After(got.DueAt) {
				t.Errorf("%s: reminder %v after due %v", c.name, r, got.DueAt)
			}
		}
	}

	// Reminders keep their proportions from the original receipt:
	// A1 extended to Mar 17 16:00 UTC from Feb 12 02:00 UTC = 806 h;
	// 50% = 403 h → Feb 28 21:00 UTC; 80% = 644 h 48 m = 26 d 20 h 48 m → Mar 10 22:48 UTC.
	got, err := e.ExtendForPause(a1, sh(2026, 2, 24, 10, 0), sh(2026, 2, 28, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{time.Date(2026, 2, 28, 21, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 22, 48, 0, 0, time.UTC)}
	if len(got.Reminders) != 2 || !got.Reminders[0].Equal(want[0]) || !got.Reminders[1].Equal(want[1]) {
		t.Errorf("extended reminders %v, want %v", got.Reminders, want)
	}
	if !a1.DueAt.Equal(endOf(2026, 3, 11)) || !a1.Reminders[0].Equal(time.Date(2026, 2, 25, 21, 0, 0, 0, time.UTC)) {
		t.Error("ExtendForPause changed its input")
	}

	// Into an unloaded year: provisional.
	late := decide(Facts{Category: "account_security", Channel: "web_form", ReceivedAt: sh(2026, 11, 20, 10, 0)})
	if late.Provisional {
		t.Fatalf("Nov 20 + 15 wd should stay in 2026: %+v", late)
	}
	// Nov 20 (Fri): Nov 23–27=1..5, Nov 30–Dec 4=6..10, Dec 7–11=11..15 → Dec 11.
	// Pause (Nov 23, Dec 18] = 19 wd → Dec 14–18, 21–25, 28–31 (14), Jan 4–8 (19) → Jan 8 2027
	// (Jan 1 is New Year's Day by the National Holidays Regulation).
	ext, err := e.ExtendForPause(late, sh(2026, 11, 23, 9, 0), sh(2026, 12, 18, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !late.DueAt.Equal(endOf(2026, 12, 11)) || !ext.DueAt.Equal(endOf(2027, 1, 8)) || !ext.Provisional {
		t.Errorf("into 2027: %s → %s provisional=%v", late.DueAt, ext.DueAt, ext.Provisional)
	}

	// Refusals.
	p6 := decide(Facts{Category: "other", Channel: "regulator_referral", ReferringBody: "12321",
		ReceivedAt: sh(2026, 3, 2, 10, 0), RegulatorDueAt: ptr(sh(2026, 3, 10, 18, 0))})
	t4 := decide(Facts{Category: "other", Channel: "regulator_referral", ReferringBody: "12321", ReceivedAt: sh(2026, 3, 2, 10, 0)})
	c2 := decide(Facts{Category: "prohibited_information", Channel: "web_form", ReceivedAt: sh(2026, 3, 2, 10, 0)})
	for _, d := range []Deadline{p6, t4, c2} {
		if _, err := e.ExtendForPause(d, sh(2026, 3, 2, 11, 0), sh(2026, 3, 3, 11, 0)); err == nil {
			t.Errorf("%s: paused a non-pausable deadline", d.RuleID)
		}
	}
	if _, err := e.ExtendForPause(a1, sh(2026, 3, 3, 11, 0), sh(2026, 3, 2, 11, 0)); err == nil {
		t.Error("pause ending before it starts accepted")
	}
	if _, err := e.ExtendForPause(Deadline{RuleID: "cn/X9", Pausable: true, DueAt: a1.DueAt}, sh(2026, 3, 2, 11, 0), sh(2026, 3, 3, 11, 0)); err == nil {
		t.Error("unknown rule accepted")
	}
	ackLike := a1
	ackLike.RuleID = "cn/C1"
	if _, err := e.ExtendForPause(ackLike, sh(2026, 3, 2, 11, 0), sh(2026, 3, 3, 11, 0)); err == nil {
		t.Error("acknowledgement rule paused")
	}
	// Without stored reminders the result has none after the deadline either.
	bare := a1
	bare.Reminders = []time.Time{endOf(2026, 4, 1)}
	got, err = e.ExtendForPause(bare, sh(2026, 2, 24, 10, 0), sh(2026, 2, 28, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Reminders) != 1 || got.Reminders[0].After(got.DueAt) {
		t.Errorf("bare reminders %v", got.Reminders)
	}
}

func TestLogRetentionCitationFollowsTheRenumbering(t *testing.T) {
	if en, _ := LogRetentionCitation(calendar.NewDate(2025, 12, 31)); en != "CSL 2016 Art. 21(3)" {
		t.Errorf("2025-12-31: %s", en)
	}
	if en, zh := LogRetentionCitation(calendar.NewDate(2026, 1, 1)); en != "CSL 2026 Art. 23(3)" || !strings.Contains(zh, "第二十三条") {
		t.Errorf("2026-01-01: %s %s", en, zh)
	}
}

// Order 24 Art. 12 (T3) binds telecom operators and internet information
// service providers: 15 days from receipt, a rest day at the end rolling
// over, stricter than A1's 15 working days, so it wins for them; an app
// operator that is neither stays under A1.
func TestProviderProfileSwitchesOrder24(t *testing.T) {
	cal, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	f := Facts{Category: "personal_information_leak", Channel: "web_form", ReceivedAt: sh(2026, 3, 2, 10, 0)}
	for _, c := range []struct {
		provider string
		due      time.Time
		rule     string
	}{
		{ProviderTelecom, endOf(2026, 3, 17), "cn/T3"},      // Mar 2 + 15 = Tue Mar 17
		{ProviderInternetInfo, endOf(2026, 3, 17), "cn/T3"}, // the same duty
		{ProviderAppOperator, endOf(2026, 3, 23), "cn/A1"},  // 15 working days: Mon Mar 23
	} {
		d, err := New(cal, WithProvider(c.provider)).Decide(f)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Resolution.DueAt.Equal(c.due) || d.Resolution.RuleID != c.rule {
			t.Errorf("%s: due %s under %s, want %s under %s", c.provider, d.Resolution.DueAt, d.Resolution.RuleID, c.due, c.rule)
		}
	}
	// Ending on a rest day rolls over: Sep 16 + 15 = Thu Oct 1 (National Day) → Oct 8.
	d, err := New(cal, WithProvider(ProviderTelecom)).Decide(Facts{Category: "spam_sms", Channel: "sms", ReceivedAt: sh(2026, 9, 16, 9, 0)})
	if err != nil || !d.Resolution.DueAt.Equal(endOf(2026, 10, 8)) || d.Resolution.RuleID != "cn/T3" {
		t.Errorf("rolled over: %+v %v", d.Resolution, err)
	}
	if !ValidProviderType(ProviderTelecom) || ValidProviderType("isp") {
		t.Error("ValidProviderType")
	}
}

// A CSL citation written under either numbering reads as the law in force
// on the day; other citations are left alone.
func TestCitationInForce(t *testing.T) {
	before, after := calendar.NewDate(2025, 12, 31), calendar.NewDate(2026, 1, 1)
	for _, c := range []struct {
		text string
		d    calendar.Date
		want string
	}{
		{"CSL 2016 Art. 21(3)", after, "CSL 2026 Art. 23(3)"},
		{"CSL 2026 Art. 23(3)", before, "CSL 2016 Art. 21(3)"},
		{"CSL 2016 Art. 21(3)", before, "CSL 2016 Art. 21(3)"},
		{"CSL 2016 Art. 49", after, "CSL 2026 Art. 51"},
		{"CSL 2026 Art. 49", before, "CSL 2016 Art. 47"},
		{"PIPL 2021 Art. 47", after, "PIPL 2021 Art. 47"},
	} {
		if got := CitationInForce(c.text, c.d); got != c.want {
			t.Errorf("CitationInForce(%q, %s) = %q, want %q", c.text, c.d, got, c.want)
		}
	}
}
