package connectors

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/records"
	wf "github.com/redress/redress/workflows/deletion"
)

// Redress is Redress's own data: complainant records found by the keyed
// hashes of the subject's identifiers. Erasure crypto-shreds their keys (the
// rows and audit digests stay, unreadable) and keeps the identity only as a
// keyed hash in the suppression list.
type Redress struct {
	DB   *gorm.DB
	Keys *crypto.Keyring
}

func matching(db *gorm.DB, s Subject) *gorm.DB {
	q := db.Model(&records.Complainant{}).
		Joins("JOIN subject_keys k ON k.id = complainants.subject_key_id AND k.shredded_at IS NULL")
	switch {
	case s.PhoneIndex != nil && s.EmailIndex != nil:
		return q.Where("complainants.phone_index = ? OR complainants.email_index = ?", s.PhoneIndex, s.EmailIndex)
	case s.PhoneIndex != nil:
		return q.Where("complainants.phone_index = ?", s.PhoneIndex)
	case s.EmailIndex != nil:
		return q.Where("complainants.email_index = ?", s.EmailIndex)
	}
	return q.Where("false")
}

// Locate counts the subject's complainant records whose key is not shredded.
func (r *Redress) Locate(ctx context.Context, s Subject) (Found, error) {
	var ids []string
	if err := matching(r.DB.WithContext(ctx), s).Order("complainants.id").Pluck("complainants.id", &ids).Error; err != nil {
		return Found{}, err
	}
	f := Found{Digest: digest(ids...)}
	if len(ids) > 0 {
		f.Items = []wf.PlanItem{{Target: "complainants", Action: wf.ActionShred, Count: int64(len(ids))}}
	}
	return f, nil
}

// Apply shreds the keys and records the suppression hashes, in one transaction.
func (r *Redress) Apply(ctx context.Context, s Subject, step string, _ []wf.PlanItem) (Result, error) {
	if step != StepExecute {
		return Result{}, nil
	}
	var res Result
	err := r.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var keyIDs []string
		if err := matching(tx, s).Pluck("complainants.subject_key_id", &keyIDs).Error; err != nil {
			return err
		}
		for _, id := range keyIDs {
			if err := r.Keys.Shred(tx, id); err != nil {
				return err
			}
		}
		res.Affected = int64(len(keyIDs))
		// The cases' sealed texts went with the keys; their search tokens
		// and the clear leak source (kept for incident clustering) go now.
		cases := tx.Model(&records.Case{}).Select("cases.id").
			Joins("JOIN complainants p ON p.id = cases.complainant_id").Where("p.subject_key_id IN ?", keyIDs)
		if len(keyIDs) > 0 {
			if err := tx.Where("case_id IN (?)", cases).Delete(&records.CaseSearchToken{}).Error; err != nil {
				return err
			}
			if err := tx.Model(&records.Case{}).Where("id IN (?)", cases).Update("leak_source", "").Error; err != nil {
				return err
			}
		}
		now := time.Now().UTC()
		var sup []deletion.Suppression
		if s.PhoneIndex != nil {
			sup = append(sup, deletion.Suppression{Kind: "phone", Hash: s.PhoneIndex, DeletionID: s.DeletionID, CreatedAt: now})
		}
		if s.EmailIndex != nil {
			sup = append(sup, deletion.Suppression{Kind: "email", Hash: s.EmailIndex, DeletionID: s.DeletionID, CreatedAt: now})
		}
		if len(sup) == 0 {
			return nil
		}
		return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&sup).Error
	})
	return res, err
}

// Remaining counts matching records whose key still exists.
func (r *Redress) Remaining(ctx context.Context, s Subject, step string) (int64, error) {
	if step != StepExecute {
		return 0, nil
	}
	var n int64
	err := matching(r.DB.WithContext(ctx), s).Count(&n).Error
	return n, err
}

// Suppressed tells whether an identity was deleted before (for syncs and intake).
func Suppressed(db *gorm.DB, kind string, hash []byte) (bool, error) {
	var n int64
	err := db.Model(&deletion.Suppression{}).Where("kind = ? AND hash = ?", kind, hash).Count(&n).Error
	return n > 0, err
}

// Manual is a connector a person works: Apply opens a task, which an agent
// completes in the console or through CompleteManualTask with a note.
type Manual struct {
	DB   *gorm.DB
	Name string
}

// Locate cannot look into the system: it plans one task.
func (m *Manual) Locate(ctx context.Context, s Subject) (Found, error) {
	return Found{Items: []wf.PlanItem{{Target: m.Name, Action: wf.ActionTask, Count: 1}}, Digest: digest(m.Name, s.DeletionID)}, nil
}

// Apply opens the task (once).
func (m *Manual) Apply(ctx context.Context, s Subject, step string, _ []wf.PlanItem) (Result, error) {
	if step != StepExecute {
		return Result{}, nil
	}
	res := m.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&deletion.ManualTask{
		DeletionID: s.DeletionID, Connector: m.Name, Status: "open", CreatedAt: time.Now().UTC()})
	return Result{Affected: res.RowsAffected, Reference: "task:" + m.Name}, res.Error
}

// Remaining is 1 until the task is done.
func (m *Manual) Remaining(ctx context.Context, s Subject, step string) (int64, error) {
	if step != StepExecute {
		return 0, nil
	}
	var n int64
	err := m.DB.WithContext(ctx).Model(&deletion.ManualTask{}).
		Where("deletion_id = ? AND connector = ? AND status <> 'done'", s.DeletionID, m.Name).Count(&n).Error
	return n, err
}
