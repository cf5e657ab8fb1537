// Package ratelimit limits requests per client address for the console and
// the public pages, and says which address a request comes from: the peer,
// or, when the peer is a proxy the operator trusts, the client that proxy
// names in X-Forwarded-For.
package ratelimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
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

// ParseProxies reads the trusted proxies' addresses: CIDRs or single IP
// addresses (REDRESS_TRUSTED_PROXIES).
func ParseProxies(list []string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR", s)
		}
		ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return ps, nil
}

func trusted(a netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address a request comes from. X-Forwarded-For is read
// only when the peer is a trusted proxy, from the right: each trusted hop is
// skipped, and the first address a trusted hop did not add itself is the
// client (what is left of it anyone could have written). Without trusted
// proxies it is the peer's address.
func ClientAddr(r *http.Request, proxies []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	client := peer.Unmap()
	if len(proxies) == 0 || !trusted(client, proxies) {
		return client.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: keep the last address a trusted hop vouched for
		}
		client = a.Unmap()
		if !trusted(client, proxies) {
			break
		}
	}
	return client.String()
}
