package complaint

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

// Activity names. The worker registers the Activities implementation under
// these names (see Register) and the workflow calls them by name, so the
// workflow never holds a reference to the database-backed implementation.
const (
	ActivityLoadCase        = "LoadCase"
	ActivityApplyTransition = "ApplyTransition"
	ActivityExtendDeadline  = "ExtendDeadline"
	ActivityRecordBreach    = "RecordBreach"
	ActivityRecordReminder  = "RecordReminder"
	ActivitySendNotice      = "SendNotice"
)

// ActionAutoClose is TransitionInput.Action when the quiet period after
// resolution ends without any action and the workflow closes the case.
const ActionAutoClose = "auto_close"

// Application error types. Activities return them with
// temporal.NewNonRetryableApplicationError(msg, ErrType..., cause); the
// activity retry policy also lists them as non-retryable, so an activity that
// returns a plain temporal.NewApplicationError of one of these types is not
// retried either.
const (
	// ErrTypeIllegalTransition: the transition is not legal from the case's
	// current state. The workflow's update handlers also fail with this type
	// when an action is no longer legal by the time it runs.
	ErrTypeIllegalTransition = "IllegalTransition"
	// ErrTypeCaseNotFound: the case id does not exist.
	ErrTypeCaseNotFound = "CaseNotFound"
	// ErrTypeInvalidInput: an activity input is malformed (missing id, bad code).
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeMessageNotFound: the message id of an action is not a message of this case.
	ErrTypeMessageNotFound = "MessageNotFound"
	// ErrTypePolicyRefused: the policy engine refused to compute a deadline
	// (ExtendDeadline).
	ErrTypePolicyRefused = "PolicyRefused"
)

// Activity timing and retry policy.
const (
	ActivityStartToCloseTimeout = 30 * time.Second
	ActivityRetryInitial        = time.Second
	ActivityRetryMaximum        = time.Minute
)

// activityOptions are used for every activity of ComplaintWorkflow: each
// attempt has 30s, retries back off from 1s to 1m and never give up, except on
// the non-retryable error types above.
// localActivityOptions are those of the short database reads the workflow
// runs inside its own workflow task: the same retries, a shorter timeout
// (a slow attempt holds the workflow task).
func localActivityOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{StartToCloseTimeout: ActivityStartToCloseTimeout, RetryPolicy: activityOptions().RetryPolicy}
}

func activityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: ActivityStartToCloseTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    ActivityRetryInitial,
			BackoffCoefficient: 2.0,
			MaximumInterval:    ActivityRetryMaximum,
			MaximumAttempts:    0, // unlimited
			NonRetryableErrorTypes: []string{
				ErrTypeIllegalTransition,
				ErrTypeCaseNotFound,
				ErrTypeInvalidInput,
				ErrTypeMessageNotFound,
				ErrTypePolicyRefused,
			},
		},
	}
}

// RegisterWorkflow registers ComplaintWorkflow under WorkflowName, as the
// worker runs it: the replay test registers it the same way.
func RegisterWorkflow(w worker.WorkflowRegistry, commands *command.Verifier) {
	w.RegisterWorkflowWithOptions(Workflow(commands), workflow.RegisterOptions{Name: WorkflowName})
}

// Register registers ComplaintWorkflow (as WorkflowName), checking every
// Update's seal with commands, and every method of impl under its Activity*
// name on w (a worker.Worker, or a testsuite environment, which satisfies the
// same interface).
func Register(w worker.Registry, impl Activities, commands *command.Verifier) {
	RegisterWorkflow(w, commands)
	w.RegisterActivityWithOptions(impl.LoadCase, activity.RegisterOptions{Name: ActivityLoadCase})
	w.RegisterActivityWithOptions(impl.ApplyTransition, activity.RegisterOptions{Name: ActivityApplyTransition})
	w.RegisterActivityWithOptions(impl.ExtendDeadline, activity.RegisterOptions{Name: ActivityExtendDeadline})
	w.RegisterActivityWithOptions(impl.RecordBreach, activity.RegisterOptions{Name: ActivityRecordBreach})
	w.RegisterActivityWithOptions(impl.RecordReminder, activity.RegisterOptions{Name: ActivityRecordReminder})
	w.RegisterActivityWithOptions(impl.SendNotice, activity.RegisterOptions{Name: ActivitySendNotice})
}
