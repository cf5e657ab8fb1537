package deletion

import (
	"errors"

	"go.temporal.io/sdk/workflow"
)

// versionCalendarUpdate names the change that lets a confirmed official
// calendar move a running request's due date through UpdateRecomputeDue
// (one activity; watchDeadline re-arms on the new date).
const versionCalendarUpdate = "calendar-update"

// UpdateRecomputeDue recomputes the request's due date on the calendars in
// force. Sent by the deletion service when a confirmed calendar changes the
// date its rule gives, so the workflow stays the single writer of it.
const UpdateRecomputeDue = "recompute_due"

// actRecomputeDue recomputes and writes the due date (registered by Register).
const actRecomputeDue = "DeletionRecomputeDue"

// recomputable: only a request still waiting for its answer has a running due date.
func (w *wf) recomputable(Action) error {
	if w.done || w.stopped || terminal(w.snap.Status) || w.snap.Status == StatusRestricted {
		return errors.New("the request is answered or closed: its due date no longer runs")
	}
	return nil
}

func (w *wf) recomputeDue(ctx workflow.Context, a Action) error {
	if workflow.GetVersion(ctx, versionCalendarUpdate, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil // unreachable on a new run: the handler's commands are versioned like any change
	}
	return workflow.ExecuteActivity(ctx, actRecomputeDue, w.id, a).Get(ctx, &w.snap)
}
