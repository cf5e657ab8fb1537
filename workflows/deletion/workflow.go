package deletion

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

// Activity names (registered by Register).
const (
	actLoad           = "DeletionLoad"
	actSetStatus      = "DeletionSetStatus"
	actRecordIdentity = "DeletionRecordIdentity"
	actRecordApproval = "DeletionRecordApproval"
	actConnectors     = "DeletionEnabledConnectors"
	actLocate         = "DeletionLocate"
	actBuildPlan      = "DeletionBuildPlan"
	actApply          = "DeletionApply"
	actVerify         = "DeletionVerify"
	actFinish         = "DeletionFinish"
	actBreach         = "DeletionRecordBreach"
	actEscalate       = "DeletionEscalate"
	actNotify         = "DeletionNotify"
	actRemind         = "DeletionRemind"
	actForget         = "DeletionForgetRequester"
)

// ErrDataRemaining is the error type a Verify activity returns while a
// connector still holds matching data; it is retried, then escalated.
const ErrDataRemaining = "DataRemaining"

// ReminderEvery is how often a reviewer is reminded of a plan awaiting approval.
const ReminderEvery = 24 * time.Hour

func activityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{"InvalidInput"},
		},
	}
}

// localOptions are for the short steps that only read or write Redress's own
// database: run inside the workflow task, they cost one marker event instead
// of a task-queue round trip and several history writes each.
func localOptions() workflow.LocalActivityOptions {
	o := activityOptions()
	return workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: o.RetryPolicy}
}

// verifyOptions bound the re-query: a connector that still holds data after
// these attempts is escalated to a person.
func verifyOptions() workflow.ActivityOptions {
	o := activityOptions()
	o.RetryPolicy = &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 8,
	}
	return o
}

type wf struct {
	id       string
	commands *command.Verifier
	snap     Snapshot
	plan     Plan
	approved bool
	stopped  bool // rejected or cancelled
	done     bool // the request was answered (completed, restricted, failed)
	loaded   bool
	planning bool // between locating and the plan's result: steps wait for it
}

func terminal(status string) bool {
	return slices.Contains([]string{StatusCompleted, StatusRejected, StatusCancelled, StatusFailed}, status)
}

// Workflow returns DeletionWorkflow, which runs one request from identity to
// certificate, with the verifier of the services' command seals.
func Workflow(commands *command.Verifier) func(workflow.Context, Input) error {
	return func(ctx workflow.Context, in Input) error { return deletionWorkflow(ctx, in, commands) }
}

func deletionWorkflow(ctx workflow.Context, in Input, commands *command.Verifier) error {
	ctx = workflow.WithLocalActivityOptions(workflow.WithActivityOptions(ctx, activityOptions()), localOptions())
	w := &wf{id: in.DeletionID, commands: commands}
	// Handlers first, so an update arriving with the start is not lost; they
	// wait for the snapshot before judging it.
	if err := w.handleUpdates(ctx); err != nil {
		return err
	}
	err := w.run(ctx, in)
	// A reject or cancel handler may still be sending its notice when the
	// run sees the request stopped: the workflow completes after it, or the
	// caller's update would fail with the workflow gone.
	if werr := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err == nil {
		err = werr
	}
	return err
}

// run takes the request from its record to the end.
func (w *wf) run(ctx workflow.Context, in Input) error {
	if err := workflow.ExecuteLocalActivity(ctx, actLoad, in.DeletionID).Get(ctx, &w.snap); err != nil {
		return err
	}
	w.loaded = true
	if terminal(w.snap.Status) {
		return nil
	}
	workflow.Go(ctx, w.watchDeadline)

	if err := workflow.Await(ctx, func() bool { return w.snap.IdentityVerified || w.stopped }); err != nil || w.stopped {
		return err
	}
	if err := w.locateAndPlan(ctx); err != nil || w.stopped {
		return err
	}
	for !w.approved && !w.stopped {
		ok, err := workflow.AwaitWithTimeout(ctx, ReminderEvery, func() bool { return w.approved || w.stopped })
		if err != nil {
			return err
		}
		if !ok {
			if err := workflow.ExecuteActivity(ctx, actRemind, w.id).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	if w.stopped {
		return nil
	}
	// From here the request runs to its end: no more cancellation.
	if err := w.executePhase(ctx, "execute", w.plan.Items); err != nil {
		return err
	}
	if w.plan.RestrictUntil == nil {
		return nil
	}
	// Retention floor: a durable timer until the duty ends, then deletion.
	if d := w.plan.RestrictUntil.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	var deferred []PlanItem
	for _, it := range w.plan.Items {
		if it.Action == ActionRestrict {
			deferred = append(deferred, it)
		}
	}
	return w.executePhase(ctx, "deferred", deferred)
}

func (w *wf) handleUpdates(ctx workflow.Context) error {
	busy := false // one human step at a time
	guard := func(ctx workflow.Context, fn func() error) error {
		if err := workflow.Await(ctx, func() bool { return w.loaded && !w.planning && !busy }); err != nil {
			return err
		}
		busy = true
		defer func() { busy = false }()
		return fn()
	}
	reg := func(name string, validate func(Action) error, fn func(ctx workflow.Context, a Action) error) error {
		return workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, a Action) (Snapshot, error) {
				ctx = workflow.WithLocalActivityOptions(workflow.WithActivityOptions(ctx, activityOptions()), localOptions())
				err := guard(ctx, func() error {
					if err := validate(a); err != nil { // state may have moved while waiting
						return err
					}
					return fn(ctx, a)
				})
				return w.snap, err
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, a Action) error {
				if a.Actor == "" {
					return errors.New("actor is required")
				}
				if err := w.commands.CheckUpdate(ctx, a.Actor, a.unsealed(), a.Seal); err != nil {
					return err
				}
				if !w.loaded || w.planning {
					return nil // judged by the handler once loaded and planned
				}
				return validate(a)
			}})
	}
	if err := reg(UpdateIdentityVerified,
		func(a Action) error {
			if w.snap.Status != StatusAwaitingIdentity || w.stopped {
				return errors.New("the request is not awaiting identity verification")
			}
			return nil
		},
		func(ctx workflow.Context, a Action) error {
			return workflow.ExecuteLocalActivity(ctx, actRecordIdentity, w.id, a).Get(ctx, &w.snap)
		}); err != nil {
		return err
	}
	if err := reg(UpdateApprove,
		func(a Action) error {
			if w.snap.Status != StatusAwaitingApproval || w.approved || w.stopped {
				return errors.New("the request has no plan awaiting approval")
			}
			if a.PlanDigest != w.plan.Digest {
				return errors.New("the plan changed since it was reviewed: read the plan again and approve its current digest")
			}
			return nil
		},
		func(ctx workflow.Context, a Action) error {
			if err := workflow.ExecuteLocalActivity(ctx, actRecordApproval, w.id, a).Get(ctx, &w.snap); err != nil {
				return err
			}
			w.approved = true
			return nil
		}); err != nil {
		return err
	}
	stop := func(status string) func(workflow.Context, Action) error {
		return func(ctx workflow.Context, a Action) error {
			err := workflow.ExecuteLocalActivity(ctx, actSetStatus, StatusInput{
				DeletionID: w.id, Status: status, Actor: a.Actor, ReasonCode: a.ReasonCode, ReasonTextID: a.ReasonTextID,
			}).Get(ctx, &w.snap)
			if err != nil {
				return err
			}
			w.stopped = true
			if status == StatusRejected {
				return workflow.ExecuteActivity(ctx, actNotify, NoticeInput{DeletionID: w.id, Kind: "rejected"}).Get(ctx, nil)
			}
			return nil
		}
	}
	stoppable := func(a Action) error {
		if w.stopped || w.approved || !slices.Contains([]string{StatusAwaitingIdentity, StatusLocating, StatusAwaitingApproval}, w.snap.Status) {
			return errors.New("the request can no longer be rejected or cancelled")
		}
		return nil
	}
	if err := reg(UpdateReject, func(a Action) error {
		if a.ReasonCode == "" {
			return errors.New("a reason code is required")
		}
		return stoppable(a)
	}, stop(StatusRejected)); err != nil {
		return err
	}
	if err := reg(UpdateCancel, stoppable, stop(StatusCancelled)); err != nil {
		return err
	}
	if err := reg(UpdateRecomputeDue, w.recomputable, w.recomputeDue); err != nil {
		return err
	}
	return reg(UpdateExtendDeadline, w.extendable(ctx), w.extend)
}

// watchDeadline records a breach when the request is not answered by its
// due date; an extension moves the due date, and the watch re-arms on it.
func (w *wf) watchDeadline(ctx workflow.Context) {
	for {
		due := w.snap.DueAt
		if d := due.Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return w.done || w.stopped || !w.snap.DueAt.Equal(due) }); err != nil {
				return
			}
		}
		if w.done || w.stopped {
			return
		}
		if w.snap.DueAt.Equal(due) {
			break
		}
	}
	_ = workflow.ExecuteActivity(ctx, actBreach, BreachInput{DeletionID: w.id, DueAt: w.snap.DueAt}).Get(ctx, nil)
}

func (w *wf) locateAndPlan(ctx workflow.Context) error {
	w.planning = true
	defer func() { w.planning = false }()
	if err := workflow.ExecuteLocalActivity(ctx, actSetStatus, StatusInput{DeletionID: w.id, Status: StatusLocating, Actor: "system:workflow"}).Get(ctx, &w.snap); err != nil {
		return err
	}
	var names []string
	if err := workflow.ExecuteLocalActivity(ctx, actConnectors).Get(ctx, &names); err != nil {
		return err
	}
	futures := make([]workflow.Future, len(names))
	for i, n := range names {
		futures[i] = workflow.ExecuteActivity(ctx, actLocate, w.id, n)
	}
	found := make([]Located, len(names))
	for i, f := range futures {
		if err := f.Get(ctx, &found[i]); err != nil {
			return err
		}
	}
	if err := workflow.ExecuteLocalActivity(ctx, actBuildPlan, w.id, found).Get(ctx, &w.plan); err != nil {
		return err
	}
	w.approved = w.plan.AutoApproved
	return workflow.ExecuteLocalActivity(ctx, actLoad, w.id).Get(ctx, &w.snap)
}

// executePhase applies the items per connector in parallel, re-queries every
// connector, escalates what is left, and records evidence and the certificate.
func (w *wf) executePhase(ctx workflow.Context, step string, items []PlanItem) error {
	var connectors []string
	for _, it := range items {
		if !slices.Contains(connectors, it.Connector) {
			connectors = append(connectors, it.Connector)
		}
	}
	if err := workflow.ExecuteLocalActivity(ctx, actSetStatus, StatusInput{DeletionID: w.id, Status: StatusExecuting, Actor: "system:workflow"}).Get(ctx, &w.snap); err != nil {
		return err
	}
	applies := make([]workflow.Future, len(connectors))
	for i, c := range connectors {
		applies[i] = workflow.ExecuteActivity(ctx, actApply, ApplyInput{DeletionID: w.id, Connector: c, PlanDigest: w.plan.Digest, Step: step})
	}
	receipts := make([]Receipt, len(connectors))
	for i, f := range applies {
		if err := f.Get(ctx, &receipts[i]); err != nil {
			return err
		}
	}
	if err := workflow.ExecuteLocalActivity(ctx, actSetStatus, StatusInput{DeletionID: w.id, Status: StatusVerifying, Actor: "system:workflow"}).Get(ctx, &w.snap); err != nil {
		return err
	}
	vctx := workflow.WithActivityOptions(ctx, verifyOptions())
	verifies := make([]workflow.Future, len(connectors))
	for i, c := range connectors {
		verifies[i] = workflow.ExecuteActivity(vctx, actVerify, VerifyInput{DeletionID: w.id, Connector: c, Step: step})
	}
	for i, f := range verifies {
		var remaining int64
		if err := f.Get(ctx, &remaining); err != nil {
			if err := workflow.ExecuteActivity(ctx, actEscalate, EscalateInput{DeletionID: w.id, Connector: connectors[i], Reason: "data_remaining"}).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	if err := workflow.ExecuteLocalActivity(ctx, actFinish, FinishInput{DeletionID: w.id, Step: step, Receipts: receipts}).Get(ctx, &w.snap); err != nil {
		return err
	}
	w.done = true
	if err := workflow.ExecuteActivity(ctx, actNotify, NoticeInput{DeletionID: w.id, Kind: w.snap.Status}).Get(ctx, nil); err != nil {
		return err
	}
	if w.snap.Status != StatusCompleted {
		return nil // restricted: the completion notice is still to come
	}
	return workflow.ExecuteLocalActivity(ctx, actForget, w.id).Get(ctx, nil)
}
