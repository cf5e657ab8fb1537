package deletion

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/crypto"
)

// Free texts about a request (the attestation, reject, cancel and extension
// reasons, manual-task notes) can name the requester: they are sealed under
// the request's subject key, so forgetting the requester erases them too.
const (
	fieldAttestation = "deletion.attestation_reason"
	// FieldReasonText seals reason texts, in deletion_reason_texts and copied
	// (ciphertext as is: same key, same field) into deletion_requests.
	FieldReasonText = "deletion.reason_text"
	fieldNote       = "deletion.manual_task_note"
	// Erased is shown for a text whose key was shredded.
	Erased = "[erased]"
)

// requestKey loads the subject key of request deletionID.
func requestKey(tx *gorm.DB, keys *crypto.Keyring, deletionID string) (crypto.SubjectKey, error) {
	var keyIDs []string
	if err := tx.Model(&Request{}).Where("id = ?", deletionID).Pluck("subject_key_id", &keyIDs).Error; err != nil {
		return crypto.SubjectKey{}, err
	}
	if len(keyIDs) != 1 {
		return crypto.SubjectKey{}, gorm.ErrRecordNotFound
	}
	return keys.SubjectKey(tx, keyIDs[0])
}

// OpenText decrypts a sealed text; "" when there is none, Erased when the
// key was shredded (keyErr is the error of loading the key).
func OpenText(sk crypto.SubjectKey, keyErr error, field string, enc []byte) string {
	if len(enc) == 0 {
		return ""
	}
	if keyErr != nil {
		if errors.Is(keyErr, crypto.ErrShredded) {
			return Erased
		}
		return "[unreadable]"
	}
	b, err := sk.Open(field, enc)
	if err != nil {
		return "[unreadable]"
	}
	return string(b)
}

// StoredReasonText is the sealed reason text textID of request deletionID
// (nil when there is no such text).
func StoredReasonText(tx *gorm.DB, deletionID, textID string) ([]byte, bool, error) {
	var rows []struct{ TextEnc []byte }
	if err := tx.Table("deletion_reason_texts").Select("text_enc").Where("id = ? AND deletion_id = ?", textID, deletionID).
		Scan(&rows).Error; err != nil {
		return nil, false, err
	}
	if len(rows) != 1 {
		return nil, false, nil
	}
	return rows[0].TextEnc, true, nil
}

// SealClearTexts seals the texts written in clear before they were sealed
// (under each request's key; a shredded request's texts are emptied) and
// answers how many rows it converted. It runs at start: the master key is
// needed, which the database never holds.
func SealClearTexts(ctx context.Context, db *gorm.DB, keys *crypto.Keyring) (int, error) {
	n := 0
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, t := range []struct{ table, key, clear, enc, field string }{
			{"deletion_requests", "id", "attestation_reason", "attestation_reason_enc", fieldAttestation},
			{"deletion_requests", "id", "reason_text", "reason_text_enc", FieldReasonText},
			{"deletion_reason_texts", "deletion_id", "text", "text_enc", FieldReasonText},
			{"deletion_manual_tasks", "deletion_id", "note", "note_enc", fieldNote},
		} {
			var rows []struct {
				Ctid, DeletionID, Clear string
			}
			if err := tx.Raw(`SELECT ctid::text AS ctid, ` + t.key + ` AS deletion_id, ` + t.clear + ` AS clear FROM ` + t.table +
				` WHERE ` + t.clear + ` <> '' FOR UPDATE`).Scan(&rows).Error; err != nil {
				return err
			}
			for _, r := range rows {
				var enc []byte
				sk, err := requestKey(tx, keys, r.DeletionID)
				switch {
				case err == nil:
					if enc, err = sk.Seal(t.field, []byte(r.Clear)); err != nil {
						return err
					}
				case !errors.Is(err, crypto.ErrShredded):
					return err
				}
				if err := tx.Exec(`UPDATE `+t.table+` SET `+t.clear+` = '', `+t.enc+` = ? WHERE ctid = ?::tid`, enc, r.Ctid).Error; err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}
