package public

import (
	"testing"
	"time"
)

func TestLimiterAllowsThirtyPerMinutePerAddress(t *testing.T) {
	now := time.Date(2026, 2, 14, 10, 0, 0, 0, time.UTC)
	l := NewLimiter(30, time.Minute)
	l.Now = func() time.Time { return now }
	for i := 1; i <= 30; i++ {
		if !l.Allow("203.0.113.7") {
			t.Fatalf("request %d refused", i)
		}
		now = now.Add(time.Second)
	}
	if l.Allow("203.0.113.7") {
		t.Fatal("31st request within a minute allowed")
	}
	if !l.Allow("198.51.100.1") {
		t.Fatal("another address refused")
	}
	// A minute after the first request, one slot is free again; refused
	// requests did not count.
	now = time.Date(2026, 2, 14, 10, 1, 0, 0, time.UTC)
	if !l.Allow("203.0.113.7") {
		t.Fatal("refused after the window moved on")
	}
	if l.Allow("203.0.113.7") {
		t.Fatal("second slot should still be taken")
	}
}
