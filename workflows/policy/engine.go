// Package policy computes complaint deadlines from policy packs (cn now;
// eu-gdpr and us-ccpa fit the same units: hours, calendar days, working days,
// calendar months). Pure and deterministic: the same facts and calendars give
// the same decision.
package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redress/redress/workflows/calendar"
)

// Facts are what a decision depends on.
type Facts struct {
	Pack           string // "cn" (default when empty)
	Kind           string // "complaint" | "report"
	Category       string
	Channel        string
	ReferringBody  string // "12321", "12377", "isc", "miit_appeal_centre", "other", or ""
	ReceivedAt     time.Time
	RegulatorDueAt *time.Time // a due date given by a referring regulator, optional
	// Extended asks for the deadlines as extended once where the rules
	// allow: each rule's period is lengthened by its Extension (a rule
	// without one keeps its period) and the strictest still wins, so a rule
	// that allows no extension caps the result.
	Extended bool
}

// Deadline is one computed deadline.
type Deadline struct {
	Kind        string    // "acknowledgement" | "resolution"
	DueAt       time.Time // the instant the period ends, UTC
	RuleID      string
	Citation    string
	Provisional bool        // a year it touches had no calendar loaded: weekends-only fallback
	Pausable    bool        // the clock may pause while awaiting the complainant
	Reminders   []time.Time // at 50% and 80% of the allowed time
}

// Decision is the policy's answer for one case.
type Decision struct {
	Acknowledgement Deadline
	Resolution      Deadline
	QuietPeriod     time.Duration // after resolution, before automatic close
	Considered      []string      // rule ids that applied
}

// pack is a jurisdiction's policy: its zone, calendar, vocabulary and rules.
type pack struct {
	id           string
	jurisdiction string // calendar jurisdiction
	loc          *time.Location
	quiet        time.Duration
	kinds        []string
	categories   []string
	channels     []string
	bodies       []string
	rules        []Rule
}

func cnPack() *pack {
	p := &pack{
		id: "cn", jurisdiction: "cn", loc: calendar.Shanghai(), quiet: 7 * 24 * time.Hour,
		kinds: []string{"complaint", "report"},
		categories: []string{"spam_sms", "harassing_call", "junk_email", "malicious_program", "prohibited_information",
			"personal_information_leak", "identity_misuse", "account_security", "service_quality", "other"},
		channels: []string{"web_form", "api", "phone", "email", "sms", "regulator_referral", "internal", "counter"},
		bodies:   []string{"", "12321", "12377", "isc", "miit_appeal_centre", "other"},
	}
	for _, r := range cnRules {
		r = r.clone()
		r.Pack = p.id
		p.rules = append(p.rules, r)
	}
	return p
}

// Engine decides deadlines. Safe for concurrent use; calendars added to the
// Set later are seen by later calls.
type Engine struct {
	cal      *calendar.Set
	packs    map[string]*pack
	provider string // the operator profile's provider type
}

// Option changes an engine as it is built.
type Option func(*Engine)

// WithRules adds rules at the end of a pack (an operator's own stricter
// commitments, or a test policy). Rules naming an unknown pack are ignored.
func WithRules(packID string, rules ...Rule) Option {
	return func(e *Engine) {
		p, ok := e.packs[packID]
		if !ok {
			return
		}
		for _, r := range rules {
			r = r.clone()
			r.Pack = p.id
			p.rules = append(p.rules, r)
		}
	}
}

// WithProvider sets the operator profile's provider type (ProviderTelecom,
// ProviderInternetInfo or ProviderAppOperator, the default): rules limited to
// other provider types are off.
func WithProvider(providerType string) Option {
	return func(e *Engine) { e.provider = providerType }
}

// SwitchOff is the option that switches rules off by the operator's
// configuration (REDRESS_POLICY_RULES_OFF). Only a rule whose wording was
// not verified (confidence "secondary" or "unverified") may be: its number
// is a default; a verified duty stays on. Unknown ids are refused too.
func SwitchOff(list ...string) (Option, error) {
	cn := cnPack()
	var ids []string // as configured: spaces around the commas and empty items ignored
	for _, id := range list {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		i := slices.IndexFunc(cn.rules, func(r Rule) bool { return r.ID == id })
		switch {
		case i < 0:
			return nil, fmt.Errorf("unknown rule %q", id)
		case cn.rules[i].Confidence == "text":
			return nil, fmt.Errorf("rule %s rests on verified law (%s) and cannot be switched off", id, cn.rules[i].Citations[len(cn.rules[i].Citations)-1].Text)
		}
	}
	return func(e *Engine) {
		for _, p := range e.packs {
			for i, r := range p.rules {
				if slices.Contains(ids, r.ID) {
					p.rules[i].Enabled, p.rules[i].SwitchedOff = false, true
				}
			}
		}
	}, nil
}

// New returns an engine over the given calendars (nil: weekends-only, all provisional).
func New(cal *calendar.Set, opts ...Option) *Engine {
	cn := cnPack()
	e := &Engine{cal: cal, packs: map[string]*pack{cn.id: cn}, provider: DefaultProviderType}
	for _, o := range opts {
		o(e)
	}
	for _, p := range e.packs {
		for i, r := range p.rules {
			if len(r.Match.ProviderTypes) > 0 && !slices.Contains(r.Match.ProviderTypes, e.provider) {
				p.rules[i].Enabled = false
			}
		}
	}
	return e
}

// Provider answers the operator profile's provider type.
func (e *Engine) Provider() string { return e.provider }

// Shanghai is Asia/Shanghai, the zone of CN deadlines.
func Shanghai() *time.Location { return calendar.Shanghai() }

// Rule returns a rule of any pack by id, e.g. "cn/A1".
func (e *Engine) Rule(id string) (Rule, bool) {
	_, r, ok := e.rule(id)
	if !ok {
		return Rule{}, false
	}
	return r.clone(), true
}

// Rules lists a pack's rules in order, disabled ones included.
func (e *Engine) Rules(packID string) []Rule {
	p, ok := e.packs[packID]
	if !ok {
		return nil
	}
	out := make([]Rule, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.clone()
	}
	return out
}

func (e *Engine) rule(id string) (*pack, Rule, bool) {
	for _, p := range e.packs {
		for _, r := range p.rules {
			if r.ID == id {
				return p, r, true
			}
		}
	}
	return nil, Rule{}, false
}

func (e *Engine) validate(f *Facts) (*pack, error) {
	if f.Pack == "" {
		f.Pack = "cn"
	}
	p, ok := e.packs[f.Pack]
	if !ok {
		return nil, fmt.Errorf("pack: unknown policy pack %q", f.Pack)
	}
	if f.Kind == "" {
		f.Kind = "complaint"
	}
	if !slices.Contains(p.kinds, f.Kind) {
		return nil, fmt.Errorf("kind: unknown case kind %q", f.Kind)
	}
	if !slices.Contains(p.categories, f.Category) {
		return nil, fmt.Errorf("category: unknown category %q", f.Category)
	}
	if !slices.Contains(p.channels, f.Channel) {
		return nil, fmt.Errorf("channel: unknown channel %q", f.Channel)
	}
	if !slices.Contains(p.bodies, f.ReferringBody) {
		return nil, fmt.Errorf("referring_body: unknown referring body %q", f.ReferringBody)
	}
	if f.ReferringBody != "" && f.Channel != "regulator_referral" {
		// T4/T5 bind only through a referral; a body on another channel would
		// silently apply no referral rule.
		return nil, fmt.Errorf("referring_body: %q given but channel is %q, not regulator_referral", f.ReferringBody, f.Channel)
	}
	if f.ReceivedAt.IsZero() {
		return nil, errors.New("received_at: required")
	}
	if f.RegulatorDueAt != nil && f.RegulatorDueAt.IsZero() {
		return nil, errors.New("regulator_due_at: zero time (omit it instead)")
	}
	return p, nil
}

// Decide computes the acknowledgement and resolution deadlines. Of the
// resolution rules that apply, the earliest deadline wins; on a tie a rule
// whose clock cannot pause wins (a pause must never carry the case past a
// deadline that does not pause), then the rule listed first. The
// acknowledgement is never later than the resolution.
func (e *Engine) Decide(f Facts) (Decision, error) {
	p, err := e.validate(&f)
	if err != nil {
		return Decision{}, err
	}
	var (
		dec          Decision
		ack, res     *Deadline
		receivedDate = calendar.DateOf(f.ReceivedAt, p.loc)
	)
	for _, r := range p.rules {
		if !r.Enabled || !r.matches(f) {
			continue
		}
		due, provisional, err := e.compute(p, r, f)
		if err == nil && f.Extended && r.Extension.Amount > 0 {
			var more bool
			due, more, err = e.extend(p, r.Extension, due)
			provisional = provisional || more
		}
		if err != nil {
			return Decision{}, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		dec.Considered = append(dec.Considered, r.ID)
		d := &Deadline{
			Kind: r.Deadline, DueAt: due.UTC(), RuleID: r.ID, Citation: r.CitationOn(receivedDate),
			Provisional: provisional, Pausable: r.Pausable,
		}
		switch r.Deadline {
		case KindAcknowledgement:
			if ack == nil || d.DueAt.Before(ack.DueAt) {
				ack = d
			}
		case KindResolution:
			if res == nil || d.DueAt.Before(res.DueAt) || d.DueAt.Equal(res.DueAt) && res.Pausable && !d.Pausable {
				res = d
			}
		}
	}
	if ack == nil || res == nil {
		return Decision{}, fmt.Errorf("pack: %s has no applicable acknowledgement and resolution rules", p.id)
	}
	if ack.DueAt.After(res.DueAt) {
		ack.DueAt = res.DueAt
		ack.Provisional = ack.Provisional || res.Provisional
	}
	start := f.ReceivedAt.UTC()
	ack.Reminders = reminders(start, ack.DueAt)
	res.Reminders = reminders(start, res.DueAt)
	dec.Acknowledgement, dec.Resolution, dec.QuietPeriod = *ack, *res, p.quiet
	return dec, nil
}

// reminders are at 50% and 80% of the wall-clock time from start to due;
// none when the time is already up.
func reminders(start, due time.Time) []time.Time {
	total := due.Sub(start)
	if total <= 0 {
		return []time.Time{}
	}
	return []time.Time{start.Add(total / 2).UTC(), start.Add(total / 5 * 4).UTC()}
}

// compute is the end of rule r's period for the facts.
func (e *Engine) compute(p *pack, r Rule, f Facts) (time.Time, bool, error) {
	c := counter{cal: e.cal, jurisdiction: p.jurisdiction}
	day := calendar.DateOf(f.ReceivedAt, p.loc) // the receipt day is not counted (Civil Code Art. 201)
	switch r.Unit {
	case Hours:
		return f.ReceivedAt.Add(time.Duration(r.Amount) * time.Hour), false, nil
	case GivenInstant:
		if f.RegulatorDueAt == nil {
			return time.Time{}, false, errors.New("regulator_due_at: required by this rule")
		}
		return *f.RegulatorDueAt, false, nil
	case WorkingDays:
		last, err := c.addWorkingDays(day, r.Amount)
		return last.End(p.loc), c.unknown, err
	case CalendarDays:
		last, err := c.firstWorkingFrom(day.AddDays(r.Amount))
		return last.End(p.loc), c.unknown, err
	case CalendarMonths:
		last, err := c.firstWorkingFrom(day.AddMonths(r.Amount))
		return last.End(p.loc), c.unknown, err
	}
	return time.Time{}, false, fmt.Errorf("unit %q not supported", r.Unit)
}

// extend lengthens a period ending at due by x, counted on from the period's
// last day as its own unit counts (working days after it; calendar days or
// months after it, then the rest-day rule; hours from the instant).
func (e *Engine) extend(p *pack, x Extension, due time.Time) (time.Time, bool, error) {
	c := counter{cal: e.cal, jurisdiction: p.jurisdiction}
	lastDay := calendar.DateOf(due.Add(-time.Nanosecond), p.loc)
	switch x.Unit {
	case Hours:
		return due.Add(time.Duration(x.Amount) * time.Hour), false, nil
	case WorkingDays:
		last, err := c.addWorkingDays(lastDay, x.Amount)
		return last.End(p.loc), c.unknown, err
	case CalendarDays:
		last, err := c.firstWorkingFrom(lastDay.AddDays(x.Amount))
		return last.End(p.loc), c.unknown, err
	case CalendarMonths:
		last, err := c.firstWorkingFrom(lastDay.AddMonths(x.Amount))
		return last.End(p.loc), c.unknown, err
	}
	return time.Time{}, false, fmt.Errorf("extension unit %q not supported", x.Unit)
}

// ExtendForPause moves a pausable deadline by the time the clock was paused:
// hours by the exact paused duration; working days by the working days in
// (pause-start day, pause-end day], counted on after the old last day;
// calendar days (and months) by the calendar days in that span, then the
// rest-day rule. Reminders keep their 50%/80% proportions.
func (e *Engine) ExtendForPause(d Deadline, pausedFrom, pausedUntil time.Time) (Deadline, error) {
	p, r, ok := e.rule(d.RuleID)
	if !ok {
		return Deadline{}, fmt.Errorf("rule_id: unknown rule %q", d.RuleID)
	}
	if !r.Pausable || !d.Pausable {
		return Deadline{}, fmt.Errorf("rule_id: %s deadlines cannot be paused", r.ID)
	}
	if d.DueAt.IsZero() {
		return Deadline{}, errors.New("due_at: required")
	}
	if pausedFrom.IsZero() || pausedUntil.IsZero() {
		return Deadline{}, errors.New("paused_from/paused_until: required")
	}
	if pausedUntil.Before(pausedFrom) {
		return Deadline{}, errors.New("paused_until: before paused_from")
	}
	out := d
	out.Reminders = slices.Clone(d.Reminders)
	c := counter{cal: e.cal, jurisdiction: p.jurisdiction}
	from, until := calendar.DateOf(pausedFrom, p.loc), calendar.DateOf(pausedUntil, p.loc)
	lastDay := calendar.DateOf(d.DueAt.Add(-time.Nanosecond), p.loc)
	switch r.Unit {
	case Hours:
		out.DueAt = d.DueAt.Add(pausedUntil.Sub(pausedFrom))
	case WorkingDays:
		n := c.workingDaysIn(from, until)
		if n > 0 {
			last, err := c.addWorkingDays(lastDay, n)
			if err != nil {
				return Deadline{}, err
			}
			out.DueAt = last.End(p.loc)
		}
	case CalendarDays, CalendarMonths:
		if n := from.DaysUntil(until); n > 0 {
			last, err := c.firstWorkingFrom(lastDay.AddDays(n))
			if err != nil {
				return Deadline{}, err
			}
			out.DueAt = last.End(p.loc)
		}
	default:
		return Deadline{}, fmt.Errorf("rule_id: %s (%s) cannot be paused", r.ID, r.Unit)
	}
	out.DueAt = out.DueAt.UTC()
	out.Provisional = d.Provisional || c.unknown
	if start, ok := receivedFromReminders(d); ok {
		out.Reminders = reminders(start, out.DueAt)
	}
	for i, t := range out.Reminders { // never after the deadline
		if t.After(out.DueAt) {
			out.Reminders[i] = out.DueAt
		}
	}
	return out, nil
}

// receivedFromReminders recovers the receipt instant from the stored 50% and
// 80% reminders (start = 2·r50 − due), if they are consistent.
func receivedFromReminders(d Deadline) (time.Time, bool) {
	if len(d.Reminders) != 2 {
		return time.Time{}, false
	}
	total := 2 * d.DueAt.Sub(d.Reminders[0])
	if total <= 0 {
		return time.Time{}, false
	}
	start := d.DueAt.Add(-total)
	if diff := start.Add(total / 5 * 4).Sub(d.Reminders[1]); diff < -time.Second || diff > time.Second {
		return time.Time{}, false
	}
	return start, true
}
