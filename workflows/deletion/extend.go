package deletion

import (
	"errors"

	"go.temporal.io/sdk/workflow"
)

// actRecordExtension moves the request's due date (registered by Register).
const actRecordExtension = "DeletionRecordExtension"

// extendable judges an extension of the deadline: with a reason, once,
// before the due date, while the request is neither answered nor stopped,
// and to a later date. Whether the policy allows one at all the service
// decides (it holds the policy engine) before asking.
func (w *wf) extendable(ctx workflow.Context) func(Action) error {
	return func(a Action) error {
		switch {
		case a.ReasonCode == "":
			return errors.New("a reason code is required")
		case w.done || w.stopped || terminal(w.snap.Status) || w.snap.Status == StatusRestricted:
			return errors.New("the request is answered or closed: its deadline can no longer be extended")
		case w.snap.Extended:
			return errors.New("the deadline was already extended once")
		case !workflow.Now(ctx).Before(w.snap.DueAt):
			return errors.New("the due date has passed: an extension must be made before it")
		case !a.NewDueAt.After(w.snap.DueAt):
			return errors.New("the new due date is not later than the current one")
		}
		return nil
	}
}

// extend records the new due date (watchDeadline re-arms on it) and tells
// the requester.
func (w *wf) extend(ctx workflow.Context, a Action) error {
	if err := workflow.ExecuteLocalActivity(ctx, actRecordExtension, w.id, a).Get(ctx, &w.snap); err != nil {
		return err
	}
	return workflow.ExecuteActivity(ctx, actNotify, NoticeInput{DeletionID: w.id, Kind: NoticeExtended}).Get(ctx, nil)
}
