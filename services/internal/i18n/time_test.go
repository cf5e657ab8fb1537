package i18n

import (
	"testing"
	"time"
)

// A deadline of 17 December ends at 24:00 Beijing time that day (16:00 UTC).
func TestLegalTimeIsEndOfDayInTheOperatorsZone(t *testing.T) {
	endOf17 := time.Date(2026, 12, 17, 16, 0, 0, 0, time.UTC)
	hourly := time.Date(2026, 12, 2, 1, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		l    Lang
		at   time.Time
		want string
	}{
		{EN, endOf17, "2026-12-17 24:00 (Beijing time)"},
		{ZH, endOf17, "2026-12-17 24:00（北京时间）"},
		{EN, hourly, "2026-12-02 09:30 (Beijing time)"},
		{ZH, time.Time{}, ""},
	} {
		if got := LegalTime(c.l, c.at); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.l, c.at, got, c.want)
		}
	}
	// An operator elsewhere sees its own zone, named.
	if err := SetZone("Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SetZone(DefaultZone) })
	if got, want := LegalTime(ZH, endOf17), "2026-12-17 17:00（Europe/Berlin）"; got != want {
		t.Errorf("Berlin: %q, want %q", got, want)
	}
	if err := SetZone("Mars/Olympus"); err == nil || Zone().String() != "Europe/Berlin" {
		t.Errorf("an unknown zone: %v, zone now %s", err, Zone())
	}
}

func TestCountdown(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for due, want := range map[time.Time]string{
		now.Add(76 * time.Hour):               "3d 4h",
		now.Add(5*time.Hour + 12*time.Minute): "5h 12m",
		now.Add(-26 * time.Hour):              "-1d 2h",
	} {
		if got := Countdown(now, due); got != want {
			t.Errorf("%s: %q, want %q", due.Sub(now), got, want)
		}
	}
}

func TestLeft(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		l    Lang
		due  time.Time
		want string
	}{
		{ZH, now.Add(76 * time.Hour), "还剩3天4小时"},
		{EN, now.Add(76 * time.Hour), "3 days 4 hours left"},
		{EN, now.Add(25 * time.Hour), "1 day 1 hour left"},
		{ZH, now.Add(90 * time.Minute), "还剩1小时30分钟"},
		{ZH, now.Add(-time.Hour), "已超时"},
		{EN, now, "overdue"},
	} {
		if got := Left(c.l, now, c.due); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.l, c.due.Sub(now), got, c.want)
		}
	}
}
