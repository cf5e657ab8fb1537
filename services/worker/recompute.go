package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/policy"
)

// RecomputeDeadlines recomputes the case's running (open or paused)
// deadlines from the policy on the calendars in force — read again from the
// database first, so a calendar confirmed a moment ago counts — and writes
// each one that moves (or stops being provisional) with an audit entry
// naming the old and the new date, in one transaction. The Update's id is
// recorded first: a retry writes nothing twice.
func (a *Activities) RecomputeDeadlines(ctx context.Context, in complaint.RecomputeInput) (complaint.RecomputeResult, error) {
	if in.CaseID == "" || in.ActionID == "" {
		return complaint.RecomputeResult{}, temporal.NewNonRetryableApplicationError("case id and action id are required", complaint.ErrTypeInvalidInput, nil)
	}
	if a.Calendars != nil {
		if err := a.Calendars.Refresh(ctx); err != nil {
			return complaint.RecomputeResult{}, err
		}
	}
	actor := in.Actor
	if actor == "" {
		actor = systemActor
	}
	var res complaint.RecomputeResult
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c records.Case
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Omit("lookup_code_hash", "lookup_code_enc", "description").Take(&c, "id = ?", in.CaseID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return temporal.NewNonRetryableApplicationError("case not on record", complaint.ErrTypeCaseNotFound, err)
			}
			return err
		}
		now := time.Now().UTC()
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&records.CaseAction{
			ActionID: in.ActionID, CaseID: in.CaseID, Action: complaint.UpdateRecomputeDeadlines,
			FromState: c.State, ToState: c.State, Actor: actor, AppliedAt: now,
		})
		if ins.Error != nil {
			return ins.Error
		}
		if ins.RowsAffected > 0 {
			moved, err := a.recompute(ctx, tx, c, actor, now)
			if err != nil {
				return err
			}
			res.Moved = moved
		}
		var err error
		res.Snapshot, err = a.snapshot(tx, in.CaseID)
		return err
	})
	return res, err
}

func (a *Activities) recompute(ctx context.Context, tx *gorm.DB, c records.Case, actor string, now time.Time) ([]complaint.DeadlineMove, error) {
	dec, err := a.Policy.Decide(policy.Facts{
		Pack: c.PolicyPack, Kind: c.Kind, Category: c.Category, Channel: c.Channel,
		ReferringBody: c.ReferringBody, ReceivedAt: c.ReceivedAt, RegulatorDueAt: c.RegulatorDueAt,
	})
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("recompute: "+err.Error(), complaint.ErrTypePolicyRefused, err)
	}
	var rows []records.Deadline
	if err := tx.Where("case_id = ? AND status IN ?", c.ID, []string{complaint.DeadlineOpen, complaint.DeadlinePaused}).
		Order("kind").Find(&rows).Error; err != nil {
		return nil, err
	}
	told, err := a.deadlinesTold(tx, c.ID)
	if err != nil {
		return nil, err
	}
	var moved []complaint.DeadlineMove
	changed := false
	for _, old := range rows {
		nd := dec.Acknowledgement
		if old.Kind == complaint.DeadlineResolution {
			nd = dec.Resolution
			if nd, err = a.replayPauses(tx, c.ID, nd); err != nil {
				return nil, err
			}
		}
		if nd.DueAt.Equal(old.DueAt) && nd.Provisional == old.Provisional {
			continue
		}
		changed = true
		reminders, err := json.Marshal(append([]time.Time{}, nd.Reminders...))
		if err != nil {
			return nil, err
		}
		if err := tx.Model(&records.Deadline{}).Where("case_id = ? AND kind = ?", c.ID, old.Kind).Updates(map[string]any{
			"due_at": nd.DueAt, "provisional": nd.Provisional, "rule_id": nd.RuleID, "citation": nd.Citation,
			"pausable": nd.Pausable, "reminders": string(reminders),
		}).Error; err != nil {
			return nil, err
		}
		column := "ack_due_at"
		if old.Kind == complaint.DeadlineResolution {
			column = "resolution_due_at"
		}
		if err := tx.Model(&records.Case{}).Where("id = ?", c.ID).Update(column, nd.DueAt).Error; err != nil {
			return nil, err
		}
		if _, err := audit.Append(tx, audit.Entry{
			Actor: actor, Action: "case.deadline_recomputed", ObjectType: "case", ObjectID: c.ID,
			Details: map[string]any{
				"deadline": old.Kind, "reason": "calendar_confirmed",
				"old_due_at": old.DueAt.UTC().Format(time.RFC3339), "new_due_at": nd.DueAt.UTC().Format(time.RFC3339),
				"old_provisional": old.Provisional, "new_provisional": nd.Provisional,
				"old_rule": old.RuleID, "new_rule": nd.RuleID,
			},
			At: now,
		}); err != nil {
			return nil, err
		}
		if nd.DueAt.Equal(old.DueAt) {
			continue // only the provisional flag changed
		}
		if nd.DueAt.Before(old.DueAt) {
			if err := a.deadlineMovedEarlier(ctx, tx, c, old.Kind, old.DueAt, nd.DueAt, now); err != nil {
				return nil, err
			}
		}
		moved = append(moved, complaint.DeadlineMove{
			Kind: old.Kind, OldDueAt: old.DueAt, NewDueAt: nd.DueAt,
			Communicated: told && (old.Kind == complaint.DeadlineResolution || c.State == complaint.StateReceived),
		})
	}
	if changed {
		// Like every recorded action: the quiet period keys on the version.
		if err := tx.Model(&records.Case{}).Where("id = ?", c.ID).
			Updates(map[string]any{"version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
			return nil, err
		}
	}
	return moved, nil
}

// deadlinesTold reports whether the complainant was told the case's dates:
// the acknowledgement (or an earlier change notice) went out.
func (a *Activities) deadlinesTold(tx *gorm.DB, caseID string) (bool, error) {
	var n int64
	err := tx.Model(&records.Notification{}).Where("case_id = ? AND kind IN ? AND status = 'sent'", caseID,
		[]string{complaint.NoticeAcknowledgement, complaint.NoticeDeadlineMoved}).Count(&n).Error
	return n > 0, err
}

// replayPauses extends a recomputed pausable resolution deadline by the
// pauses the case has been through (information requested, then answered),
// as the workflow did when each pause ended. A pause still running is
// extended when it ends.
func (a *Activities) replayPauses(tx *gorm.DB, caseID string, d policy.Deadline) (policy.Deadline, error) {
	if !d.Pausable {
		return d, nil
	}
	var acts []records.CaseAction
	if err := tx.Where("case_id = ? AND action IN ?", caseID,
		[]string{complaint.UpdateRequestInformation, complaint.UpdateComplainantReplied}).
		Order("applied_at, action_id").Find(&acts).Error; err != nil {
		return d, err
	}
	var from time.Time
	for _, act := range acts {
		switch {
		case act.Action == complaint.UpdateRequestInformation && from.IsZero():
			from = act.AppliedAt
		case act.Action == complaint.UpdateComplainantReplied && !from.IsZero():
			ext, err := a.Policy.ExtendForPause(d, from, act.AppliedAt)
			if err != nil {
				return d, fmt.Errorf("replay pause: %w", err)
			}
			d, from = ext, time.Time{}
		}
	}
	return d, nil
}

// deadlineMovedEarlier records, with the dates, that a confirmed calendar
// brought a case's deadline forward, and alerts the assignee and the
// supervisors (the case number, the deadline's kind and new due time, a
// link). The alert is raised before the transaction commits: should the
// commit fail, the retry raises the same event again (its key names the
// new date), which adds nothing.
func (a *Activities) deadlineMovedEarlier(ctx context.Context, tx *gorm.DB, c records.Case, kind string, oldDue, newDue, at time.Time) error {
	_, err := audit.Append(tx, audit.Entry{
		Actor: systemActor, Action: "case.deadline_moved_earlier", ObjectType: "case", ObjectID: c.ID,
		Details: map[string]any{
			"deadline": kind, "assignee": c.Assignee, "case_number": c.CaseNumber,
			"old_due_at": oldDue.UTC().Format(time.RFC3339), "new_due_at": newDue.UTC().Format(time.RFC3339),
		},
		At: at,
	})
	if err != nil || a.Alerts == nil {
		return err
	}
	due := newDue.UTC()
	return a.Alerts.Raise(ctx, alerts.Event{Kind: alerts.DeadlineMovedEarlier,
		Key: "case/" + c.ID + "/moved_earlier/" + kind + "/" + due.Format(time.RFC3339), SubjectType: "case", SubjectRef: c.CaseNumber,
		Note: fmt.Sprintf("%s deadline moved earlier, from %s", kind, oldDue.UTC().Format(time.RFC3339)),
		Link: "/cases/" + c.ID, DueAt: &due, Assignee: c.Assignee})
}
