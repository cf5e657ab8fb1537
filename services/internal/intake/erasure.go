package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
)

// Erasure steps (the deletion connectors' steps) and what intake plans.
const (
	stepExecute  = "execute"
	stepDeferred = "deferred"
	targetErased = "complainants"
	actionShred  = "shred"
)

// Erasure serves ErasureService: the deletion service's own-data connector
// erases a person's complainant records through it instead of writing
// intake's tables. The person is named by the keyed hashes of their
// identifiers; erasure crypto-shreds the records' subject keys (rows and
// audit digests stay, unreadable).
type Erasure struct {
	intakev1.UnimplementedErasureServiceServer
	DB   *gorm.DB
	Keys *crypto.Keyring
}

var _ intakev1.ErasureServiceServer = (*Erasure)(nil)

// indexSize is the length of a keyed hash (HMAC-SHA-256).
const indexSize = sha256.Size

func validSubject(v *validation.Errors, s *intakev1.ErasureSubject) {
	if s == nil {
		v.Add("subject", "is required")
		return
	}
	v.UUID("subject.deletion_request_id", s.GetDeletionRequestId())
	if len(s.GetPhoneIndex()) == 0 && len(s.GetEmailIndex()) == 0 {
		v.Add("subject", "needs phone_index or email_index")
	}
	keyedHash(v, "subject.phone_index", s.GetPhoneIndex())
	keyedHash(v, "subject.email_index", s.GetEmailIndex())
}

func keyedHash(v *validation.Errors, field string, b []byte) {
	if len(b) != 0 && len(b) != indexSize {
		v.Addf(field, "must be a %d-byte keyed hash", indexSize)
	}
}

func validStepped(s *intakev1.ErasureSubject, step string) (execute bool, err error) {
	var v validation.Errors
	validSubject(&v, s)
	if step != stepExecute && step != stepDeferred {
		v.Add("step", "must be execute or deferred")
	}
	return step == stepExecute, v.Err()
}

// matching selects the subject's complainant records whose key still exists.
func matching(db *gorm.DB, s *intakev1.ErasureSubject) *gorm.DB {
	q := db.Model(&records.Complainant{}).
		Joins("JOIN subject_keys k ON k.id = complainants.subject_key_id AND k.shredded_at IS NULL")
	phone, email := s.GetPhoneIndex(), s.GetEmailIndex()
	switch {
	case len(phone) > 0 && len(email) > 0:
		return q.Where("complainants.phone_index = ? OR complainants.email_index = ?", phone, email)
	case len(phone) > 0:
		return q.Where("complainants.phone_index = ?", phone)
	default:
		return q.Where("complainants.email_index = ?", email)
	}
}

// Locate counts the subject's complainant records whose key is not shredded.
func (e *Erasure) Locate(ctx context.Context, req *intakev1.LocateRequest) (*intakev1.LocateResponse, error) {
	var v validation.Errors
	validSubject(&v, req.GetSubject())
	if err := v.Err(); err != nil {
		return nil, err
	}
	var ids []string
	if err := matching(e.DB.WithContext(ctx), req.GetSubject()).Order("complainants.id").Pluck("complainants.id", &ids).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "record unavailable")
	}
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	out := &intakev1.LocateResponse{Digest: hex.EncodeToString(h.Sum(nil))}
	if len(ids) > 0 {
		out.Items = []*intakev1.ErasureItem{{Target: targetErased, Action: actionShred, Count: int64(len(ids))}}
	}
	return out, nil
}

// Apply shreds the records' keys, and drops what their cases keep in clear
// or searchable (search tokens, the leak source kept for incident
// clustering), in one transaction. Intake keeps nothing for a deferred step.
func (e *Erasure) Apply(ctx context.Context, req *intakev1.ApplyRequest) (*intakev1.ApplyResponse, error) {
	execute, err := validStepped(req.GetSubject(), req.GetStep())
	if err != nil {
		return nil, err
	}
	if !execute {
		return &intakev1.ApplyResponse{}, nil
	}
	var keyIDs []string
	err = e.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := matching(tx, req.GetSubject()).Pluck("complainants.subject_key_id", &keyIDs).Error; err != nil {
			return err
		}
		if len(keyIDs) == 0 {
			return nil
		}
		for _, id := range keyIDs {
			if err := e.Keys.Shred(tx, id); err != nil {
				return err
			}
		}
		cases := tx.Model(&records.Case{}).Select("cases.id").
			Joins("JOIN complainants p ON p.id = cases.complainant_id").Where("p.subject_key_id IN ?", keyIDs)
		if err := tx.Where("case_id IN (?)", cases).Delete(&records.CaseSearchToken{}).Error; err != nil {
			return err
		}
		return tx.Model(&records.Case{}).Where("id IN (?)", cases).Update("leak_source", "").Error
	})
	if err != nil {
		return nil, status.Error(codes.Unavailable, "record unavailable")
	}
	return &intakev1.ApplyResponse{Affected: int64(len(keyIDs))}, nil
}

// Remaining counts matching records whose key still exists.
func (e *Erasure) Remaining(ctx context.Context, req *intakev1.RemainingRequest) (*intakev1.RemainingResponse, error) {
	execute, err := validStepped(req.GetSubject(), req.GetStep())
	if err != nil {
		return nil, err
	}
	if !execute {
		return &intakev1.RemainingResponse{}, nil
	}
	var n int64
	if err := matching(e.DB.WithContext(ctx), req.GetSubject()).Count(&n).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "record unavailable")
	}
	return &intakev1.RemainingResponse{Remaining: n}, nil
}
