// Package outbound builds the HTTP client Redress uses to send personal data
// to other systems (webhook connectors, regulators' HTTPS endpoints): HTTPS
// only, redirects refused (a redirect would re-send the data elsewhere,
// possibly in clear), and loopback, private and link-local addresses refused
// unless an administrator allowed them for that target, checked on the
// address actually dialled (so a name that resolves inside is refused too).
package outbound

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// Options of a client.
type Options struct {
	Timeout time.Duration // whole request; default 30 s
	TLS     *tls.Config   // roots and client certificates; nil = system roots
	// AllowPrivate lets the client reach loopback, private (RFC 1918, ULA),
	// link-local and unspecified addresses: an administrator's allowance for
	// a target inside the operator's network (and for tests on loopback).
	AllowPrivate bool
}

// ErrPrivateAddress is answered for a refused internal target.
var ErrPrivateAddress = errors.New("outbound: internal address refused (not allowed for this target)")

// NewClient builds the client.
func NewClient(o Options) *http.Client {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLS != nil {
		tc = o.TLS.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		d.Control = refusePrivate
	}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would hide the dialled address from the check
		DialContext:         d.DialContext,
		TLSClientConfig:     tc,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        16,
		IdleConnTimeout:     90 * time.Second,
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: httpsOnly{tr},
		// The 3xx answer itself is returned: callers treat it as a refusal.
		CheckRedirect: refuseRedirect,
	}
}

type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, fmt.Errorf("outbound: %s refused: https only", r.URL.Scheme)
	}
	return h.next.RoundTrip(r)
}

// refusePrivate runs on the resolved address, just before connecting.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || Private(ip) {
		return ErrPrivateAddress
	}
	return nil
}

// Private reports whether ip is loopback, private, link-local, multicast or
// unspecified: nowhere a regulator or a partner system lives on the internet.
func Private(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() ||
		ip.Equal(net.IPv4bcast) || cgnat.Contains(ip)
}

// Carrier-grade NAT space (RFC 6598) is as internal as RFC 1918.
var cgnat = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// CheckURL checks a target URL as configured: https, a host, no user info.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "https":
		return errors.New("must be an https URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("needs a host")
	case u.User != nil:
		return errors.New("must not carry user information")
	}
	return nil
}

// SecretEnvPrefix starts every environment variable a connector setting may
// name: a setting cannot point at DATABASE_URL, the master key or any other
// secret of the process.
const SecretEnvPrefix = "REDRESS_CONNECTOR_"

// SecretEnv reads the environment variable a connector setting names, if it
// is one of the connectors' own.
func SecretEnv(name string) (string, error) {
	if !IsSecretEnvName(name) {
		return "", fmt.Errorf("environment variable %q refused: connector secrets are read only from %s* variables", name, SecretEnvPrefix)
	}
	return os.Getenv(name), nil
}

// IsSecretEnvName says whether a connector setting may name this variable.
func IsSecretEnvName(name string) bool {
	return strings.HasPrefix(name, SecretEnvPrefix) && len(name) > len(SecretEnvPrefix)
}

// NoRedirects returns a copy of c that answers a redirect's 3xx instead of
// following it (for clients built elsewhere, such as a test server's).
func NoRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = refuseRedirect
	return &cp
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
