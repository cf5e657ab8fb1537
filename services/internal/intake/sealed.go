package intake

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/records"
)

// A case's free texts (description, reported value, attachment names) hold
// personal data: they are sealed under the complainant's subject key, so
// shredding the key erases them, and found through keyed search tokens.
const (
	fieldDescription    = "description"
	fieldSubjectValue   = "subject_value"
	fieldAttachmentName = "attachment_name"
	fieldAttachment     = "attachment" // an attachment's content
	// erased is shown for a text whose subject key was shredded.
	erased = "[erased]"
)

// sealCaseText seals c's clear texts into their Enc columns.
func sealCaseText(sk crypto.SubjectKey, c *records.Case) error {
	var err error
	if c.DescriptionEnc, err = sk.Seal(fieldDescription, []byte(c.Description)); err != nil {
		return err
	}
	c.SubjectValueEnc, err = sk.Seal(fieldSubjectValue, []byte(c.SubjectValue))
	return err
}

// openCaseText fills c's clear texts; ok is false when the key is gone.
func openCaseText(sk crypto.SubjectKey, ok bool, c *records.Case) {
	c.Description = openText(sk, ok, fieldDescription, c.DescriptionEnc)
	c.SubjectValue = openText(sk, ok, fieldSubjectValue, c.SubjectValueEnc)
}

func openText(sk crypto.SubjectKey, ok bool, field string, enc []byte) string {
	if len(enc) == 0 {
		return ""
	}
	if !ok {
		return erased
	}
	b, err := sk.Open(field, enc)
	if err != nil {
		return "[unreadable]"
	}
	return string(b)
}

// caseTokens are the search tokens of a case's texts.
func caseTokens(keys *crypto.Keyring, caseID string, texts ...string) []records.CaseSearchToken {
	seen := map[string]bool{}
	var out []records.CaseSearchToken
	for _, t := range texts {
		for _, h := range keys.SearchTokens(t) {
			if !seen[string(h)] {
				seen[string(h)] = true
				out = append(out, records.CaseSearchToken{TokenHash: h, CaseID: caseID})
			}
		}
	}
	return out
}

// caseKeys loads the subject keys of the cases' complainants, by complainant
// id; a shredded subject is absent.
func (s *Server) caseKeys(dbc *gorm.DB, cases []records.Case) (map[string]crypto.SubjectKey, error) {
	ids := make([]string, 0, len(cases))
	for _, c := range cases {
		ids = append(ids, c.ComplainantID)
	}
	var comps []records.Complainant
	if len(ids) > 0 {
		if err := dbc.Select("id", "subject_key_id").Where("id IN ?", ids).Find(&comps).Error; err != nil {
			return nil, err
		}
	}
	keyIDs := make([]string, len(comps))
	for i, c := range comps {
		keyIDs[i] = c.SubjectKeyID
	}
	keys, err := s.keys.SubjectKeys(dbc, keyIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]crypto.SubjectKey, len(comps))
	for _, c := range comps {
		if k, ok := keys[c.SubjectKeyID]; ok {
			out[c.ID] = k
		}
	}
	return out, nil
}

// sealBatch is how many rows SealClearTexts converts per transaction.
const sealBatch = 500

// SealClearTexts seals the clear texts of cases and attachment names written
// before they were sealed at intake, builds their search tokens and empties
// the clear columns; a shredded subject's texts are emptied unsealed (they
// were erased). It runs online at start (it needs the master key, which the
// database never holds) and answers how many rows it converted. It waits
// for rows another transaction holds rather than skipping them: a skipped
// row stayed in clear until the next start. Rows are locked in id order, so
// two replicas sealing at once wait for each other and never deadlock (the
// second finds the first's rows no longer clear).
func SealClearTexts(ctx context.Context, db *gorm.DB, keys *crypto.Keyring) (int, error) {
	total := 0
	for {
		n, err := sealCaseBatch(ctx, db, keys)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
	}
	for {
		n, err := sealAttachmentBatch(ctx, db, keys)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
	}
}

type clearCase struct {
	ID, ComplainantID, Description, SubjectValue string
}

func sealCaseBatch(ctx context.Context, db *gorm.DB, keys *crypto.Keyring) (int, error) {
	n := 0
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []clearCase
		if err := tx.Raw(`SELECT id, complainant_id, description, subject_value FROM cases
			WHERE description <> '' OR subject_value <> '' ORDER BY id LIMIT ? FOR UPDATE`, sealBatch).
			Scan(&rows).Error; err != nil {
			return err
		}
		n = len(rows)
		srv := &Server{keys: keys}
		cases := make([]records.Case, len(rows))
		for i, r := range rows {
			cases[i] = records.Case{ID: r.ID, ComplainantID: r.ComplainantID}
		}
		sks, err := srv.caseKeys(tx, cases)
		if err != nil {
			return err
		}
		var tokens []records.CaseSearchToken
		for i, r := range rows {
			c := &cases[i]
			if sk, ok := sks[r.ComplainantID]; ok {
				c.Description, c.SubjectValue = r.Description, r.SubjectValue
				if err := sealCaseText(sk, c); err != nil {
					return err
				}
				tokens = append(tokens, caseTokens(keys, r.ID, r.Description, r.SubjectValue)...)
			}
			if err := tx.Exec(`UPDATE cases SET description = '', subject_value = '',
				description_enc = ?, subject_value_enc = ? WHERE id = ?`, c.DescriptionEnc, c.SubjectValueEnc, r.ID).Error; err != nil {
				return err
			}
		}
		if len(tokens) == 0 {
			return nil
		}
		return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&tokens, 1000).Error
	})
	return n, err
}

func sealAttachmentBatch(ctx context.Context, db *gorm.DB, keys *crypto.Keyring) (int, error) {
	n := 0
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct{ ID, FileName, SubjectKeyID string }
		if err := tx.Raw(`SELECT a.id, a.file_name, p.subject_key_id FROM attachments a
			JOIN cases c ON c.id = a.case_id JOIN complainants p ON p.id = c.complainant_id
			WHERE a.file_name <> '' ORDER BY a.id LIMIT ? FOR UPDATE OF a`, sealBatch).Scan(&rows).Error; err != nil {
			return err
		}
		n = len(rows)
		for _, r := range rows {
			var enc []byte
			sk, err := keys.SubjectKey(tx, r.SubjectKeyID)
			switch {
			case err == nil:
				if enc, err = sk.Seal(fieldAttachmentName, []byte(r.FileName)); err != nil {
					return err
				}
			case !errors.Is(err, crypto.ErrShredded):
				return fmt.Errorf("intake: seal attachment name: %w", err)
			}
			if err := tx.Exec(`UPDATE attachments SET file_name = '', file_name_enc = ? WHERE id = ?`, enc, r.ID).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
