// Package command authenticates the human actions that reach a workflow.
// The services sign every Update they send (workflow id, update name and id,
// actor, a digest of the payload and an expiry) with a key that only they and
// the workers hold; the workflows' Update validators verify the seal before
// accepting anything. A client that reaches the Temporal frontend directly,
// without the key, can name any actor but cannot make a workflow act on it.
package command

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// MinKeyBytes is the shortest key accepted (HMAC-SHA256).
const MinKeyBytes = 32

// MaxTTL bounds how far ahead a seal may expire: a leaked command stays
// usable for minutes at most.
const MaxTTL = 10 * time.Minute

// ErrTypeRefused is the application error type of an Update refused because
// its seal is missing, wrong, expired or made for another workflow or update.
const ErrTypeRefused = "CommandRefused"

// Seal travels in the Update's argument (the workflows' Action types).
type Seal struct {
	Expires   time.Time `json:",omitzero"`
	Signature string    `json:",omitempty"` // hex HMAC-SHA256
}

// IsZero reports an unsigned command.
func (s Seal) IsZero() bool { return s.Expires.IsZero() && s.Signature == "" }

// Sealable is an Update argument that carries a Seal: WithSeal returns a
// copy carrying seal.
type Sealable interface {
	WithSeal(seal Seal) any
}

// Command is what a seal covers.
type Command struct {
	WorkflowID string
	Update     string
	UpdateID   string
	Actor      string
	Digest     string // PayloadDigest of the Update's argument, its Seal zero
	Expires    time.Time
}

// PayloadDigest is the hex SHA-256 of the payload's JSON encoding (the
// encoding Temporal's default converter sends). The payload's Seal must be
// zero on both sides. The worker re-encodes what it decoded, so a field the
// services send and the worker does not know yet fails the check: roll out
// workers before services when an Action type grows.
func PayloadDigest(payload any) (string, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("command payload: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// mac signs the fields length-prefixed, so no two commands share a message.
func mac(key []byte, c Command) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("redress-command/v1"))
	for _, f := range []string{c.WorkflowID, c.Update, c.UpdateID, c.Actor, c.Digest} {
		m.Write(binary.AppendUvarint(nil, uint64(len(f))))
		m.Write([]byte(f))
	}
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(c.Expires.UnixNano())))
	return m.Sum(nil)
}

// Sign seals payload (its Seal zero) as command c; c.Digest is filled in.
// The services call it through their signer; tests call it directly.
func Sign(key []byte, c Command, payload any) (Seal, error) {
	if len(key) < MinKeyBytes {
		return Seal{}, fmt.Errorf("command key: %d bytes, need at least %d", len(key), MinKeyBytes)
	}
	d, err := PayloadDigest(payload)
	if err != nil {
		return Seal{}, err
	}
	c.Digest = d
	return Seal{Expires: c.Expires.UTC(), Signature: hex.EncodeToString(mac(key, c))}, nil
}

// Verifier checks seals. The worker builds it from its configuration and
// registers the workflows with it: workflow code never reads the
// environment. A nil Verifier refuses every command.
type Verifier struct{ key []byte }

// NewVerifier holds key (at least MinKeyBytes).
func NewVerifier(key []byte) (*Verifier, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("command key: %d bytes, need at least %d", len(key), MinKeyBytes)
	}
	return &Verifier{key: append([]byte(nil), key...)}, nil
}

// Verify checks that seal signs c (Digest set) and is valid at now.
func (v *Verifier) Verify(c Command, seal Seal, now time.Time) error {
	if v == nil {
		return errors.New("this worker holds no command key")
	}
	if seal.IsZero() {
		return errors.New("the command is not signed")
	}
	got, err := hex.DecodeString(seal.Signature)
	c.Expires = seal.Expires
	if err != nil || !hmac.Equal(got, mac(v.key, c)) {
		return errors.New("the command's signature does not verify (other workflow, action, actor or content)")
	}
	if !now.Before(seal.Expires) {
		return fmt.Errorf("the command expired at %s", seal.Expires.UTC().Format(time.RFC3339))
	}
	if seal.Expires.Sub(now) > MaxTTL {
		return fmt.Errorf("the command's expiry is more than %s ahead", MaxTTL)
	}
	return nil
}

// CheckUpdate is called first by an Update validator: it verifies that seal
// signs this workflow, this update (name and id), actor and payload (its
// Seal zeroed by the caller), at the workflow's current time. Validators do
// not run on replay, so a changed key never alters a recorded history.
func (v *Verifier) CheckUpdate(ctx workflow.Context, actor string, payload any, seal Seal) error {
	info := workflow.GetCurrentUpdateInfo(ctx)
	if info == nil {
		return temporal.NewApplicationError("command refused: not an update", ErrTypeRefused)
	}
	d, err := PayloadDigest(payload)
	if err != nil {
		return temporal.NewApplicationError("command refused: "+err.Error(), ErrTypeRefused)
	}
	c := Command{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		Update:     info.Name,
		UpdateID:   info.ID,
		Actor:      actor,
		Digest:     d,
	}
	if err := v.Verify(c, seal, workflow.Now(ctx)); err != nil {
		return temporal.NewApplicationError("command refused: "+err.Error(), ErrTypeRefused)
	}
	return nil
}
