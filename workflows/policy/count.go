package policy

import (
	"fmt"

	"github.com/redress/redress/workflows/calendar"
)

// maxScan bounds any walk over days (about 27 years), so a malformed calendar
// cannot loop forever.
const maxScan = 10000

// counter walks days of one jurisdiction's calendar and remembers whether it
// touched a year with no calendar loaded (weekends-only fallback).
type counter struct {
	cal          *calendar.Set
	jurisdiction string
	unknown      bool
}

func (c *counter) working(d calendar.Date) bool {
	w, known := c.cal.IsWorkingDay(c.jurisdiction, d)
	if !known {
		c.unknown = true
	}
	return w
}

// addWorkingDays is the n-th working day after day (day itself not counted).
func (c *counter) addWorkingDays(day calendar.Date, n int) (calendar.Date, error) {
	d := day
	for i, count := 0, 0; count < n; i++ {
		if i > maxScan {
			return calendar.Date{}, fmt.Errorf("no %d working days found after %s", n, day)
		}
		d = d.AddDays(1)
		if c.working(d) {
			count++
		}
	}
	return d, nil
}

// firstWorkingFrom is day when it is a working day, else the first working
// day after it (Civil Code Art. 203: a period ending on a rest day runs to the
// end of the next working day).
func (c *counter) firstWorkingFrom(day calendar.Date) (calendar.Date, error) {
	d := day
	for i := 0; !c.working(d); i++ {
		if i > maxScan {
			return calendar.Date{}, fmt.Errorf("no working day found from %s", day)
		}
		d = d.AddDays(1)
	}
	return d, nil
}

// workingDaysIn counts working days in (from, until].
func (c *counter) workingDaysIn(from, until calendar.Date) int {
	n := 0
	for d, i := from.AddDays(1), 0; !d.After(until) && i <= maxScan; d, i = d.AddDays(1), i+1 {
		if c.working(d) {
			n++
		}
	}
	return n
}
