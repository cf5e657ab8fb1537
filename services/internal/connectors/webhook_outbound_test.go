package connectors_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/redress/redress/services/internal/connectors"
)

// elsewhere is a plain-http server that counts what reaches it: where a
// redirect or a careless URL would send the identifiers in clear.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); strings.Contains(string(b), "13900000001") {
			got.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// A webhook never follows a redirect (the remote side, or whoever took over
// its address, cannot bounce the identifiers to plain http), never posts to
// a plain-http URL, and reaches an internal address only when allowed.
func TestWebhookOutboundRules(t *testing.T) {
	plain, leaked := elsewhere(t)
	var hits atomic.Int32
	remote := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, plain.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	defer remote.Close()
	s := connectors.Subject{DeletionID: uuid.NewString(), Phone: &connectors.Phone{Number: "13900000001"}}

	hook := &connectors.Webhook{Name: "crm", URL: remote.URL, Secret: secret, Client: remote.Client(), MaxAttempts: 1}
	if _, err := hook.Locate(context.Background(), s); err == nil || !strings.Contains(err.Error(), "status 307") {
		t.Errorf("redirect: %v, want refused with status 307", err)
	}
	if leaked.Load() != 0 {
		t.Errorf("the redirect re-sent the identifiers over plain http")
	}

	clear := &connectors.Webhook{Name: "crm", URL: plain.URL, Secret: secret, Client: remote.Client(), MaxAttempts: 1}
	if _, err := clear.Locate(context.Background(), s); err == nil || leaked.Load() != 0 {
		t.Errorf("plain http URL: %v, %d posts arrived", err, leaked.Load())
	}

	// Without a client of its own (as the worker builds it) a webhook refuses
	// the loopback address unless the connector allows internal addresses.
	hits.Store(0)
	internal := &connectors.Webhook{Name: "crm", URL: remote.URL, Secret: secret, MaxAttempts: 1}
	if _, err := internal.Locate(context.Background(), s); err == nil || !strings.Contains(err.Error(), "internal address refused") || hits.Load() != 0 {
		t.Errorf("loopback without allowance: %v (%d requests arrived)", err, hits.Load())
	}
	if err := internal.Test(context.Background()); err == nil || !strings.Contains(err.Error(), "internal address refused") {
		t.Errorf("health check to loopback without allowance: %v", err)
	}
	// Allowed, the address is reached (the test server's certificate is not
	// one the system trusts: that is the answer expected here).
	allowed := &connectors.Webhook{Name: "crm", URL: remote.URL, Secret: secret, MaxAttempts: 1, AllowPrivate: true}
	if err := allowed.Test(context.Background()); err == nil || !strings.Contains(err.Error(), "TLS certificate not accepted") {
		t.Errorf("loopback with allowance: %v, want the certificate refusal", err)
	}
}
