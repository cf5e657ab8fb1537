package e2e

import (
	"testing"
	"time"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
)

// A complaint received the Thursday before Spring Festival 2026 gets its
// 15 working days from the official calendar: Feb 14 (Sat) and Feb 28 (Sat)
// are make-up working days, Feb 15–23 are off. Counting from Feb 13 (the
// receipt day is not counted): Feb 13, 14, 24, 25, 26, 27, 28, Mar 2, 3, 4, 5,
// 6, 9, 10, 11 → the period ends at 24:00 on Wed 11 March, Asia/Shanghai.
func TestSubmittedDeadlineFollowsTheCNCalendar(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	received := time.Date(2026, 2, 12, 10, 0, 0, 0, shanghai)
	h := newHarness(t, options{noWorker: true, now: func() time.Time { return received }})
	req := submission("calendar-0001")
	req.Category = intakev1.Category_CATEGORY_PERSONAL_INFORMATION_LEAK
	resp, err := h.api.SubmitComplaint(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res := resp.GetCase().GetResolution()
	want := time.Date(2026, 3, 12, 0, 0, 0, 0, shanghai)
	if !res.GetDueAt().AsTime().Equal(want) {
		t.Fatalf("resolution due %v, want %v (24:00 on 11 March)", res.GetDueAt().AsTime().In(shanghai), want)
	}
	if res.GetRuleId() != "cn/A1" || res.GetCitation() == "" || res.GetProvisional() {
		t.Fatalf("rule %q citation %q provisional %v", res.GetRuleId(), res.GetCitation(), res.GetProvisional())
	}
	ack := resp.GetCase().GetAcknowledgement()
	if !ack.GetDueAt().AsTime().Equal(received.Add(24*time.Hour)) || ack.GetCitation() != "CSL 2026 Art. 51" {
		t.Fatalf("acknowledgement %v %q", ack.GetDueAt().AsTime(), ack.GetCitation())
	}
}
