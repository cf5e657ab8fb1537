package deletion

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BatchWorkflowName is the registered name of DeletionBatchWorkflow: one per
// bulk submission of requests a pipeline vouched for, carrying each of them
// through the same steps as DeletionWorkflow (locate, plan, auto-approve,
// apply, verify, certify, notify, and the deferred step after a retention
// floor) without a workflow per request. A request whose plan needs a person
// is handed to its own DeletionWorkflow.
const BatchWorkflowName = "DeletionBatchWorkflow"

// BatchWorkflowID derives the batch workflow's id from the batch's record.
func BatchWorkflowID(batchID string) string { return "deletion-batch/" + batchID }

// Batch activity names (registered by RegisterBatch).
const (
	actBatchStep   = "DeletionBatchStep"
	actBatchDue    = "DeletionBatchNextDue"
	actBatchBreach = "DeletionBatchBreaches"
)

// BatchInput starts the batch workflow. The requests are read from the
// record (deletion_requests.batch_id): history holds ids and counts only.
type BatchInput struct {
	BatchID string
}

// BatchStepInput asks for one pass over the batch.
type BatchStepInput struct {
	BatchID string
	// Escalate: connectors still holding data after this pass's verify are
	// escalated to a person and the request is finished (failed), as
	// DeletionWorkflow does once its verify retries run out.
	Escalate bool
}

// BatchProgress is what one pass left to do.
type BatchProgress struct {
	Done     int // answered (completed, restricted, failed) or handed on
	Released int // handed to their own workflow in this pass
	// Remaining: requests whose connectors still hold data after verify;
	// the next pass re-verifies them.
	Remaining int
	// NextDeferred is the earliest end of a retention floor among the
	// restricted requests (nil: none left).
	NextDeferred *time.Time
}

// BatchActivities is the contract the worker implements for batches.
type BatchActivities interface {
	// BatchStep takes every request of the batch as far as it can go now,
	// from what the record says of it (a retried pass redoes nothing).
	BatchStep(ctx context.Context, in BatchStepInput) (BatchProgress, error)
	// BatchNextDue answers the earliest due date among the batch's requests
	// not yet answered and not yet past it (nil: none).
	BatchNextDue(ctx context.Context, batchID string) (*time.Time, error)
	// BatchBreaches records a breach for each request of the batch past its
	// due date and not answered.
	BatchBreaches(ctx context.Context, batchID string) (int, error)
}

// verifyRounds is how many passes re-verify a connector that still holds
// data before it is escalated (DeletionWorkflow's verifyOptions: 8 attempts).
const verifyRounds = 8

// batchOptions are DeletionWorkflow's, with time for a pass over a thousand
// requests at the connectors' pace.
func batchOptions() workflow.ActivityOptions {
	o := activityOptions()
	o.StartToCloseTimeout = 30 * time.Minute
	return o
}

// BatchWorkflow runs one batch until every request in it is answered, or
// handed on, and its deferred steps are done.
func BatchWorkflow(ctx workflow.Context, in BatchInput) error {
	ctx = workflow.WithActivityOptions(ctx, batchOptions())
	finished := false
	workflow.Go(ctx, func(ctx workflow.Context) { watchBatchDeadlines(ctx, in.BatchID, &finished) })
	round := 0
	for {
		var p BatchProgress
		step := BatchStepInput{BatchID: in.BatchID, Escalate: round >= verifyRounds-1}
		if err := workflow.ExecuteActivity(ctx, actBatchStep, step).Get(ctx, &p); err != nil {
			return err
		}
		var wait time.Duration
		switch {
		case p.Remaining > 0: // re-verify with DeletionWorkflow's backoff
			wait = min(time.Second<<round, 10*time.Minute)
			round++
		case p.NextDeferred != nil:
			finished = true // every request answered: the rest is the retention floor
			wait, round = max(p.NextDeferred.Sub(workflow.Now(ctx)), time.Second), 0
		default:
			finished = true
			return nil
		}
		if err := workflow.Sleep(ctx, wait); err != nil {
			return err
		}
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > 2000 {
			return workflow.NewContinueAsNewError(ctx, BatchWorkflowName, in)
		}
	}
}

// watchBatchDeadlines records breaches for the requests still unanswered at
// their due date, as DeletionWorkflow's watchDeadline does for one.
func watchBatchDeadlines(ctx workflow.Context, batchID string, finished *bool) {
	for !*finished {
		var due *time.Time
		if err := workflow.ExecuteActivity(ctx, actBatchDue, batchID).Get(ctx, &due); err != nil || due == nil {
			return
		}
		if d := due.Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return *finished }); err != nil {
				return
			}
		}
		if *finished {
			return
		}
		if err := workflow.ExecuteActivity(ctx, actBatchBreach, batchID).Get(ctx, nil); err != nil {
			return
		}
	}
}

// RegisterBatch registers BatchWorkflow and its activities on w.
func RegisterBatch(w worker.Registry, a BatchActivities) {
	RegisterBatchWorkflow(w)
	w.RegisterActivityWithOptions(a.BatchStep, activity.RegisterOptions{Name: actBatchStep})
	w.RegisterActivityWithOptions(a.BatchNextDue, activity.RegisterOptions{Name: actBatchDue})
	w.RegisterActivityWithOptions(a.BatchBreaches, activity.RegisterOptions{Name: actBatchBreach})
}

// RegisterBatchWorkflow registers BatchWorkflow under BatchWorkflowName (the
// replay test registers it the same way).
func RegisterBatchWorkflow(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(BatchWorkflow, workflow.RegisterOptions{Name: BatchWorkflowName})
}
