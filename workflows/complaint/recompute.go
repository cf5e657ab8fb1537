package complaint

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// versionCalendarUpdate names the change that lets a confirmed official
// calendar move a running case's deadlines through the Update
// UpdateRecomputeDeadlines (one activity, then the timers follow).
const versionCalendarUpdate = "calendar-update"

// UpdateRecomputeDeadlines recomputes the case's running deadlines on the
// calendars now in force. Sent by the calendar service after a calendar is
// confirmed, so that the workflow stays the single writer of its deadlines
// and its timers follow the new dates.
const UpdateRecomputeDeadlines = "recompute_deadlines"

// ActivityRecomputeDeadlines is the activity behind UpdateRecomputeDeadlines.
const ActivityRecomputeDeadlines = "RecomputeDeadlines"

// NoticeDeadlineMoved tells the complainant that a deadline told to them moved.
const NoticeDeadlineMoved = "deadline_moved"

// RecomputeInput asks the activity to recompute the case's open (or paused)
// deadlines from their rules on the calendars in force, and to write and
// audit each one that moves. ActionID (the Update's id) makes it idempotent.
type RecomputeInput struct {
	CaseID   string
	ActionID string
	Actor    string
}

// DeadlineMove is one deadline the recomputation moved.
type DeadlineMove struct {
	Kind               string
	OldDueAt, NewDueAt time.Time
	// Communicated: the complainant was told the old date.
	Communicated bool
}

// RecomputeResult is the case after the recomputation and what moved.
type RecomputeResult struct {
	Snapshot CaseSnapshot
	Moved    []DeadlineMove
}

// Recomputer is implemented by the worker beside Activities.
type Recomputer interface {
	RecomputeDeadlines(ctx context.Context, in RecomputeInput) (RecomputeResult, error)
}

func (w *complaintWF) registerRecompute(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateRecomputeDeadlines,
		func(ctx workflow.Context, a Action) (CaseSnapshot, error) {
			w.updating++
			defer func() { w.updating-- }()
			ctx = workflow.WithActivityOptions(ctx, activityOptions())
			if err := w.lock(ctx, true); err != nil {
				return CaseSnapshot{}, err
			}
			defer w.unlock()
			return w.recompute(ctx, a)
		},
		workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, a Action) error {
				if err := w.commands.CheckUpdate(ctx, a.Actor, a.unsealed(), a.Seal); err != nil {
					return err
				}
				if w.updating > 0 {
					return temporal.NewApplicationError("another action on case "+w.caseID+" is in progress: retry", ErrTypeCaseBusy)
				}
				if a.Actor == "" {
					return invalid("%s requires the acting principal (actor)", UpdateRecomputeDeadlines)
				}
				if w.loaded && isTerminal(w.snap.State) {
					return illegal("case %s is %s: its deadlines no longer run", w.caseID, w.snap.State)
				}
				return nil
			},
		})
}

// recompute runs with busy held: the activity writes the new dates, the
// workflow adopts the case as written, re-arms its timers on them and tells
// the complainant when a date told to them moved.
func (w *complaintWF) recompute(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	if isTerminal(w.snap.State) {
		return CaseSnapshot{}, illegal("case %s is %s: its deadlines no longer run", w.caseID, w.snap.State)
	}
	if workflow.GetVersion(ctx, versionCalendarUpdate, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		// Unreachable on a new run; kept so that the handler's commands are
		// versioned like every other change.
		return w.snap, nil
	}
	actionID := ""
	if info := workflow.GetCurrentUpdateInfo(ctx); info != nil {
		actionID = info.ID
	}
	var res RecomputeResult
	err := workflow.ExecuteActivity(ctx, ActivityRecomputeDeadlines, RecomputeInput{
		CaseID: w.caseID, ActionID: actionID, Actor: a.Actor,
	}).Get(ctx, &res)
	if err != nil {
		return CaseSnapshot{}, err
	}
	if res.Snapshot.CaseID == "" {
		res.Snapshot.CaseID = w.caseID
	}
	if res.Snapshot.State == "" {
		res.Snapshot.State = w.snap.State
	}
	w.snap = res.Snapshot
	w.rearm()
	for _, m := range res.Moved {
		if m.Communicated {
			w.notify(NoticeInput{
				CaseID:    w.caseID,
				Kind:      NoticeDeadlineMoved,
				DedupeKey: NoticeDeadlineMoved + "/" + actionID,
			})
			break
		}
	}
	return w.snap, nil
}
