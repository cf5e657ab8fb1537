package reports

import (
	"time"

	"github.com/redress/redress/workflows/calendar"
)

// workdays counts working days between two instants on a jurisdiction's
// official calendar, the way the policy engine counts periods.
type workdays struct {
	cal  *calendar.Set
	memo map[string]map[calendar.Date]bool // jurisdiction → day → working
}

func newWorkdays(cal *calendar.Set) *workdays {
	return &workdays{cal: cal, memo: map[string]map[calendar.Date]bool{}}
}

// Jurisdiction and zone of a policy pack. Only the cn pack exists today; an
// unknown pack counts on its own id's calendar (weekends-only if none).
func packZone(pack string) (string, *time.Location) {
	if pack == "" || pack == "cn" {
		return "cn", calendar.Shanghai()
	}
	return pack, time.UTC
}

func (w *workdays) working(jur string, d calendar.Date) bool {
	m := w.memo[jur]
	if m == nil {
		m = map[calendar.Date]bool{}
		w.memo[jur] = m
	}
	v, ok := m[d]
	if !ok {
		v, _ = w.cal.IsWorkingDay(jur, d)
		m[d] = v
	}
	return v
}

// Between is the handling time in working days: the working days in
// (day of from, day of until], days taken in the pack's zone. Like the Civil
// Code's counting, the day of receipt is not counted, so a case received and
// answered on the same day took 0 working days and one answered on the next
// working day took 1.
func (w *workdays) Between(pack string, from, until time.Time) int {
	jur, loc := packZone(pack)
	a, b := calendar.DateOf(from, loc), calendar.DateOf(until, loc)
	n := 0
	for d := a.AddDays(1); !d.After(b); d = d.AddDays(1) {
		if w.working(jur, d) {
			n++
		}
	}
	return n
}
