package escalation

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/escalation/store"
)

// Answers to a regulator's follow-up questions about one person's case or
// deletion request can name them: they are sealed under that person's
// subject key, so crypto-shredding erases them too. A case's answers are
// sealed and opened by intake, which holds its complainants' keys; a
// deletion request's under the key the request names. An incident's
// answers concern many cases and stay in clear.
const (
	fieldAnswer = "escalation.follow_up_answer"
	erased      = "[erased]"
	unreadable  = "[unreadable]"
)

// errAnswerErased: the person the escalation is about was erased.
var errAnswerErased = errors.New("the person this escalation is about was erased")

// openBatch is the most answers intake opens at a time.
const openBatch = 100

// deletionKey is the subject key of a deletion request's requester.
func deletionKey(tx *gorm.DB, keys *crypto.Keyring, requestID string) (crypto.SubjectKey, error) {
	var ids []string
	if err := tx.Table("deletion_requests").Where("id = ?", requestID).Pluck("subject_key_id", &ids).Error; err != nil {
		return crypto.SubjectKey{}, err
	}
	if len(ids) != 1 {
		return crypto.SubjectKey{}, gorm.ErrRecordNotFound
	}
	return keys.SubjectKey(tx, ids[0])
}

// sealAnswer seals an answer of escalation e under the key of the person it
// is about (nil: kept in clear), or answers errAnswerErased.
func sealAnswer(ctx context.Context, tx *gorm.DB, keys *crypto.Keyring, in store.Intake, e store.Escalation, text string) ([]byte, error) {
	switch {
	case e.CaseID != nil:
		res, err := in.SealCaseAnswer(ctx, &intakev1.SealCaseAnswerRequest{CaseId: *e.CaseID, Answer: text})
		if status.Code(err) == codes.FailedPrecondition {
			return nil, errAnswerErased
		}
		return res.GetSealed(), err
	case e.DeletionRequestID != nil:
		sk, err := deletionKey(tx, keys, *e.DeletionRequestID)
		if errors.Is(err, crypto.ErrShredded) {
			return nil, errAnswerErased
		} else if err != nil {
			return nil, err
		}
		return sk.Seal(fieldAnswer, []byte(text))
	}
	return nil, nil
}

// openAnswers answers the follow-ups' answers in clear, in order (erased
// once the person's key is shredded).
func openAnswers(ctx context.Context, tx *gorm.DB, keys *crypto.Keyring, in store.Intake, e store.Escalation, fs []store.FollowUp) ([]string, error) {
	out := make([]string, len(fs))
	var sealed []int
	for i, f := range fs {
		if len(f.AnswerEnc) == 0 {
			out[i] = f.Answer
		} else {
			sealed = append(sealed, i)
		}
	}
	if len(sealed) == 0 {
		return out, nil
	}
	if e.CaseID == nil {
		return out, openLocally(tx, keys, e, fs, sealed, out)
	}
	for len(sealed) > 0 {
		batch := sealed[:min(openBatch, len(sealed))]
		sealed = sealed[len(batch):]
		req := &intakev1.OpenCaseAnswersRequest{CaseId: *e.CaseID}
		for _, i := range batch {
			req.Sealed = append(req.Sealed, fs[i].AnswerEnc)
		}
		res, err := in.OpenCaseAnswers(ctx, req)
		if err != nil {
			return nil, err
		}
		for j, a := range res.GetAnswers() {
			switch {
			case a.GetErased():
				out[batch[j]] = erased
			case a.GetUnreadable():
				out[batch[j]] = unreadable
			default:
				out[batch[j]] = a.GetText()
			}
		}
	}
	return out, nil
}

// openLocally opens a deletion request's sealed answers under its key.
func openLocally(tx *gorm.DB, keys *crypto.Keyring, e store.Escalation, fs []store.FollowUp, sealed []int, out []string) error {
	var sk crypto.SubjectKey
	var err error
	if e.DeletionRequestID != nil {
		sk, err = deletionKey(tx, keys, *e.DeletionRequestID)
	}
	for _, i := range sealed {
		switch {
		case errors.Is(err, crypto.ErrShredded):
			out[i] = erased
		case err != nil || e.DeletionRequestID == nil:
			out[i] = unreadable
		default:
			if b, oerr := sk.Open(fieldAnswer, fs[i].AnswerEnc); oerr != nil {
				out[i] = unreadable
			} else {
				out[i] = string(b)
			}
		}
	}
	if err != nil && !errors.Is(err, crypto.ErrShredded) && !errors.Is(err, gorm.ErrRecordNotFound) {
		return err
	}
	return nil
}

// SealClearAnswers seals answers written in clear before they were sealed,
// for escalations about one person (a shredded person's answers are
// emptied), and answers how many it sealed. It runs at start: a case's
// answers are sealed by intake (in), a deletion request's with the master
// key, which the database never holds.
func SealClearAnswers(ctx context.Context, db *gorm.DB, keys *crypto.Keyring, in store.Intake) (int, error) {
	n := 0
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []store.FollowUp
		if err := tx.Omit("attachment").Where("answer <> '' AND escalation_id IN (?)",
			tx.Model(&store.Escalation{}).Select("id").Where("case_id IS NOT NULL OR deletion_request_id IS NOT NULL")).
			Find(&rows).Error; err != nil {
			return err
		}
		for _, f := range rows {
			var e store.Escalation
			if err := tx.Take(&e, "id = ?", f.EscalationID).Error; err != nil {
				return err
			}
			enc, err := sealAnswer(ctx, tx, keys, in, e, f.Answer)
			if err != nil && !errors.Is(err, errAnswerErased) {
				return err
			}
			if err := tx.Model(&store.FollowUp{}).Where("id = ?", f.ID).
				Updates(map[string]any{"answer": "", "answer_enc": enc}).Error; err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
