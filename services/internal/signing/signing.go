// Package signing seals the human actions the services send to workflows as
// Temporal Updates (see workflows/command): every sender signs with the
// command key, which only the services and the workers hold, and the
// workflows refuse any Update without a valid seal.
package signing

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redress/redress/workflows/command"
)

// TTL is how long a sealed command stays valid: longer than the services'
// update timeouts, well under command.MaxTTL.
const TTL = 2 * time.Minute

// ParseKey reads a base64 command key (REDRESS_COMMAND_KEY) of at least 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("command key is empty (set REDRESS_COMMAND_KEY: base64 of 32 random bytes)")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("command key is not valid base64")
	}
	if len(b) < command.MinKeyBytes {
		return nil, fmt.Errorf("command key has %d bytes, want at least %d", len(b), command.MinKeyBytes)
	}
	return b, nil
}

// Signer seals Updates. A nil Signer refuses to sign.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner signs with key; now defaults to time.Now.
func NewSigner(key []byte, now func() time.Time) (*Signer, error) {
	if len(key) < command.MinKeyBytes {
		return nil, fmt.Errorf("command key has %d bytes, want at least %d", len(key), command.MinKeyBytes)
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: append([]byte(nil), key...), now: now}, nil
}

// Seal returns arg sealed for Update name with updateID on workflowID, acted
// by actor; send it with exactly that UpdateID.
func (s *Signer) Seal(workflowID, name, updateID, actor string, arg command.Sealable) (any, error) {
	if s == nil {
		return nil, errors.New("this service holds no command key")
	}
	seal, err := command.Sign(s.key, command.Command{
		WorkflowID: workflowID, Update: name, UpdateID: updateID, Actor: actor, Expires: s.now().Add(TTL),
	}, arg.WithSeal(command.Seal{}))
	if err != nil {
		return nil, err
	}
	return arg.WithSeal(seal), nil
}
