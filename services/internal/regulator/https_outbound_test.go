package regulator

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A filing is never re-sent by a redirect (to plain http or anywhere), and
// an adapter built from the regulators file reaches an internal address only
// when its entry says allow_private.
func TestHTTPSOutboundRules(t *testing.T) {
	var leaked atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			leaked.Add(1)
		}
		w.Write([]byte(`{"acknowledgement_id": "stolen"}`))
	}))
	defer plain.Close()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, plain.URL+"/collect", http.StatusPermanentRedirect)
			return
		}
		w.Write([]byte(`{"acknowledgement_id": "ack-1"}`))
	}))
	defer srv.Close()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)

	h := &HTTPS{URL: srv.URL + "/moved", Client: srv.Client(), SigningKey: priv}
	if _, err := h.Submit(context.Background(), testFiling()); !errors.Is(err, ErrRejected) || leaked.Load() != 0 {
		t.Errorf("redirect: %v, %d filings re-sent over plain http", err, leaked.Load())
	}

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	key := filepath.Join(dir, "signing.key")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(priv.Seed())), 0o600); err != nil {
		t.Fatal(err)
	}
	hits.Store(0)
	inside, err := NewHTTPS(BodyConfig{Adapter: "https", URL: srv.URL, CA: ca, SigningKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inside.Submit(context.Background(), testFiling()); err == nil || !strings.Contains(err.Error(), "internal address") || hits.Load() != 0 {
		t.Errorf("loopback without allow_private: %v (%d requests arrived)", err, hits.Load())
	}
	allowed, err := NewHTTPS(BodyConfig{Adapter: "https", URL: srv.URL, CA: ca, SigningKey: key, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := allowed.Submit(context.Background(), testFiling()); err != nil || r.Reference != "ack-1" {
		t.Errorf("loopback with allow_private: %+v %v", r, err)
	}
	if _, err := NewHTTPS(BodyConfig{Adapter: "https", URL: plain.URL, SigningKey: key}); err == nil {
		t.Error("a plain http regulator endpoint was accepted")
	}
}
