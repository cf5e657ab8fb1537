// Package answers seals and opens escalation follow-up answers about one
// person's case or request under that person's subject key, for the service
// that holds the key (intake for cases, deletion for requests): erasing the
// person erases the answers, and the escalation service, which holds no
// keys, can seal and open nothing else.
package answers

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/validation"
)

// field is what an answer is sealed as.
const field = "escalation.follow_up_answer"

// MaxOpen bounds the answers one call opens.
const MaxOpen = 100

// Key finds the subject key of the object named by the id field
// (crypto.ErrShredded once the person is erased).
type Key func() (crypto.SubjectKey, error)

// Seal validates the object id (named idField) and the answer and seals the
// answer; an erased person's object is FAILED_PRECONDITION.
func Seal(idField, id, answer string, key Key) ([]byte, error) {
	var v validation.Errors
	v.UUID(idField, id)
	v.Text("answer", answer, 1, 20000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	sk, err := key()
	if errors.Is(err, crypto.ErrShredded) {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: the person was erased: the answer cannot be kept under their key", idField)
	} else if err != nil {
		return nil, err
	}
	return sk.Seal(field, []byte(answer))
}

// Opened is one answer as opened: its text, or erased (the person's key is
// destroyed), or unreadable (not sealed under this key as an answer).
type Opened struct {
	Text               string
	Erased, Unreadable bool
}

// Open validates the object id and the sealed answers (1 to MaxOpen) and
// opens them, in order.
func Open(idField, id string, sealed [][]byte, key Key) ([]Opened, error) {
	var v validation.Errors
	v.UUID(idField, id)
	switch n := len(sealed); {
	case n == 0:
		v.Add("sealed", "is required")
	case n > MaxOpen:
		v.Addf("sealed", "at most %d answers at a time", MaxOpen)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sk, err := key()
	erased := errors.Is(err, crypto.ErrShredded)
	if err != nil && !erased {
		return nil, err
	}
	out := make([]Opened, len(sealed))
	for i, enc := range sealed {
		if erased {
			out[i].Erased = true
			continue
		}
		if b, err := sk.Open(field, enc); err != nil {
			out[i].Unreadable = true
		} else {
			out[i].Text = string(b)
		}
	}
	return out, nil
}
