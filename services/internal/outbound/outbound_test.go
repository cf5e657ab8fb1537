package outbound

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func roots(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

// Loopback is refused unless allowed; redirects are answered, not followed;
// plain http is refused before anything is sent.
func TestClientRefusesInternalTargetsRedirectsAndPlainHTTP(t *testing.T) {
	var hits, redirected atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			redirected.Add(1)
			return
		}
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()

	_, err := NewClient(Options{TLS: roots(srv)}).Post(srv.URL, "text/plain", strings.NewReader("data"))
	if !errors.Is(err, ErrPrivateAddress) || hits.Load() != 0 {
		t.Fatalf("loopback without the allowance: %v, %d requests arrived", err, hits.Load())
	}
	allowed := NewClient(Options{TLS: roots(srv), AllowPrivate: true})
	resp, err := allowed.Post(srv.URL, "text/plain", strings.NewReader("data"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("loopback with the allowance: %v", err)
	}
	_ = resp.Body.Close()
	resp, err = allowed.Post(srv.URL+"/redirect", "text/plain", strings.NewReader("data"))
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect || redirected.Load() != 0 {
		t.Fatalf("redirect: %v %v, followed %d times", resp, err, redirected.Load())
	}
	_ = resp.Body.Close()
	plain := "http://" + srv.Listener.Addr().String() + "/"
	if _, err := allowed.Post(plain, "text/plain", strings.NewReader("data")); err == nil || !strings.Contains(err.Error(), "https only") {
		t.Fatalf("plain http: %v", err)
	}
}

func TestPrivate(t *testing.T) {
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fd00::1": true, "0.0.0.0": true, "100.64.0.1": true,
		"::ffff:127.0.0.1": true, "8.8.8.8": false, "2001:4860:4860::8888": false, "203.0.113.10": false,
	} {
		if got := Private(net.ParseIP(ip)); got != want {
			t.Errorf("Private(%s) = %v, want %v", ip, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://crm.example/erase": true, "http://crm.example/erase": false, "https://": false,
		"https://user:pw@crm.example/": false, "ftp://crm.example": false, "crm.example": false,
	} {
		if err := CheckURL(raw); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", raw, err, ok)
		}
	}
}

// A connector setting reads only the connectors' own variables.
func TestSecretEnv(t *testing.T) {
	t.Setenv("REDRESS_CONNECTOR_CRM_SECRET", "s3cret")
	t.Setenv("DATABASE_URL", "postgres://owner@db/redress")
	if v, err := SecretEnv("REDRESS_CONNECTOR_CRM_SECRET"); err != nil || v != "s3cret" {
		t.Fatalf("own variable: %q %v", v, err)
	}
	for _, name := range []string{"DATABASE_URL", "REDRESS_MASTER_KEY", "REDRESS_CONNECTOR_", "redress_connector_x"} {
		if v, err := SecretEnv(name); err == nil || v != "" {
			t.Errorf("%s: %q %v, want refused", name, v, err)
		}
	}
}
