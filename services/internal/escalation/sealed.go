package escalation

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/escalation/store"
)

// Answers to a regulator's follow-up questions about one person's case or
// deletion request can name them: they are sealed under that person's
// subject key, so crypto-shredding erases them too. A case's answers are
// sealed and opened by intake, which holds its complainants' keys; a
// deletion request's by the deletion service, which holds its requesters'.
// An incident's answers concern many cases and stay in clear.
const (
	erased     = "[erased]"
	unreadable = "[unreadable]"
)

// errAnswerErased: the person the escalation is about was erased.
var errAnswerErased = errors.New("the person this escalation is about was erased")

// openBatch is the most answers intake or deletion opens at a time.
const openBatch = 100

// Owners are the services holding the keys of the people escalations are
// about: intake for complainants, deletion for requesters.
type Owners struct {
	Intake   store.Intake
	Deletion store.Deletion
}

// opened is an answer as an owner opened it.
type opened interface {
	GetText() string
	GetErased() bool
	GetUnreadable() bool
}

// sealAnswer seals an answer of escalation e under the key of the person it
// is about (nil: kept in clear), or answers errAnswerErased.
func sealAnswer(ctx context.Context, own Owners, e store.Escalation, text string) ([]byte, error) {
	var sealed []byte
	var err error
	switch {
	case e.CaseID != nil:
		var res *intakev1.SealCaseAnswerResponse
		res, err = own.Intake.SealCaseAnswer(ctx, &intakev1.SealCaseAnswerRequest{CaseId: *e.CaseID, Answer: text})
		sealed = res.GetSealed()
	case e.DeletionRequestID != nil:
		var res *deletionv1.SealRequestAnswerResponse
		res, err = own.Deletion.SealRequestAnswer(ctx, &deletionv1.SealRequestAnswerRequest{RequestId: *e.DeletionRequestID, Answer: text})
		sealed = res.GetSealed()
	default:
		return nil, nil
	}
	if status.Code(err) == codes.FailedPrecondition {
		return nil, errAnswerErased
	}
	return sealed, err
}

// openAnswers answers the follow-ups' answers in clear, in order (erased
// once the person's key is shredded).
func openAnswers(ctx context.Context, own Owners, e store.Escalation, fs []store.FollowUp) ([]string, error) {
	out := make([]string, len(fs))
	var sealed []int
	for i, f := range fs {
		if len(f.AnswerEnc) == 0 {
			out[i] = f.Answer
		} else {
			sealed = append(sealed, i)
		}
	}
	for len(sealed) > 0 {
		batch := sealed[:min(openBatch, len(sealed))]
		sealed = sealed[len(batch):]
		var enc [][]byte
		for _, i := range batch {
			enc = append(enc, fs[i].AnswerEnc)
		}
		res, err := openBatchOf(ctx, own, e, enc)
		if err != nil {
			return nil, err
		}
		for j := range batch {
			switch a := res[j]; {
			case a == nil || a.GetUnreadable():
				out[batch[j]] = unreadable
			case a.GetErased():
				out[batch[j]] = erased
			default:
				out[batch[j]] = a.GetText()
			}
		}
	}
	return out, nil
}

// openBatchOf has the owner of e's person open a batch of answers; an
// escalation about nobody has none it can read.
func openBatchOf(ctx context.Context, own Owners, e store.Escalation, enc [][]byte) ([]opened, error) {
	out := make([]opened, len(enc))
	switch {
	case e.CaseID != nil:
		res, err := own.Intake.OpenCaseAnswers(ctx, &intakev1.OpenCaseAnswersRequest{CaseId: *e.CaseID, Sealed: enc})
		if err != nil {
			return nil, err
		}
		for i, a := range res.GetAnswers() {
			out[i] = a
		}
	case e.DeletionRequestID != nil:
		res, err := own.Deletion.OpenRequestAnswers(ctx, &deletionv1.OpenRequestAnswersRequest{RequestId: *e.DeletionRequestID, Sealed: enc})
		if status.Code(err) == codes.NotFound {
			return out, nil // the request is gone: nothing to read them under
		} else if err != nil {
			return nil, err
		}
		for i, a := range res.GetAnswers() {
			out[i] = a
		}
	}
	return out, nil
}

// SealClearAnswers seals answers written in clear before they were sealed,
// for escalations about one person (a shredded person's answers are
// emptied), and answers how many it sealed. It runs at start: a case's
// answers are sealed by intake, a deletion request's by the deletion
// service.
func SealClearAnswers(ctx context.Context, db *gorm.DB, own Owners) (int, error) {
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
			enc, err := sealAnswer(ctx, own, e, f.Answer)
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
