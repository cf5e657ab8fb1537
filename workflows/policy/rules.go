package policy

import (
	"slices"

	"github.com/redress/redress/workflows/calendar"
)

// Unit is how a rule's Amount is counted.
type Unit string

const (
	Hours          Unit = "hours"           // exact elapsed time from receipt
	CalendarDays   Unit = "calendar_days"   // 日: end of receipt day + n, then the rest-day rule
	WorkingDays    Unit = "working_days"    // 工作日: end of the n-th working day after the receipt day
	CalendarMonths Unit = "calendar_months" // same day-of-month n months later (clamped), then the rest-day rule
	GivenInstant   Unit = "given_instant"   // the instant named in the facts (a regulator's due date)
)

// Deadline kinds.
const (
	KindAcknowledgement = "acknowledgement"
	KindResolution      = "resolution"
)

// Citation is the provision a rule rests on, valid for cases received on or
// after From (a date in the pack's zone; zero = always).
type Citation struct {
	From calendar.Date
	Text string
}

// Match says which cases a rule applies to. Each non-empty list must contain
// the case's value; empty lists match everything.
type Match struct {
	Kinds           []string
	Categories      []string
	Channels        []string
	ReferringBodies []string
	RegulatorDueAt  bool // only when the facts carry a regulator's due date
	// ProviderTypes switches the rule on only for operators of these types
	// (the operator profile, WithProvider); empty: every operator.
	ProviderTypes []string
}

// Provider types of the operator profile (who runs Redress), which decide
// which sector rules apply.
const (
	ProviderTelecom      = "telecom_operator"             // 电信业务经营者
	ProviderInternetInfo = "internet_information_service" // 互联网信息服务提供者
	ProviderAppOperator  = "app_operator"                 // App 运营者 (neither of the above)
	DefaultProviderType  = ProviderAppOperator
)

// ValidProviderType tells whether t is a provider type.
func ValidProviderType(t string) bool {
	return t == ProviderTelecom || t == ProviderInternetInfo || t == ProviderAppOperator
}

// Rule is one row of a policy pack.
type Rule struct {
	ID         string // "cn/A1"
	Pack       string
	Deadline   string     // KindAcknowledgement | KindResolution
	Citations  []Citation // ascending From; the last one in force at receipt applies
	Unit       Unit
	Amount     int
	Pausable   bool // the clock may pause while awaiting the complainant
	Enabled    bool
	Confidence string // "text" | "secondary" | "unverified" (OBLIGATIONS.md)
	Match      Match
	Note       string
	// SwitchedOff: the operator's configuration switched this unverified
	// rule off (SwitchOff).
	SwitchedOff bool
	// Extension is how much longer the period may be made, once, with
	// reason and notice to the requester (e.g. GDPR Art. 12(3): two further
	// months). Zero Amount: the rule allows no extension.
	Extension Extension
}

// Extension is a rule's extension allowance, counted on from the end of the
// rule's period.
type Extension struct {
	Unit   Unit // Hours, CalendarDays, WorkingDays or CalendarMonths
	Amount int
}

// CitationOn is the citation in force for a case received on date d.
func (r Rule) CitationOn(d calendar.Date) string {
	text := ""
	for _, c := range r.Citations {
		if c.From == (calendar.Date{}) || !d.Before(c.From) {
			text = c.Text
		}
	}
	return text
}

func (r Rule) matches(f Facts) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(r.Match.Kinds, f.Kind) && in(r.Match.Categories, f.Category) && in(r.Match.Channels, f.Channel) &&
		in(r.Match.ReferringBodies, f.ReferringBody) && (!r.Match.RegulatorDueAt || f.RegulatorDueAt != nil)
}

func (r Rule) clone() Rule {
	r.Citations = slices.Clone(r.Citations)
	r.Match.Kinds = slices.Clone(r.Match.Kinds)
	r.Match.Categories = slices.Clone(r.Match.Categories)
	r.Match.Channels = slices.Clone(r.Match.Channels)
	r.Match.ProviderTypes = slices.Clone(r.Match.ProviderTypes)
	r.Match.ReferringBodies = slices.Clone(r.Match.ReferringBodies)
	return r
}

// cslRenumbered is the day the amended Cybersecurity Law (2025-10-28) took
// effect with new article numbers; every CSL citation switches on it.
var cslRenumbered = calendar.Date{Year: 2026, Month: 1, Day: 1}

func csl(old, renumbered string) []Citation {
	return []Citation{{Text: "CSL 2016 " + old}, {From: cslRenumbered, Text: "CSL 2026 " + renumbered}}
}

func cite(text string) []Citation { return []Citation{{Text: text}} }

// LogRetentionCitation names the duty to keep network logs for at least six
// months (CSL 2016 Art. 21(3), Art. 23(3) of the law as amended in force from
// 2026-01-01) as in force on day d, in English and Chinese.
func LogRetentionCitation(d calendar.Date) (en, zh string) {
	en = "CSL 2026 Art. 23(3)"
	if d.Before(cslRenumbered) {
		en = "CSL 2016 Art. 21(3)"
	}
	return en, CitationIn(en, "zh")
}

// cslArticles pairs the CSL articles a citation names that the amended law
// renumbered (2016 numbering, 2026 numbering).
var cslArticles = [][2]string{{"Art. 21(3)", "Art. 23(3)"}, {"Art. 47", "Art. 49"}, {"Art. 48 ¶2", "Art. 50"}, {"Art. 49", "Art. 51"}}

// CitationInForce rewrites a CSL citation written under either numbering
// (an administrator's connector mapping says "CSL 2016 Art. 21(3)") to the
// one in force on day d; any other text comes back as given.
func CitationInForce(text string, d calendar.Date) string {
	for _, a := range cslArticles {
		if text == "CSL 2016 "+a[0] || text == "CSL 2026 "+a[1] {
			if d.Before(cslRenumbered) {
				return "CSL 2016 " + a[0]
			}
			return "CSL 2026 " + a[1]
		}
	}
	return text
}

// PIPL cites the Personal Information Protection Law (2021, not amended
// since) by version and article, like the CSL citations.
func PIPL(article string) string { return "PIPL 2021 Art. " + article }

// RegulatorReferralCitation is the basis of a regulator's own due date on a
// referred complaint (cn/P6; the regulator inquiry it opens cites it too).
var RegulatorReferralCitation = PIPL("65") + " (regulator referral due date)"

// piCategories are the personal-information complaint categories (A1).
var piCategories = []string{
	"personal_information_leak", "identity_misuse", "account_security", "spam_sms", "harassing_call", "junk_email",
}

// cnRules is the cn pack. Order matters: on equal deadlines the rule listed
// first wins and is recorded.
var cnRules = []Rule{
	{
		ID: "cn/C1", Deadline: KindAcknowledgement, Citations: csl("Art. 49", "Art. 51"),
		Unit: Hours, Amount: 24, Enabled: true, Confidence: "text",
		Note: `"promptly" (及时); 24 h is the product default, never later than the resolution deadline`,
	},
	{
		ID: "cn/A1", Deadline: KindResolution, Citations: cite("App PI Violation Identification Method (2019) §6"),
		Unit: WorkingDays, Amount: 15, Pausable: true, Enabled: true, Confidence: "text",
		Match: Match{Categories: piCategories},
	},
	{
		// Telecom operators and internet information service providers answer
		// personal-information complaints within 15 days of receipt (自接到投诉之日起
		// 十五日内答复投诉人), a rest day at the end rolling over (Civil Code Art.
		// 203): stricter than A1's 15 working days, so it wins where it applies.
		// It applies by the operator profile (WithProvider); an app operator
		// that is neither is under A1 alone (OBLIGATIONS.md).
		ID: "cn/T3", Deadline: KindResolution, Citations: cite("MIIT Order 24 (2013) Art. 12, 14"),
		Unit: CalendarDays, Amount: 15, Pausable: true, Enabled: true, Confidence: "secondary",
		Match: Match{Categories: piCategories, ProviderTypes: []string{ProviderTelecom, ProviderInternetInfo}},
	},
	{
		ID: "cn/T1", Deadline: KindResolution, Citations: cite("MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14"),
		Unit: CalendarDays, Amount: 15, Pausable: true, Enabled: true, Confidence: "text",
		Match: Match{Categories: []string{"service_quality"}},
	},
	{
		// The instrument is named; the article is not: OBLIGATIONS.md gives
		// none and none is invented here.
		ID: "cn/T4", Deadline: KindResolution, Citations: cite("MIIT SMS Service Rules (Order 31, 2015)"),
		Unit: WorkingDays, Amount: 15, Enabled: true, Confidence: "secondary",
		Match: Match{Channels: []string{"regulator_referral"}, ReferringBodies: []string{"12321"}},
		Note:  "12321 referrals; article not identified (secondary source)",
	},
	{
		ID: "cn/T5", Deadline: KindResolution, Citations: cite("Internet Society of China (ISC) complaint platform rule"),
		Unit: WorkingDays, Amount: 10, Enabled: true, Confidence: "secondary",
		Match: Match{Channels: []string{"regulator_referral"}, ReferringBodies: []string{"isc"}},
		Note:  "ISC referrals; article not identified (secondary source)",
	},
	{
		ID: "cn/C2", Deadline: KindResolution, Citations: csl("Art. 47", "Art. 49"),
		Unit: Hours, Amount: 2, Enabled: true, Confidence: "text",
		Match: Match{Categories: []string{"prohibited_information"}},
		Note:  "immediately (立即); 2 h is the product default for takedown",
	},
	{
		ID: "cn/C3", Deadline: KindResolution, Citations: csl("Art. 48 ¶2", "Art. 50"),
		Unit: Hours, Amount: 2, Enabled: true, Confidence: "text",
		Match: Match{Categories: []string{"malicious_program"}},
		Note:  "immediately (立即); 2 h is the product default",
	},
	{
		ID: "cn/P6", Deadline: KindResolution, Citations: cite(RegulatorReferralCitation),
		Unit: GivenInstant, Enabled: true, Confidence: "text",
		Match: Match{RegulatorDueAt: true},
	},
	{
		ID: "cn/G1", Deadline: KindResolution, Citations: cite("GB/T 35273-2020 §8.7"),
		Unit: CalendarDays, Amount: 30, Pausable: true, Enabled: true, Confidence: "unverified",
		Note: "fallback for everything (voluntary standard)",
	},
}
