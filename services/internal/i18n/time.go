package i18n

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	_ "time/tzdata" // zones resolve on hosts without a zoneinfo database
)

// DefaultZone is where people see times unless the operator configures
// another (REDRESS_TIME_ZONE): Beijing time, which the law counts in.
const DefaultZone = "Asia/Shanghai"

var zone atomic.Pointer[time.Location]

func init() {
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil { // China has kept UTC+8 without daylight saving since 1991
		loc = time.FixedZone(DefaultZone, 8*3600)
	}
	zone.Store(loc)
}

// Zone is the operator's time zone: every time a person reads (console,
// public pages, notices, PDFs) is shown in it.
func Zone() *time.Location { return zone.Load() }

// SetZone makes name the operator's time zone; an unknown name is an error
// and changes nothing.
func SetZone(name string) error {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		return fmt.Errorf("unknown time zone %q", name)
	}
	zone.Store(loc)
	return nil
}

// ZoneName names the zone times are shown in: "北京时间" / "Beijing time" for
// Asia/Shanghai, else the zone's IANA name.
func ZoneName(l Lang) string {
	if name := Zone().String(); name != DefaultZone {
		return name
	}
	if l == ZH {
		return "北京时间"
	}
	return "Beijing time"
}

// LegalTime shows a deadline as the law counts it, in the operator's zone:
// a period that ends at midnight is 24:00 of its last day ("2026-12-17
// 24:00", not "2026-12-18 00:00" or "2026-12-17 16:00 UTC"), with the zone
// named: "2026-12-17 24:00 (Beijing time)" / "2026-12-17 24:00（北京时间）".
// The zero time is "".
func LegalTime(l Lang, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return Zoned(l, Clock(t))
}

// Zoned is s (a time in the operator's zone) followed by the zone's name.
func Zoned(l Lang, s string) string { return s + paren(l, ZoneName(l)) }

// Clock is t in the operator's zone as "2006-01-02 15:04", midnight as
// 24:00 of the day before; no zone named.
func Clock(t time.Time) string {
	t = t.In(Zone())
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Add(-time.Minute).Format("2006-01-02") + " 24:00"
	}
	return t.Format("2006-01-02 15:04")
}

func paren(l Lang, s string) string {
	if l == ZH {
		return "（" + s + "）"
	}
	return " (" + s + ")"
}

// Countdown is the time left until due as the console's deadline columns
// show it ("3d 4h", "5h 12m"), negative once past ("-1d 2h").
func Countdown(now, due time.Time) string {
	left := due.Sub(now)
	if left < 0 {
		return "-" + duration(-left)
	}
	return duration(left)
}

// Left says in words how long remains until due ("还剩3天4小时", "3 days 4
// hours left"; "已超时" / "overdue" once past), for pages without the
// console's live countdown.
func Left(l Lang, now, due time.Time) string {
	left := due.Sub(now).Round(time.Minute)
	if left <= 0 {
		if l == ZH {
			return "已超时"
		}
		return "overdue"
	}
	days, h, m := int(left/(24*time.Hour)), int(left%(24*time.Hour)/time.Hour), int(left%time.Hour/time.Minute)
	if l == ZH {
		if days > 0 {
			return fmt.Sprintf("还剩%d天%d小时", days, h)
		}
		return fmt.Sprintf("还剩%d小时%d分钟", h, m)
	}
	if days > 0 {
		return fmt.Sprintf("%d %s %d %s left", days, plural(days, "day"), h, plural(h, "hour"))
	}
	return fmt.Sprintf("%d %s %d %s left", h, plural(h, "hour"), m, plural(m, "minute"))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func duration(d time.Duration) string {
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	if days > 0 {
		return strconv.Itoa(int(days)) + "d " + strconv.Itoa(int(h)) + "h"
	}
	return strconv.Itoa(int(h)) + "h " + strconv.Itoa(int(m)) + "m"
}
