package escalation

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/escalation/store"
)

// Answers to a regulator's follow-up questions about one person's case or
// deletion request can name them: they are sealed under that person's
// subject key, so crypto-shredding erases them too. An incident's answers
// concern many cases and stay in clear.
const (
	fieldAnswer = "escalation.follow_up_answer"
	erased      = "[erased]"
)

// answerKeyID is the subject key the escalation's answers are sealed under
// ("" for an incident).
func answerKeyID(tx *gorm.DB, e store.Escalation) (string, error) {
	var ids []string
	var err error
	switch {
	case e.CaseID != nil:
		err = tx.Table("cases").Joins("JOIN complainants p ON p.id = cases.complainant_id").
			Where("cases.id = ?", *e.CaseID).Pluck("p.subject_key_id", &ids).Error
	case e.DeletionRequestID != nil:
		err = tx.Table("deletion_requests").Where("id = ?", *e.DeletionRequestID).Pluck("subject_key_id", &ids).Error
	default:
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(ids) != 1 {
		return "", gorm.ErrRecordNotFound
	}
	return ids[0], nil
}

// openAnswer is a follow-up's answer in clear (erased once the key is shredded).
func openAnswer(keys *crypto.Keyring, tx *gorm.DB, keyID string, f store.FollowUp) string {
	if len(f.AnswerEnc) == 0 {
		return f.Answer
	}
	sk, err := keys.SubjectKey(tx, keyID)
	if errors.Is(err, crypto.ErrShredded) {
		return erased
	}
	if err != nil {
		return "[unreadable]"
	}
	b, err := sk.Open(fieldAnswer, f.AnswerEnc)
	if err != nil {
		return "[unreadable]"
	}
	return string(b)
}

// SealClearAnswers seals answers written in clear before they were sealed,
// for escalations about one person (a shredded person's answers are
// emptied), and answers how many it sealed. It runs at start: it needs the
// master key, which the database never holds.
func SealClearAnswers(ctx context.Context, db *gorm.DB, keys *crypto.Keyring) (int, error) {
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
			keyID, err := answerKeyID(tx, e)
			if err != nil {
				return err
			}
			var enc []byte
			sk, err := keys.SubjectKey(tx, keyID)
			switch {
			case err == nil:
				if enc, err = sk.Seal(fieldAnswer, []byte(f.Answer)); err != nil {
					return err
				}
			case !errors.Is(err, crypto.ErrShredded):
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
