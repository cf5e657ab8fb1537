package reports

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// slaColumns of the statistics. Definitions (also in the README of an
// inspection package):
//   - a deadline met at or before its due time is on time; met after it,
//     breached, or still open past it at the "as of" instant is late; open
//     and not yet due (or paused) is pending. Rates = on time / (on time + late).
//   - merged cases (folded into another) are left out; rejected cases count
//     for acknowledgement only (a rejection answers the case).
//   - handling time = working days from receipt to the resolution being met
//     (the day of receipt not counted), on the case's policy calendar;
//     median of an even count is the mean of the two middle values; p90 is
//     the nearest-rank 90th percentile.
var slaColumns = []string{
	"group_by", "group", "cases",
	"ack_on_time", "ack_late", "ack_pending", "ack_on_time_rate",
	"resolution_on_time", "resolution_late", "resolution_pending", "resolution_on_time_rate",
	"resolved", "median_working_days", "p90_working_days",
}

const slaQuery = `
SELECT c.category, c.channel, c.policy_pack, c.state, c.received_at,
       a.due_at, coalesce(a.status, ''), a.met_at,
       r.due_at, coalesce(r.status, ''), r.met_at, coalesce(r.rule_id, '')
FROM cases c
LEFT JOIN deadlines a ON a.case_id = c.id AND a.kind = 'acknowledgement'
LEFT JOIN deadlines r ON r.case_id = c.id AND r.kind = 'resolution'
WHERE c.received_at >= $1 AND c.received_at < $2 AND c.state <> 'merged'`

// outcome of one deadline.
type outcome int

const (
	none outcome = iota
	onTime
	late
	pending
)

func deadlineOutcome(due sql.NullTime, status string, met sql.NullTime, asOf time.Time) outcome {
	switch {
	case !due.Valid:
		return none
	case met.Valid:
		if met.Time.After(due.Time) {
			return late
		}
		return onTime
	case status == "breached":
		return late
	case status == "open" && due.Time.Before(asOf):
		return late
	default:
		return pending
	}
}

// slaGroup accumulates one group; handling times are kept as a histogram of
// whole working days, so memory does not grow with the number of cases.
type slaGroup struct {
	cases    int
	ack, res [4]int // indexed by outcome
	handling map[int]int
	resolved int
}

func (g *slaGroup) add(ack, res outcome, handlingDays int, resolved bool) {
	g.cases++
	g.ack[ack]++
	g.res[res]++
	if resolved {
		g.resolved++
		if g.handling == nil {
			g.handling = map[int]int{}
		}
		g.handling[handlingDays]++
	}
}

// quantiles returns the median and the nearest-rank 90th percentile.
func (g *slaGroup) quantiles() (median float64, p90 int, ok bool) {
	n := g.resolved
	if n == 0 {
		return 0, 0, false
	}
	days := make([]int, 0, len(g.handling))
	for d := range g.handling {
		days = append(days, d)
	}
	slices.Sort(days)
	// nth returns the k-th smallest value (1-based).
	nth := func(k int) int {
		seen := 0
		for _, d := range days {
			seen += g.handling[d]
			if seen >= k {
				return d
			}
		}
		return days[len(days)-1]
	}
	if n%2 == 1 {
		median = float64(nth(n/2 + 1))
	} else {
		median = float64(nth(n/2)+nth(n/2+1)) / 2
	}
	return median, nth(int(math.Ceil(0.9 * float64(n)))), true
}

func rate(on, lt int) string {
	if on+lt == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(on)/float64(on+lt), 'f', 4, 64)
}

func (e *Exporter) slaStatistics(ctx context.Context, req Request, sink Sink) error {
	by := req.GroupBy
	if by == "" {
		by = ByCategory
	}
	switch by {
	case ByCategory, ByChannel, ByRule, ByMonth:
	default:
		return fmt.Errorf("unknown grouping %q", by)
	}
	asOf := e.now()
	wd := newWorkdays(e.Calendars)
	groups := map[string]*slaGroup{}
	total := &slaGroup{}
	rows, done, err := e.query(ctx, slaQuery, req.From, req.To)
	if err != nil {
		return fmt.Errorf("sla statistics: %w", err)
	}
	defer done()
	var (
		category, channel, pack, state, ackStatus, resStatus, rule string
		received                                                   time.Time
		ackDue, ackMet, resDue, resMet                             sql.NullTime
	)
	for n := 0; rows.Next(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := rows.Scan(&category, &channel, &pack, &state, &received,
			&ackDue, &ackStatus, &ackMet, &resDue, &resStatus, &resMet, &rule); err != nil {
			return fmt.Errorf("sla statistics: %w", err)
		}
		ack := deadlineOutcome(ackDue, ackStatus, ackMet, asOf)
		res := none
		if state != "rejected" {
			res = deadlineOutcome(resDue, resStatus, resMet, asOf)
		}
		resolved := res != none && resMet.Valid
		days := 0
		if resolved {
			days = wd.Between(pack, received, resMet.Time)
		}
		var key string
		switch by {
		case ByCategory:
			key = category
		case ByChannel:
			key = channel
		case ByRule:
			key = rule
		case ByMonth:
			_, loc := packZone(pack)
			key = received.In(loc).Format("2006-01")
		}
		g := groups[key]
		if g == nil {
			g = &slaGroup{}
			groups[key] = g
		}
		g.add(ack, res, days, resolved)
		total.add(ack, res, days, resolved)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sla statistics: %w", err)
	}
	if err := sink.Row(slaColumns); err != nil {
		return err
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := sink.Row(slaRow(by, k, groups[k])); err != nil {
			return err
		}
	}
	return sink.Row(slaRow(by, "total", total))
}

func slaRow(by, key string, g *slaGroup) []string {
	med, p90, ok := g.quantiles()
	medS, p90S := "", ""
	if ok {
		medS, p90S = strconv.FormatFloat(med, 'f', -1, 64), strconv.Itoa(p90)
	}
	return []string{
		by, key, strconv.Itoa(g.cases),
		strconv.Itoa(g.ack[onTime]), strconv.Itoa(g.ack[late]), strconv.Itoa(g.ack[pending]), rate(g.ack[onTime], g.ack[late]),
		strconv.Itoa(g.res[onTime]), strconv.Itoa(g.res[late]), strconv.Itoa(g.res[pending]), rate(g.res[onTime], g.res[late]),
		strconv.Itoa(g.resolved), medS, p90S,
	}
}
