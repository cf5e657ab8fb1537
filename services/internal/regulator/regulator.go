// Package regulator files escalation packages with regulator bodies through
// one interface and three adapters: HTTPS (JSON, mutual TLS or an Ed25519
// signature header, idempotency key), email (SMTP with the ZIP attached) and
// manual (the package waits for an officer). Which adapter and endpoint a
// body uses is configuration (Directory).
package regulator

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Filing is what is submitted. IdempotencyKey is the same for every attempt
// of one escalation, so the regulator files it once however often it is sent.
type Filing struct {
	EscalationID   string
	Kind           string
	IdempotencyKey string
	Package        []byte // the ZIP
	PackageSHA256  string
	Manifest       json.RawMessage
}

// Outcomes of a submission.
const (
	Acknowledged = "acknowledged"            // the answer carries the acknowledgement id
	Accepted     = "accepted"                // received; the acknowledgement comes later
	ManualFiling = "ready_for_manual_filing" // an officer files it
)

// Receipt is the regulator's answer.
type Receipt struct {
	Outcome   string
	Reference string
}

// Adapter submits a filing. A returned error wrapping ErrRejected is final;
// any other error is worth retrying with the same idempotency key.
type Adapter interface {
	Name() string
	Submit(ctx context.Context, f Filing) (Receipt, error)
}

// ErrRejected marks a refusal that re-sending will not change.
var ErrRejected = errors.New("regulator rejected the filing")

// Manual leaves the package for an officer to file by hand.
type Manual struct{}

func (Manual) Name() string { return "manual" }

func (Manual) Submit(context.Context, Filing) (Receipt, error) {
	return Receipt{Outcome: ManualFiling}, nil
}

// Directory maps regulator bodies to adapters. Unknown bodies use Default;
// without a Default, filings are manual.
type Directory struct {
	Bodies  map[string]Adapter
	Default Adapter
	// CallbackKeys are the bodies' public keys for late acknowledgements.
	CallbackKeys map[string]ed25519.PublicKey
}

// For answers the adapter of a body.
func (d *Directory) For(body string) Adapter {
	if d != nil {
		if a, ok := d.Bodies[body]; ok {
			return a
		}
		if d.Default != nil {
			return d.Default
		}
	}
	return Manual{}
}

// BodyConfig is one body's entry in the directory file.
type BodyConfig struct {
	Adapter string `json:"adapter"` // https | email | manual
	// HTTPS
	URL        string `json:"url,omitempty"`
	ClientCert string `json:"client_cert,omitempty"` // PEM file: mutual TLS
	ClientKey  string `json:"client_key,omitempty"`
	CA         string `json:"ca,omitempty"`          // PEM file: the regulator's CA (default: system roots)
	SigningKey string `json:"signing_key,omitempty"` // file with a base64 Ed25519 seed: signature header
	KeyID      string `json:"key_id,omitempty"`
	TimeoutSec int    `json:"timeout_seconds,omitempty"`
	// AllowPrivate lets the adapter reach a loopback, private or link-local
	// address (an administrator's choice for an endpoint inside the network).
	AllowPrivate bool `json:"allow_private,omitempty"`
	// Email
	To string `json:"to,omitempty"`
	// CallbackPublicKey (base64 Ed25519) lets the body post late
	// acknowledgements to the callback endpoint.
	CallbackPublicKey string `json:"callback_public_key,omitempty"`
}

// LoadDirectory reads a JSON file {"default": {...}, "bodies": {"cac": {...}}}.
// mail sends the email adapter's messages (nil: email bodies are refused).
func LoadDirectory(path string, mail MailSender) (*Directory, error) {
	if path == "" {
		return &Directory{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("regulators file: %w", err)
	}
	var raw struct {
		Default *BodyConfig           `json:"default"`
		Bodies  map[string]BodyConfig `json:"bodies"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("regulators file %s: %w", path, err)
	}
	d := &Directory{Bodies: map[string]Adapter{}}
	if raw.Default != nil {
		if d.Default, err = build(*raw.Default, mail); err != nil {
			return nil, fmt.Errorf("regulators file: default: %w", err)
		}
	}
	d.CallbackKeys = map[string]ed25519.PublicKey{}
	for body, c := range raw.Bodies {
		if d.Bodies[body], err = build(c, mail); err != nil {
			return nil, fmt.Errorf("regulators file: %s: %w", body, err)
		}
		if c.CallbackPublicKey != "" {
			k, err := base64.StdEncoding.DecodeString(c.CallbackPublicKey)
			if err != nil || len(k) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("regulators file: %s: callback_public_key must be a base64 Ed25519 public key", body)
			}
			d.CallbackKeys[body] = ed25519.PublicKey(k)
		}
	}
	return d, nil
}

func build(c BodyConfig, mail MailSender) (Adapter, error) {
	switch c.Adapter {
	case "manual", "":
		return Manual{}, nil
	case "email":
		if mail == nil {
			return nil, errors.New("email adapter needs SMTP (REDRESS_SMTP_ADDR)")
		}
		if c.To == "" {
			return nil, errors.New("email adapter needs \"to\"")
		}
		return &Email{Mail: mail, To: c.To}, nil
	case "https":
		return NewHTTPS(c)
	}
	return nil, fmt.Errorf("unknown adapter %q", c.Adapter)
}
