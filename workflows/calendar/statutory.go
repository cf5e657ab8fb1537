package calendar

import (
	"sync"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"
)

// The National Holidays Regulation (全国年节及纪念日放假办法, State Council,
// as revised in 2024, in force 2025-01-01, Art. 2) fixes the statutory
// holidays themselves; each year's State Council notice then adds bridging
// days and make-up working days. For a year whose notice is not loaded yet
// the statutory days are still known to be rest days, so deadlines that
// cross them count them as such (and stay provisional: the bridging and
// make-up days are not known until the notice).
const (
	statutoryJurisdiction = "cn"
	statutoryFirstYear    = 2025
	StatutorySource       = "全国年节及纪念日放假办法 (2024 revision, in force 2025-01-01) Art. 2: statutory holidays only; bridging and make-up days await the State Council notice"
)

// StatutoryHolidays answers the statutory holidays of a year under the
// National Holidays Regulation: New Year's Day (1 Jan), Spring Festival
// (lunar New Year's Eve and the first three days of the first lunar month),
// Qingming (the day of the Qingming solar term), Labour Day (1–2 May), Dragon
// Boat (5th day of the 5th lunar month), Mid-Autumn (15th day of the 8th
// lunar month) and National Day (1–3 Oct). Lunar dates and solar terms are in
// Beijing time.
func StatutoryHolidays(y int) []Holiday {
	lunarDay := func(m, d int) Date { return solarDate(lunar.NewLunarFromYmd(y, m, d).GetSolar()) }
	newYear := lunarDay(1, 1)
	qingming := solarDate(lunar.NewSolarFromYmd(y, 4, 15).GetLunar().GetJieQiTable()["清明"])
	return []Holiday{
		span("New Year's Day", "元旦", NewDate(y, time.January, 1), 1),
		span("Spring Festival", "春节", newYear.AddDays(-1), 4),
		span("Qingming Festival", "清明节", qingming, 1),
		span("Labour Day", "劳动节", NewDate(y, time.May, 1), 2),
		span("Dragon Boat Festival", "端午节", lunarDay(5, 5), 1),
		span("Mid-Autumn Festival", "中秋节", lunarDay(8, 15), 1),
		span("National Day", "国庆节", NewDate(y, time.October, 1), 3),
	}
}

func span(name, zh string, from Date, days int) Holiday {
	return Holiday{Name: name, NameZh: zh, From: from.String(), To: from.AddDays(days - 1).String(), DaysOff: days}
}

func solarDate(s *lunar.Solar) Date {
	return NewDate(s.GetYear(), time.Month(s.GetMonth()), s.GetDay())
}

// statutoryOff memoises the statutory rest days per year (the lunar
// computation is not cheap and deadlines ask day by day).
var statutoryOff sync.Map // int (year) -> map[Date]bool

// isStatutoryRestDay says whether d is a statutory holiday of a year with no
// calendar loaded; only the CN jurisdiction has such a regulation.
func isStatutoryRestDay(jurisdiction string, d Date) bool {
	if jurisdiction != statutoryJurisdiction || d.Year < statutoryFirstYear {
		return false
	}
	off, ok := statutoryOff.Load(d.Year)
	if !ok {
		days := map[Date]bool{}
		for _, h := range StatutoryHolidays(d.Year) {
			from, _ := ParseDate(h.From)
			for i := 0; i < h.DaysOff; i++ {
				days[from.AddDays(i)] = true
			}
		}
		off, _ = statutoryOff.LoadOrStore(d.Year, days)
	}
	return off.(map[Date]bool)[d]
}
