package regulator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redress/redress/services/internal/outbound"
)

// HTTPS posts the filing as JSON. It authenticates with a client certificate
// (mutual TLS, in Client's transport) and/or an Ed25519 signature of the body
// in the X-Redress-Signature header. Every attempt carries the same
// Idempotency-Key. A 200/201 answer carries the acknowledgement id; 202 means
// received, acknowledgement later. The URL is https only and redirects are
// refused (a redirect would re-send the filing elsewhere); NewHTTPS builds an
// outbound client that also refuses internal addresses unless the body's
// entry allows them (allow_private).
type HTTPS struct {
	URL        string
	Client     *http.Client
	SigningKey ed25519.PrivateKey // optional
	KeyID      string
}

// Headers of the HTTPS adapter.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderSignature      = "X-Redress-Signature" // base64 Ed25519 signature of the body
	HeaderKeyID          = "X-Redress-Key-Id"
)

// Request is the JSON body.
type Request struct {
	EscalationID  string          `json:"escalation_id"`
	Kind          string          `json:"kind"`
	PackageSHA256 string          `json:"package_sha256"`
	Manifest      json.RawMessage `json:"manifest"`
	Package       []byte          `json:"package"` // base64 in JSON
}

// Response is what the regulator answers.
type Response struct {
	AcknowledgementID string `json:"acknowledgement_id"`
	ReceiptID         string `json:"receipt_id"`
}

// NewHTTPS builds the adapter from a directory entry.
func NewHTTPS(c BodyConfig) (*HTTPS, error) {
	if err := outbound.CheckURL(c.URL); err != nil {
		return nil, fmt.Errorf("https adapter url %v", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no certificate", c.CA)
		}
		tc.RootCAs = pool
	}
	if c.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	h := &HTTPS{URL: c.URL, KeyID: c.KeyID}
	if c.SigningKey != "" {
		b, err := os.ReadFile(c.SigningKey)
		if err != nil {
			return nil, err
		}
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, errors.New("signing key must be a base64 Ed25519 seed of 32 bytes")
		}
		h.SigningKey = ed25519.NewKeyFromSeed(seed)
	}
	if tc.Certificates == nil && h.SigningKey == nil {
		return nil, errors.New("https adapter needs a client certificate or a signing key")
	}
	timeout := time.Duration(c.TimeoutSec) * time.Second
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	h.Client = outbound.NewClient(outbound.Options{Timeout: timeout, TLS: tc, AllowPrivate: c.AllowPrivate})
	return h, nil
}

func (h *HTTPS) Name() string { return "https" }

// Submit posts the filing once.
func (h *HTTPS) Submit(ctx context.Context, f Filing) (Receipt, error) {
	body, err := json.Marshal(Request{EscalationID: f.EscalationID, Kind: f.Kind, PackageSHA256: f.PackageSHA256,
		Manifest: f.Manifest, Package: f.Package})
	if err != nil {
		return Receipt{}, fmt.Errorf("https: encode: %w", err)
	}
	if err := outbound.CheckURL(h.URL); err != nil {
		return Receipt{}, fmt.Errorf("https: url %v: %w", err, ErrRejected)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, fmt.Errorf("https: %w: %v", ErrRejected, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, f.IdempotencyKey)
	if h.SigningKey != nil {
		req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(h.SigningKey, body)))
		if h.KeyID != "" {
			req.Header.Set(HeaderKeyID, h.KeyID)
		}
	}
	resp, err := outbound.NoRedirects(h.Client).Do(req)
	if err != nil {
		return Receipt{}, fmt.Errorf("https: post: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		var r Response
		if err := json.Unmarshal(raw, &r); err != nil || r.AcknowledgementID == "" {
			return Receipt{}, fmt.Errorf("https: %d without an acknowledgement_id", resp.StatusCode)
		}
		return Receipt{Outcome: Acknowledged, Reference: r.AcknowledgementID}, nil
	case resp.StatusCode == http.StatusAccepted:
		var r Response
		_ = json.Unmarshal(raw, &r)
		return Receipt{Outcome: Accepted, Reference: r.ReceiptID}, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Receipt{}, fmt.Errorf("https: regulator answered %d", resp.StatusCode)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return Receipt{}, fmt.Errorf("https: regulator answered %d (a redirect: refused, the filing is not re-sent): %w", resp.StatusCode, ErrRejected)
	}
	return Receipt{}, fmt.Errorf("https: regulator answered %d: %w", resp.StatusCode, ErrRejected)
}

// VerifySignature checks the X-Redress-Signature of a body (for the
// regulator's side and for tests).
func VerifySignature(pub ed25519.PublicKey, body []byte, header string) bool {
	sig, err := base64.StdEncoding.DecodeString(header)
	return err == nil && ed25519.Verify(pub, body, sig)
}
