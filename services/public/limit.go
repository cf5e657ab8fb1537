package public

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Limiter allows at most N requests per client address in any window of
// Per (a sliding window: the last N times are kept per address).
type Limiter struct {
	N   int
	Per time.Duration
	Now func() time.Time

	mu    sync.Mutex
	seen  map[string][]time.Time
	sweep time.Time
}

// NewLimiter allows n requests per window per address.
func NewLimiter(n int, per time.Duration) *Limiter {
	return &Limiter{N: n, Per: per, seen: map[string][]time.Time{}}
}

// Allow records a request from addr and says whether it is within the limit.
// A refused request is not recorded, so a client that backs off recovers.
func (l *Limiter) Allow(addr string) bool {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > l.Per { // forget idle addresses: memory follows active clients only
		for a, ts := range l.seen {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= l.Per {
				delete(l.seen, a)
			}
		}
		l.sweep = now
	}
	ts := l.seen[addr]
	for len(ts) > 0 && now.Sub(ts[0]) >= l.Per {
		ts = ts[1:]
	}
	if len(ts) >= l.N {
		l.seen[addr] = ts
		return false
	}
	l.seen[addr] = append(ts, now)
	return true
}

// clientAddr is the peer's IP address. Forwarded headers are not trusted:
// behind a proxy, run one that rate-limits itself or sets the peer address.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
