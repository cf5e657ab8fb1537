package alerts

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/redress/redress/services/internal/periodic"
	"github.com/redress/redress/workflows/calendar"
)

// CalendarCheck warns the administrators, from 1 October (Beijing time) of
// year Y, that no official holiday calendar of year Y+1 is loaded: deadlines
// running into Y+1 are then counted with the statutory holidays only and
// stay provisional. Once per year: the event key names the year.
type CalendarCheck struct {
	Alerts Raiser
	// Official reports whether the official calendar of a year is loaded.
	Official func(year int) bool
	Now      func() time.Time // nil: time.Now
	Log      *slog.Logger
}

// Jurisdiction whose calendar the check watches.
const calendarJurisdiction = "cn"

// Check raises the warning when it is due.
func (c CalendarCheck) Check(ctx context.Context) error {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	today := now.In(calendar.Shanghai())
	if today.Month() < time.October {
		return nil
	}
	next := today.Year() + 1
	if c.Official(next) {
		return nil
	}
	y := strconv.Itoa(next)
	return c.Alerts.Raise(ctx, Event{Kind: CalendarMissing, Key: "calendar/" + calendarJurisdiction + "/" + y, SubjectType: "calendar",
		SubjectRef: y, Note: "no official holiday calendar for " + y + ": deadlines in " + y + " are provisional until it is loaded",
		Link: "/policies"})
}

// Run checks at start and then every interval until ctx ends; a failed
// check is logged and tried again at the next interval.
func (c CalendarCheck) Run(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, c.Check, func(err error) { c.log().Error("calendar check failed", "err", err) })
}

func (c CalendarCheck) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// OfficialIn reports, for CalendarCheck.Official, whether set holds the
// official calendar of a year.
func OfficialIn(set *calendar.Set) func(year int) bool {
	return func(year int) bool {
		_, ok := set.Calendar(calendarJurisdiction, year)
		return ok
	}
}
