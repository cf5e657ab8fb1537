// Package freeport picks loopback ports for servers that bind them a moment
// (or a build) later: below the kernel's ephemeral range when it can, so no
// outgoing connection takes the port meanwhile, and claimed on this machine,
// so no other process picks it meanwhile.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// handedOut remembers every port this process picked, so two servers started
// by the same process (in a row or side by side) never get the same port from
// Pick, even where claims cannot be kept on disk.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// claimDir holds one file per port picked on this machine; a process holds
// an exclusive lock on the file of each port it picked until it exits, so
// test processes running side by side never pick the same port, even before
// the process a port was handed to binds it (after a build, for make run).
// The kernel drops the locks of a process that ends: no stale claims.
var claimDir = filepath.Join(os.TempDir(), "redress-freeport")

// pickRange answers the ports Pick chooses from (a seam for tests).
var pickRange = belowEphemeral

// Pick picks an unused TCP port on host for a server to bind a moment
// later. It takes one below the kernel's ephemeral range when it can: ports
// there are never handed to an outgoing connection or a bind(":0") of another
// test server in that moment, which would make the server's listen fail
// (for Temporal, fatal: a nil listener and a panic). Otherwise it asks
// the kernel (see ephemeralPort). Either way the port stays claimed for this
// process (see claimDir), so no other process picks it.
func Pick(host string) (int, error) {
	if lo, hi, ok := pickRange(); ok {
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

// Reserve keeps Pick from answering port, which the caller was given (by
// configuration or by the process that started it) and binds later.
func Reserve(port int) {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	if !handedOut[port] {
		lockClaimFile(port) // may be held by whoever handed the port over: fine
		handedOut[port] = true
	}
}

// claim records p as handed out to this process; false if this or another
// live process already picked it.
func claim(p int) bool {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	if handedOut[p] || !lockClaimFile(p) {
		return false
	}
	handedOut[p] = true
	return true
}

// lockClaimFile takes p's claim file and keeps its lock (and descriptor) for
// the life of the process; false if another process holds it. Where no claim
// can be kept (no shared folder, another user's file) it answers true and
// the port is only this process's.
func lockClaimFile(p int) bool {
	if err := os.Mkdir(claimDir, 0o700); err == nil {
		// Anyone's tests may claim ports here; only owners remove files.
		_ = os.Chmod(claimDir, 0o777|os.ModeSticky)
	}
	f, err := os.OpenFile(filepath.Join(claimDir, strconv.Itoa(p)), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return !errors.Is(err, syscall.EWOULDBLOCK)
	}
	held = append(held, f) // never closed: closing would release the claim
	return true
}

// held keeps the claim files this process locked open (see lockClaimFile).
var held []*os.File

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
