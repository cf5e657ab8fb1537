package connectors

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/deletion"
	wf "github.com/redress/redress/workflows/deletion"
)

// Redress is Redress's own data: intake's complainant records, found by the
// keyed hashes of the subject's identifiers and erased through intake's
// ErasureService (intake crypto-shreds their keys; the rows and audit
// digests stay, unreadable). The deletion service never writes intake's
// tables: it keeps the identity only as a keyed hash in its own suppression
// list.
type Redress struct {
	Intake intakev1.ErasureServiceClient // with the deletion service's credential
	DB     *gorm.DB                      // the deletion record (suppression list)
}

// subject names s to intake by its keyed hashes only (nil: nothing to find).
func (r *Redress) subject(s Subject) *intakev1.ErasureSubject {
	if s.PhoneIndex == nil && s.EmailIndex == nil {
		return nil
	}
	return &intakev1.ErasureSubject{DeletionRequestId: s.DeletionID, PhoneIndex: s.PhoneIndex, EmailIndex: s.EmailIndex}
}

// Locate asks intake for the subject's complainant records whose key is not shredded.
func (r *Redress) Locate(ctx context.Context, s Subject) (Found, error) {
	sub := r.subject(s)
	if sub == nil {
		return Found{Digest: digest()}, nil
	}
	resp, err := r.Intake.Locate(ctx, &intakev1.LocateRequest{Subject: sub})
	if err != nil {
		return Found{}, fmt.Errorf("intake erasure: locate: %w", err)
	}
	f := Found{Digest: resp.GetDigest()}
	for _, it := range resp.GetItems() {
		f.Items = append(f.Items, wf.PlanItem{Target: it.GetTarget(), Action: it.GetAction(), Count: it.GetCount()})
	}
	return f, nil
}

// Apply records the suppression hashes (the deletion service's own record:
// written first, so a person whose data is going never comes back through a
// sync) and asks intake to erase. Both are safe to repeat.
func (r *Redress) Apply(ctx context.Context, s Subject, step string, _ []wf.PlanItem) (Result, error) {
	sub := r.subject(s)
	if step != StepExecute || sub == nil {
		return Result{}, nil
	}
	now := time.Now().UTC()
	var sup []deletion.Suppression
	if s.PhoneIndex != nil {
		sup = append(sup, deletion.Suppression{Kind: "phone", Hash: s.PhoneIndex, DeletionID: s.DeletionID, CreatedAt: now})
	}
	if s.EmailIndex != nil {
		sup = append(sup, deletion.Suppression{Kind: "email", Hash: s.EmailIndex, DeletionID: s.DeletionID, CreatedAt: now})
	}
	if err := r.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&sup).Error; err != nil {
		return Result{}, err
	}
	resp, err := r.Intake.Apply(ctx, &intakev1.ApplyRequest{Subject: sub, Step: step})
	if err != nil {
		return Result{}, fmt.Errorf("intake erasure: apply: %w", err)
	}
	return Result{Affected: resp.GetAffected()}, nil
}

// Remaining asks intake what still matches.
func (r *Redress) Remaining(ctx context.Context, s Subject, step string) (int64, error) {
	sub := r.subject(s)
	if step != StepExecute || sub == nil {
		return 0, nil
	}
	resp, err := r.Intake.Remaining(ctx, &intakev1.RemainingRequest{Subject: sub, Step: step})
	if err != nil {
		return 0, fmt.Errorf("intake erasure: remaining: %w", err)
	}
	return resp.GetRemaining(), nil
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
