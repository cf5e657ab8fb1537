package temporaldev

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// handedOut remembers every port this process picked, so two servers started
// by the same process (in a row or side by side) never get the same internal
// port from freePort, even if the kernel would hand it out again.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// freePort picks an unused TCP port on host for the server to bind a moment
// later. It takes one below the kernel's ephemeral range when it can: ports
// there are never handed to an outgoing connection or a bind(":0") of another
// test server in that moment, which would make Temporal's own listen fail
// (fatal inside the server: a nil listener and a panic). Otherwise it asks
// the kernel (see ephemeralPort).
func freePort(host string) (int, error) {
	if lo, hi, ok := belowEphemeral(); ok {
		for range 100 {
			p := lo + rand.IntN(hi-lo)
			if claim(p) && checkBindable(host, p) == nil {
				return p, nil
			}
		}
	}
	for range 50 {
		p, err := ephemeralPort(host)
		if err != nil {
			return 0, err
		}
		if claim(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("temporaldev: no free port on %s", host)
}

// claim records p as handed out; false if it already was.
func claim(p int) bool {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	if handedOut[p] {
		return false
	}
	handedOut[p] = true
	return true
}

// belowEphemeral answers a range of ports just below the kernel's ephemeral
// range (Linux: /proc/sys/net/ipv4/ip_local_port_range).
func belowEphemeral() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	start, err := strconv.Atoi(f[0])
	if err != nil || start < 12000 {
		return 0, 0, false
	}
	return start - 10000, start, true
}

// ephemeralPort asks the kernel for an unused TCP port on host. The port is
// then put in TIME_WAIT by a connection closed from the listening side, which
// keeps the kernel from giving it to another bind(":0") for a while, while an
// explicit bind (SO_REUSEADDR, Go's default on Unix) still succeeds. This is
// the technique of go.temporal.io/server/common/testing/freeport.
func ephemeralPort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("temporaldev: pick a free port on %s: %w", host, err)
	}
	defer func() { _ = l.Close() }()
	addr := l.Addr().(*net.TCPAddr)
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		return addr.Port, nil // the port is free anyway; only the TIME_WAIT guard is lost
	}
	defer func() { _ = c.Close() }()
	if s, err := l.Accept(); err == nil {
		_ = s.Close() // server side closes first: TIME_WAIT lands on this port
	}
	return addr.Port, nil
}

// checkBindable fails when host:port cannot be listened on right now. Temporal
// and the UI server treat a failed listen as fatal (a nil listener, or
// os.Exit in echo), so Start checks every port first and returns an error.
func checkBindable(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("temporaldev: port %d on %s is not available: %w", port, host, err)
	}
	return l.Close()
}

// waitBindable polls until host:port can be listened on, or ctx ends.
func waitBindable(ctx context.Context, host string, port int) error {
	for {
		err := checkBindable(host, port)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}
