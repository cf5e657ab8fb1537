package console

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// A deadline of 17 December ends at 24:00 Beijing time that day, which is
// 16:00 UTC: the console said "2026-12-17 16:00 UTC".
func TestLegalTimeShowsBeijingEndOfDay(t *testing.T) {
	endOf17 := time.Date(2026, 12, 17, 16, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		lang string
		at   time.Time
		want string
	}{
		{"en", endOf17, "2026-12-17 24:00 (Beijing time)"},
		{"zh", endOf17, "2026-12-17 24:00（北京时间）"},
		{"en", time.Date(2026, 12, 2, 1, 30, 0, 0, time.UTC), "2026-12-02 09:30 (Beijing time)"}, // an hour-scale deadline
	} {
		if got := legalTime(c.lang, timestamppb.New(c.at)); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.lang, c.at, got, c.want)
		}
	}
	if got := legalTime("en", (*timestamppb.Timestamp)(nil)); got != "" {
		t.Errorf("no deadline: %q", got)
	}
}
