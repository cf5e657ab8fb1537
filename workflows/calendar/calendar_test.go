package calendar

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Each shipped file checked independently against the notice's own totals.
func TestEmbeddedFilesMatchNotices(t *testing.T) {
	want := map[int]struct {
		source   string
		holidays int
		daysOff  int
		makeups  int
	}{
		2025: {"State Council notice of 2024-11-12 (国务院办公厅关于2025年部分节假日安排的通知)", 6, 1 + 8 + 3 + 5 + 3 + 8, 5},
		2026: {"State Council notice of 2025-11-04 (国务院办公厅关于2026年部分节假日安排的通知)", 7, 3 + 9 + 3 + 5 + 3 + 3 + 7, 6},
	}
	for y, w := range want {
		b, err := embedded.ReadFile("data/cn/" + time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var f File
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Jurisdiction != "cn" || f.Year != y || f.Source != w.source {
			t.Errorf("%d: header %q %d %q", y, f.Jurisdiction, f.Year, f.Source)
		}
		if len(f.Holidays) != w.holidays || len(f.MakeupWorkdays) != w.makeups {
			t.Errorf("%d: %d holidays, %d make-up days", y, len(f.Holidays), len(f.MakeupWorkdays))
		}
		off := map[Date]bool{}
		total := 0
		for _, h := range f.Holidays {
			from, to := mustDate(t, h.From), mustDate(t, h.To)
			n := 0
			for d := from; !d.After(to); d = d.AddDays(1) {
				n++
				off[d] = true
				if d.Year != y {
					t.Errorf("%d %s: %s outside the year", y, h.Name, d)
				}
			}
			if n != h.DaysOff {
				t.Errorf("%d %s: %d days in range, days_off %d", y, h.Name, n, h.DaysOff)
			}
			total += h.DaysOff
		}
		if total != w.daysOff {
			t.Errorf("%d: %d days off in total, want %d", y, total, w.daysOff)
		}
		for _, m := range f.MakeupWorkdays {
			d := mustDate(t, m.Date)
			if d.Weekday().String() != m.Weekday {
				t.Errorf("%d: %s is %s, file says %s", y, m.Date, d.Weekday(), m.Weekday)
			}
			if off[d] {
				t.Errorf("%d: make-up day %s inside a holiday", y, m.Date)
			}
			if d.Year != y {
				t.Errorf("%d: make-up day %s outside the year", y, m.Date)
			}
		}
	}
}

func TestIsWorkingDay(t *testing.T) {
	s, err := LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Years("cn"); len(got) != 2 || got[0] != 2025 || got[1] != 2026 {
		t.Fatalf("Years(cn) = %v", got)
	}
	cases := []struct {
		date           string
		working, known bool
	}{
		{"2025-01-01", false, true}, // New Year, Wednesday
		{"2025-01-02", true, true},
		{"2025-01-26", true, true},  // make-up Sunday
		{"2025-01-28", false, true}, // Spring Festival, Tuesday
		{"2025-02-04", false, true}, // last day off
		{"2025-02-05", true, true},
		{"2025-02-08", true, true},  // make-up Saturday
		{"2025-02-09", false, true}, // ordinary Sunday
		{"2025-10-08", false, true},
		{"2025-10-11", true, true},
		{"2026-01-04", true, true},
		{"2026-02-13", true, true},
		{"2026-02-14", true, true},  // make-up Saturday
		{"2026-02-15", false, true}, // holiday Sunday
		{"2026-02-16", false, true}, // holiday Monday
		{"2026-02-23", false, true}, // holiday Monday
		{"2026-02-24", true, true},
		{"2026-02-28", true, true}, // make-up Saturday
		{"2026-03-01", false, true},
		{"2026-09-20", true, true},
		{"2026-09-25", false, true}, // Mid-Autumn, Friday
		{"2026-10-07", false, true},
		{"2026-10-10", true, true},
		{"2026-10-11", false, true},
		{"2027-01-01", false, false}, // Friday, no 2027 calendar: New Year's Day is statutory
		{"2027-01-04", true, false},  // Monday, no 2027 calendar
		{"2027-01-02", false, false},
		{"2024-12-31", true, false},
	}
	for _, c := range cases {
		w, k := s.IsWorkingDay("cn", mustDate(t, c.date))
		if w != c.working || k != c.known {
			t.Errorf("%s: working=%v known=%v, want %v %v", c.date, w, k, c.working, c.known)
		}
	}
	if w, k := s.IsWorkingDay("eu", mustDate(t, "2026-02-16")); !w || k {
		t.Errorf("unknown jurisdiction: %v %v", w, k)
	}
	var nilSet *Set
	if w, k := nilSet.IsWorkingDay("cn", mustDate(t, "2026-02-24")); !w || k {
		t.Errorf("nil set, a Tuesday: %v %v", w, k)
	}
	if w, k := nilSet.IsWorkingDay("cn", mustDate(t, "2026-02-16")); w || k {
		t.Errorf("nil set, lunar New Year's Eve: %v %v", w, k)
	}
}

const good2027 = `{"jurisdiction":"cn","year":2027,"source":"test fixture",
 "holidays":[{"name":"New Year's Day","name_zh":"元旦","from":"2027-01-01","to":"2027-01-03","days_off":3}],
 "makeup_workdays":[{"date":"2027-01-09","weekday":"Saturday","for":"New Year's Day"}]}`

func TestAddAndLoadFile(t *testing.T) {
	s, err := LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "2027.json")
	if err := os.WriteFile(p, []byte(good2027), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	if got := s.Years("cn"); len(got) != 3 || got[2] != 2027 {
		t.Fatalf("Years = %v", got)
	}
	if w, k := s.IsWorkingDay("cn", mustDate(t, "2027-01-01")); w || !k {
		t.Errorf("2027-01-01: %v %v", w, k)
	}
	if w, k := s.IsWorkingDay("cn", mustDate(t, "2027-01-09")); !w || !k {
		t.Errorf("2027-01-09: %v %v", w, k)
	}
	if f, ok := s.Calendar("cn", 2027); !ok || f.Source != "test fixture" {
		t.Errorf("Calendar = %+v %v", f, ok)
	}
	if err := s.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestAddRejectsBadFiles(t *testing.T) {
	bad := []struct {
		name, json, want string
	}{
		{"not json", `{`, "invalid calendar JSON"},
		{"trailing", good2027 + `{}`, "trailing data"},
		{"unknown field", `{"jurisdiction":"cn","year":2027,"source":"x","holiday":[]}`, "unknown field"},
		{"no jurisdiction", `{"year":2027,"source":"x"}`, "jurisdiction"},
		{"year", `{"jurisdiction":"cn","year":27,"source":"x"}`, "year 27"},
		{"no source", `{"jurisdiction":"cn","year":2027}`, "source"},
		{"days_off", strings.Replace(good2027, `"days_off":3`, `"days_off":2`, 1), "is 3 days but days_off says 2"},
		{"reversed", strings.Replace(good2027, `"to":"2027-01-03"`, `"to":"2026-12-31"`, 1), "outside year 2027"},
		{"to before from", strings.Replace(good2027, `"from":"2027-01-01"`, `"from":"2027-01-05"`, 1), "before from"},
		{"bad date", strings.Replace(good2027, `"2027-01-09"`, `"2027-1-9"`, 1), "want YYYY-MM-DD"},
		{"impossible date", strings.Replace(good2027, `"2027-01-09"`, `"2027-02-30"`, 1), "want YYYY-MM-DD"},
		{"weekday", strings.Replace(good2027, `"Saturday"`, `"Sunday"`, 1), "is a Saturday, but weekday says"},
		{"weekday makeup", strings.Replace(strings.Replace(good2027, `"2027-01-09"`, `"2027-01-08"`, 1), `"Saturday"`, `"Friday"`, 1), "must fall on a weekend"},
		{"makeup in holiday", strings.Replace(good2027, `"2027-01-09"`, `"2027-01-02"`, 1), "inside a holiday range"}, // 2027-01-02 is a Saturday too
		{"makeup outside year", strings.Replace(good2027, `"2027-01-09"`, `"2026-12-26"`, 1), "outside year"},
		{"for", strings.Replace(good2027, `"for":"New Year's Day"`, `"for":"Spring Festival"`, 1), "names no holiday"},
		{"overlap", `{"jurisdiction":"cn","year":2027,"source":"x","holidays":[
			{"name":"A","from":"2027-01-01","to":"2027-01-03","days_off":3},
			{"name":"B","from":"2027-01-03","to":"2027-01-04","days_off":2}]}`, "overlaps"},
		{"no name", `{"jurisdiction":"cn","year":2027,"source":"x","holidays":[{"from":"2027-01-01","to":"2027-01-01","days_off":1}]}`, "name: required"},
	}
	for _, c := range bad {
		s := NewSet()
		err := s.Add([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
		if len(s.Years("cn")) != 0 {
			t.Errorf("%s: bad file was loaded", c.name)
		}
	}
}

func TestDate(t *testing.T) {
	if got := mustDate(t, "2026-01-31").AddMonths(1); got.String() != "2026-02-28" {
		t.Errorf("Jan 31 + 1 month = %s", got)
	}
	if got := mustDate(t, "2028-01-31").AddMonths(1); got.String() != "2028-02-29" {
		t.Errorf("leap: %s", got)
	}
	if got := mustDate(t, "2026-12-30").AddDays(3); got.String() != "2027-01-02" {
		t.Errorf("AddDays: %s", got)
	}
	if n := mustDate(t, "2026-02-12").DaysUntil(mustDate(t, "2026-03-11")); n != 27 {
		t.Errorf("DaysUntil = %d", n)
	}
	end := mustDate(t, "2026-03-11").End(Shanghai())
	if !end.Equal(time.Date(2026, 3, 11, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("End = %v", end.UTC())
	}
	if Shanghai().String() != "Asia/Shanghai" {
		t.Errorf("zone %s", Shanghai())
	}
	if d := DateOf(time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC), Shanghai()); d.String() != "2026-01-01" {
		t.Errorf("DateOf = %s", d)
	}
}

func FuzzAdd(f *testing.F) {
	for _, p := range []string{"data/cn/2025.json", "data/cn/2026.json"} {
		b, err := embedded.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(good2027))
	f.Add([]byte(`{"jurisdiction":"cn","year":9999,"source":"x","holidays":[{"name":"A","from":"9999-12-31","to":"9999-12-31","days_off":1}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"holidays":[null],"makeup_workdays":[null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewSet()
		if err := s.Add(data); err != nil {
			if len(s.Years("cn")) != 0 {
				t.Fatal("rejected file left data behind")
			}
			return
		}
		for _, j := range []string{"cn", "eu", ""} {
			for _, y := range s.Years(j) {
				f, ok := s.Calendar(j, y)
				if !ok {
					t.Fatalf("year %d listed but not found", y)
				}
				for d := NewDate(y, 1, 1); d.Year == y; d = d.AddDays(1) {
					s.IsWorkingDay(j, d)
				}
				for _, m := range f.MakeupWorkdays {
					if w, k := s.IsWorkingDay(j, mustDate(t, m.Date)); !w || !k {
						t.Fatalf("make-up day %s not a known working day", m.Date)
					}
				}
			}
		}
	})
}
