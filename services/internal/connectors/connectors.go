// Package connectors reaches the data systems that hold personal information
// for deletion requests. Every connector answers three questions the same way:
// where is this subject's data (Locate → plan items and a digest of what
// matched), do the approved items (Apply → a result), and what is still there
// (Remaining). Subjects carry the requester's identifiers in clear: they live
// only inside activities and are never logged or returned in an error.
package connectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redress/redress/workflows/deletion"
)

// Kinds of connectors.
const (
	KindPostgres = "postgres"
	KindWebhook  = "webhook"
	KindManual   = "manual"
	KindRedress  = "redress"
)

// Steps of a request: the approved plan, then the items kept under a
// retention floor once the duty ends.
const (
	StepExecute  = "execute"
	StepDeferred = "deferred"
)

// Phone is a phone number and the period the requester held it.
type Phone struct {
	Number      string // normalised
	From, Until *time.Time
}

// Subject is one verified requester. Only verified identifiers are set.
type Subject struct {
	DeletionID string
	Phone      *Phone
	Email      string // normalised, lower case
	// Keyed hashes of the identifiers (Redress's own indexes).
	PhoneIndex, EmailIndex []byte
}

// String keeps identifiers out of logs and errors.
func (s Subject) String() string { return "subject{" + s.DeletionID + "}" }

// GoString keeps %#v from printing identifiers.
func (s Subject) GoString() string { return s.String() }

// Found is what Locate saw: plan items (Connector left empty; the caller
// names the connector) and a digest of the matched data.
type Found struct {
	Items  []deletion.PlanItem
	Digest string
}

// Total counts the matched items.
func (f Found) Total() int64 {
	var n int64
	for _, it := range f.Items {
		n += it.Count
	}
	return n
}

// Result is what Apply did.
type Result struct {
	Affected  int64
	Reference string // the remote system's reference, when it gives one
}

// Connector is one data system.
type Connector interface {
	Locate(ctx context.Context, s Subject) (Found, error)
	// Apply performs the items of step. It must be safe to call again after a
	// crash: doing it twice leaves the same data as doing it once.
	Apply(ctx context.Context, s Subject, step string, items []deletion.PlanItem) (Result, error)
	// Remaining counts what still matches and should be gone after step.
	Remaining(ctx context.Context, s Subject, step string) (int64, error)
}

// digest is the hex SHA-256 of parts joined by NUL.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ErrConfig reports a bad connector configuration.
type ErrConfig struct{ Connector, Problem string }

func (e *ErrConfig) Error() string {
	return fmt.Sprintf("connector %s: configuration: %s", e.Connector, e.Problem)
}
