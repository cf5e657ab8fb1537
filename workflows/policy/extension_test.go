package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/workflows/calendar"
)

func piRequest(at time.Time, extended bool) Facts {
	return Facts{Pack: "cn", Kind: "complaint", Category: "personal_information_leak", Channel: "api", ReceivedAt: at, Extended: extended}
}

// The cn pack allows no extension of a PI request: A1's 15 working days
// are the promise's upper bound, so the extended deadline is the same one.
func TestCNPersonalInformationDeadlineHasNoExtension(t *testing.T) {
	e := engine(t)
	at := sh(2025, 9, 26, 10, 0)
	base, err := e.Decide(piRequest(at, false))
	if err != nil {
		t.Fatal(err)
	}
	ext, err := e.Decide(piRequest(at, true))
	if err != nil {
		t.Fatal(err)
	}
	if base.Resolution.RuleID != "cn/A1" || !ext.Resolution.DueAt.Equal(base.Resolution.DueAt) || ext.Resolution.RuleID != "cn/A1" {
		t.Fatalf("base %s %v, extended %s %v", base.Resolution.RuleID, base.Resolution.DueAt, ext.Resolution.RuleID, ext.Resolution.DueAt)
	}
	for _, r := range e.Rules("cn") {
		if r.Extension.Amount != 0 {
			t.Errorf("cn rule %s allows an extension: no cn source grants one", r.ID)
		}
	}
}

// A test rule (not law) stricter than A1 with an extension of 5 working
// days: counted on after the period's last day across the 2025 National Day
// holiday and its make-up Saturday; a longer extension is capped by A1,
// which then sets (and is recorded for) the extended deadline.
func TestExtensionCountsOnAndStrictestStillWins(t *testing.T) {
	cal, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	rule := func(id string, n, more int) Rule {
		return Rule{ID: id, Deadline: KindResolution, Citations: cite("test policy, not law"), Unit: WorkingDays, Amount: n,
			Enabled: true, Confidence: "unverified", Match: Match{Categories: piCategories},
			Extension: Extension{Unit: WorkingDays, Amount: more}}
	}
	at := sh(2025, 9, 26, 10, 0) // a Friday; Sep 28 (Sun) is a make-up working day, Oct 1-8 off, Oct 11 (Sat) worked
	e := New(cal, WithRules("cn", rule("test/X5", 5, 5)))
	base, err := e.Decide(piRequest(at, false))
	if err != nil {
		t.Fatal(err)
	}
	ext, err := e.Decide(piRequest(at, true))
	if err != nil {
		t.Fatal(err)
	}
	if base.Resolution.RuleID != "test/X5" || !base.Resolution.DueAt.Equal(endOf(2025, 10, 10)) {
		t.Fatalf("base %s %v, want test/X5 end of Oct 10", base.Resolution.RuleID, base.Resolution.DueAt)
	}
	if ext.Resolution.RuleID != "test/X5" || !ext.Resolution.DueAt.Equal(endOf(2025, 10, 16)) {
		t.Fatalf("extended %s %v, want test/X5 end of Oct 16 (Oct 11 make-up day counted)", ext.Resolution.RuleID, ext.Resolution.DueAt)
	}

	capped := New(cal, WithRules("cn", rule("test/X10", 10, 10)))
	ext, err = capped.Decide(piRequest(at, true))
	if err != nil {
		t.Fatal(err)
	}
	if ext.Resolution.RuleID != "cn/A1" || !ext.Resolution.DueAt.Equal(endOf(2025, 10, 23)) {
		t.Fatalf("capped extension %s %v, want cn/A1 end of Oct 23", ext.Resolution.RuleID, ext.Resolution.DueAt)
	}
	if _, ok := New(cal).Rule("test/X5"); ok {
		t.Fatal("a test rule leaked into another engine")
	}
}

// A rule whose wording was not verified may be switched off by
// configuration and then decides nothing; a verified one, or an unknown id,
// is refused.
func TestSwitchOffOnlyUnverifiedRules(t *testing.T) {
	if _, err := SwitchOff("cn/A1"); err == nil || !strings.Contains(err.Error(), "verified law") {
		t.Fatalf("switching off a verified rule: %v", err)
	}
	if _, err := SwitchOff("cn/Z9"); err == nil {
		t.Fatal("an unknown rule was accepted")
	}
	off, err := SwitchOff(" cn/G1", "")
	if err != nil {
		t.Fatal(err)
	}
	e := New(nil, off)
	if r, _ := e.Rule("cn/G1"); r.Enabled || !r.SwitchedOff {
		t.Fatalf("G1 after switching off: %+v", r)
	}
	d, err := e.Decide(piRequest(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), false))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(d.Considered, "cn/G1") {
		t.Fatalf("a switched-off rule was considered: %v", d.Considered)
	}
}
