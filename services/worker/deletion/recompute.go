package deletionworker

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/deletion"
	wf "github.com/redress/redress/workflows/deletion"
)

// RecomputeDue recomputes the request's due date from its rule on the
// calendars in force — read again from the database first, so a calendar
// confirmed a moment ago counts — and writes it with an audit entry naming
// the old and the new date when it moved. An answered request keeps its date.
func (a *Activities) RecomputeDue(ctx context.Context, id string, act wf.Action) (wf.Snapshot, error) {
	if a.Policy == nil {
		return wf.Snapshot{}, nonRetryable("no policy engine: the due date cannot be recomputed")
	}
	if a.Calendars != nil {
		if err := a.Calendars.Refresh(ctx); err != nil {
			return wf.Snapshot{}, err
		}
	}
	details := map[string]any{"reason": "calendar_confirmed"}
	return a.change(ctx, id, act.Actor, "deletion.deadline_recomputed", details,
		func(tx *gorm.DB, r *deletion.Request) (bool, error) {
			if slices.Contains([]string{wf.StatusCompleted, wf.StatusRestricted, wf.StatusRejected, wf.StatusCancelled, wf.StatusFailed}, r.Status) {
				return false, nil
			}
			d, err := deletion.DueFor(a.Policy, *r)
			if err != nil {
				return false, nonRetryable("recompute: " + err.Error())
			}
			if d.DueAt.Equal(r.DueAt) {
				return false, nil
			}
			old := r.DueAt
			r.DueAt, r.DueRule = d.DueAt.UTC(), d.RuleID
			details["old_due_at"], details["new_due_at"], details["due_rule"] = old.UTC().Format(time.RFC3339), r.DueAt.Format(time.RFC3339), r.DueRule
			if r.DueAt.Before(old) {
				return true, a.dueMovedEarlier(ctx, tx, r.ID, old, r.DueAt)
			}
			return true, nil
		})
}

// dueMovedEarlier records, with the dates, that a confirmed calendar
// brought a request's due date forward, and alerts those who approve plans
// or complete their tasks. The alert is raised before the transaction
// commits: a retry raises the same event (its key names the new date),
// which adds nothing.
func (a *Activities) dueMovedEarlier(ctx context.Context, tx *gorm.DB, id string, oldDue, newDue time.Time) error {
	_, err := audit.Append(tx, audit.Entry{
		Actor: "system:workflow", Action: "deletion.deadline_moved_earlier", ObjectType: "deletion_request", ObjectID: id,
		Details: map[string]any{"old_due_at": oldDue.UTC().Format(time.RFC3339), "new_due_at": newDue.UTC().Format(time.RFC3339)},
	})
	if err != nil || a.Alerts == nil {
		return err
	}
	due := newDue.UTC()
	return a.Alerts.Raise(ctx, alerts.Event{Kind: alerts.DeadlineMovedEarlier,
		Key: "deletion/" + id + "/moved_earlier/" + due.Format(time.RFC3339), SubjectType: "deletion_request", SubjectRef: "DR-" + id[:8],
		Note: "due date moved earlier, from " + oldDue.UTC().Format(time.RFC3339), Link: "/deletions/" + id, DueAt: &due})
}
