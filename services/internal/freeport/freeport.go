// Package freeport picks loopback ports for servers that bind them a moment
// (or a build) later: below the kernel's ephemeral range when it can, so no
// outgoing connection takes the port meanwhile.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// handedOut remembers every port this process picked, so two servers started
// by the same process (in a row or side by side) never get the same internal
// port from Pick, even if the kernel would hand it out again.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// Pick picks an unused TCP port on host for a server to bind a moment
// later. It takes one below the kernel's ephemeral range when it can: ports
// there are never handed to an outgoing connection or a bind(":0") of another
// test server in that moment, which would make the server's listen fail
// (for Temporal, fatal: a nil listener and a panic). Otherwise it asks
// the kernel (see ephemeralPort).
func Pick(host string) (int, error) {
	if lo, hi, ok := belowEphemeral(); ok {
		for range 100 {
			p := lo + rand.IntN(hi-lo)
			if claim(p) && Bindable(host, p) == nil {
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
	return 0, fmt.Errorf("freeport: no free port on %s", host)
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
		return 0, fmt.Errorf("freeport: pick a free port on %s: %w", host, err)
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

// Bindable fails when host:port cannot be listened on right now (servers
// that treat a failed listen as fatal check their ports with it first).
func Bindable(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("freeport: port %d on %s is not available: %w", port, host, err)
	}
	return l.Close()
}
