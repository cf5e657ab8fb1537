package deletion

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/validation"
)

// Suppression checks: at most maxSuppressionBatch identifiers a call and
// suppressionCalls calls a minute per caller, so the list cannot be used to
// test guesses of numbers in bulk, and the audit chain (one entry a call)
// stays readable.
const (
	maxSuppressionBatch = 1000
	suppressionCalls    = 60
)

// CheckSuppression answers whether each phone number and email address is
// on the suppression list (its owner's data was erased). The identifiers are
// hashed with the index key here; they are neither stored nor logged.
func (s *Server) CheckSuppression(ctx context.Context, req *deletionv1.CheckSuppressionRequest) (*deletionv1.CheckSuppressionResponse, error) {
	var e validation.Errors
	phones, emails := req.GetPhones(), req.GetEmails()
	switch n := len(phones) + len(emails); {
	case n == 0:
		e.Add("phones", "give at least one phone number or email address")
	case n > maxSuppressionBatch:
		e.Addf("phones", "phones and emails together must be at most %d", maxSuppressionBatch)
	}
	phoneHashes := make([][]byte, len(phones))
	for i, p := range phones {
		if d := crypto.NormalisePhone(p); len(d) < 6 || len(d) > 15 {
			e.Addf("phones", "entry %d is not a phone number", i)
			continue
		}
		phoneHashes[i] = s.keys.PhoneIndex(p)
	}
	emailHashes := make([][]byte, len(emails))
	for i, m := range emails {
		var one validation.Errors
		if one.Email("email", m); m == "" || !one.Empty() {
			e.Addf("emails", "entry %d is not a plain email address", i)
			continue
		}
		emailHashes[i] = s.keys.EmailIndex(m)
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	actor := access.Actor(ctx)
	if !s.suppression.Allow(actor) {
		return nil, status.Errorf(codes.ResourceExhausted, "at most %d suppression checks a minute; retry later", suppressionCalls)
	}

	resp := &deletionv1.CheckSuppressionResponse{
		PhonesSuppressed: make([]bool, len(phones)), EmailsSuppressed: make([]bool, len(emails))}
	hits := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, list := range []struct {
			kind   string
			hashes [][]byte
			out    []bool
		}{{"phone", phoneHashes, resp.PhonesSuppressed}, {"email", emailHashes, resp.EmailsSuppressed}} {
			if len(list.hashes) == 0 {
				continue
			}
			var found [][]byte
			if err := tx.Model(&Suppression{}).Where("kind = ? AND hash IN ?", list.kind, list.hashes).Pluck("hash", &found).Error; err != nil {
				return err
			}
			on := make(map[string]bool, len(found))
			for _, h := range found {
				on[string(h)] = true
			}
			for i, h := range list.hashes {
				list.out[i] = on[string(h)]
				if list.out[i] {
					hits++
				}
			}
		}
		_, err := audit.Append(tx, audit.Entry{Actor: actor, Action: "deletion.suppression_checked", ObjectType: "suppression_list",
			ObjectID: "suppression_entries", At: s.now().UTC(),
			Details: map[string]any{"phones": len(phones), "emails": len(emails), "suppressed": hits}})
		return err
	})
	if err != nil {
		s.log.Error("suppression check", "err", err)
		return nil, status.Error(codes.Unavailable, "suppression check failed; retry")
	}
	return resp, nil
}
