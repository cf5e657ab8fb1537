package calendar

import (
	"testing"
	"time"
)

// Published dates (Hong Kong Observatory / Purple Mountain Observatory
// almanac) of the lunar and solar-term holidays, 2025–2030.
var publishedLunarHolidays = []struct {
	year                                         int
	newYearsEve, qingming, dragonBoat, midAutumn string
}{
	{2025, "2025-01-28", "2025-04-04", "2025-05-31", "2025-10-06"},
	{2026, "2026-02-16", "2026-04-05", "2026-06-19", "2026-09-25"},
	{2027, "2027-02-05", "2027-04-05", "2027-06-09", "2027-09-15"},
	{2028, "2028-01-25", "2028-04-04", "2028-05-28", "2028-10-03"},
	{2029, "2029-02-12", "2029-04-04", "2029-06-16", "2029-09-22"},
	{2030, "2030-02-02", "2030-04-05", "2030-06-05", "2030-09-12"},
}

func TestStatutoryHolidaysAgainstPublishedDates(t *testing.T) {
	for _, c := range publishedLunarHolidays {
		eve, _ := ParseDate(c.newYearsEve)
		want := map[string][2]string{
			"New Year's Day":       {date(c.year, 1, 1), date(c.year, 1, 1)},
			"Spring Festival":      {c.newYearsEve, eve.AddDays(3).String()},
			"Qingming Festival":    {c.qingming, c.qingming},
			"Labour Day":           {date(c.year, 5, 1), date(c.year, 5, 2)},
			"Dragon Boat Festival": {c.dragonBoat, c.dragonBoat},
			"Mid-Autumn Festival":  {c.midAutumn, c.midAutumn},
			"National Day":         {date(c.year, 10, 1), date(c.year, 10, 3)},
		}
		got := StatutoryHolidays(c.year)
		if len(got) != len(want) {
			t.Fatalf("%d: %d holidays, want %d", c.year, len(got), len(want))
		}
		total := 0
		for _, h := range got {
			w, ok := want[h.Name]
			if !ok || h.From != w[0] || h.To != w[1] {
				t.Errorf("%d %s: %s..%s, want %s..%s", c.year, h.Name, h.From, h.To, w[0], w[1])
			}
			total += h.DaysOff
		}
		if total != 13 { // the Regulation's 13 days a year
			t.Errorf("%d: %d statutory days, want 13", c.year, total)
		}
	}
}

// Every statutory day is a day off in the State Council's own calendars.
func TestStatutoryHolidaysAreRestDaysInOfficialCalendars(t *testing.T) {
	set, err := LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range set.Years("cn") {
		for _, h := range StatutoryHolidays(y) {
			from, _ := ParseDate(h.From)
			for i := 0; i < h.DaysOff; i++ {
				d := from.AddDays(i)
				if working, known := set.IsWorkingDay("cn", d); working || !known {
					t.Errorf("%s (%s) working=%v known=%v in the official %d calendar", d, h.Name, working, known, y)
				}
			}
		}
	}
}

// A year without a notice: statutory days are rest days, still unknown
// (provisional); other weekdays work and weekends rest as before.
func TestYearWithoutNoticeRestsOnStatutoryDays(t *testing.T) {
	set, err := LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Calendar("cn", 2027); ok {
		t.Fatal("this test needs 2027 without a loaded calendar")
	}
	cases := []struct {
		d       Date
		working bool
	}{
		{NewDate(2027, time.January, 1), false},  // Friday, New Year's Day
		{NewDate(2027, time.January, 4), true},   // Monday
		{NewDate(2027, time.February, 5), false}, // Friday, lunar New Year's Eve
		{NewDate(2027, time.February, 8), false}, // Monday, third day of the first month
		{NewDate(2027, time.February, 9), true},  // Tuesday
		{NewDate(2027, time.April, 5), false},    // Monday, Qingming
		{NewDate(2027, time.June, 9), false},     // Wednesday, Dragon Boat
		{NewDate(2027, time.September, 15), false},
		{NewDate(2027, time.October, 1), false},
		{NewDate(2027, time.October, 4), true},  // Monday after National Day
		{NewDate(2027, time.October, 9), false}, // Saturday
	}
	for _, c := range cases {
		working, known := set.IsWorkingDay("cn", c.d)
		if working != c.working || known {
			t.Errorf("%s (%s): working=%v known=%v, want working=%v known=false", c.d, c.d.Weekday(), working, known, c.working)
		}
	}
	// Other jurisdictions have no such regulation: weekends only.
	if working, _ := set.IsWorkingDay("xx", NewDate(2027, time.January, 1)); !working {
		t.Error("a jurisdiction without a statutory rule rested on 1 January")
	}
}

func date(y, m, d int) string { return NewDate(y, time.Month(m), d).String() }
