package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// An independent count of the deadlines under A1, T1, T4 and T5 for every
// receipt day of 2025–2027, against rest days read straight from the State
// Council's notices (2025, 2026) and, for 2027 which has no notice yet, the
// National Holidays Regulation's statutory days as published.
func TestDeadlinesAgainstIndependentCount(t *testing.T) {
	rest := map[string]bool{}   // "2006-01-02" -> a holiday
	makeup := map[string]bool{} // weekend days that are working days
	for _, y := range []int{2025, 2026} {
		b, err := os.ReadFile(fmt.Sprintf("../calendar/data/cn/%d.json", y))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Holidays []struct{ From, To string }
			Makeup   []struct{ Date string } `json:"makeup_workdays"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, h := range f.Holidays {
			from, _ := time.Parse(time.DateOnly, h.From)
			to, _ := time.Parse(time.DateOnly, h.To)
			for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
				rest[d.Format(time.DateOnly)] = true
			}
		}
		for _, m := range f.Makeup {
			makeup[m.Date] = true
		}
	}
	for _, d := range []string{"2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-04-05",
		"2027-05-01", "2027-05-02", "2027-06-09", "2027-09-15", "2027-10-01", "2027-10-02", "2027-10-03"} {
		rest[d] = true
	}
	working := func(d time.Time) bool {
		k := d.Format(time.DateOnly)
		if makeup[k] {
			return true
		}
		return !rest[k] && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
	}
	endOfDay := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, time.UTC) }
	afterWorkingDays := func(day time.Time, n int) time.Time {
		for n > 0 {
			day = day.AddDate(0, 0, 1)
			if working(day) {
				n--
			}
		}
		return endOfDay(day)
	}
	afterCalendarDays := func(day time.Time, n int) time.Time {
		day = day.AddDate(0, 0, n)
		for !working(day) {
			day = day.AddDate(0, 0, 1)
		}
		return endOfDay(day)
	}

	e := engine(t)
	rules := []struct {
		id   string
		want func(day time.Time) time.Time
	}{
		{"cn/A1", func(d time.Time) time.Time { return afterWorkingDays(d, 15) }},
		{"cn/T1", func(d time.Time) time.Time { return afterCalendarDays(d, 15) }},
		{"cn/T4", func(d time.Time) time.Time { return afterWorkingDays(d, 15) }},
		{"cn/T5", func(d time.Time) time.Time { return afterWorkingDays(d, 10) }},
	}
	checked := 0
	for day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() <= 2027; day = day.AddDate(0, 0, 1) {
		received := sh(day.Year(), day.Month(), day.Day(), 10, 0)
		for _, r := range rules {
			p, rule, ok := e.rule(r.id)
			if !ok {
				t.Fatalf("rule %s missing", r.id)
			}
			got, provisional, err := e.compute(p, rule, Facts{ReceivedAt: received})
			if err != nil {
				t.Fatalf("%s %s: %v", r.id, day.Format(time.DateOnly), err)
			}
			want := r.want(day)
			if !got.Equal(want) {
				t.Errorf("%s received %s: due %s, independent count %s", r.id, day.Format(time.DateOnly), got, want)
			}
			if wantProv := want.Year() >= 2027; provisional != wantProv {
				t.Errorf("%s received %s: provisional=%v, want %v", r.id, day.Format(time.DateOnly), provisional, wantProv)
			}
			checked++
		}
	}
	if checked != 4*1095 {
		t.Fatalf("checked %d deadlines", checked)
	}
}
