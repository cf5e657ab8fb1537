package freeport

import "testing"

// Picked ports lie below the kernel's ephemeral range (where no outgoing
// connection can take them before the server binds), are bindable, and are
// never handed out twice.
func TestFreePortBelowEphemeralRange(t *testing.T) {
	lo, hi := ephemeralRangeOrSkip(t)
	seen := map[int]bool{}
	for range 20 {
		p, err := Pick("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p >= hi || seen[p] {
			t.Fatalf("port %d: want a new one in [%d, %d)", p, lo, hi)
		}
		seen[p] = true
		if err := Bindable("127.0.0.1", p); err != nil {
			t.Fatal(err)
		}
	}
}

// ephemeralRangeOrSkip answers the range Pick chooses from, or skips the
// test where the kernel has no ephemeral range to stay below.
func ephemeralRangeOrSkip(t *testing.T) (lo, hi int) {
	t.Helper()
	lo, hi, ok := belowEphemeral()
	if !ok {
		t.Skip("no Linux ephemeral port range to stay below")
	}
	return lo, hi
}
