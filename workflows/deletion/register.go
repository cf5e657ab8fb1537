package deletion

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

// RegisterWorkflow registers DeletionWorkflow under WorkflowName, as the
// worker runs it: the replay test registers it the same way.
func RegisterWorkflow(w worker.WorkflowRegistry, commands *command.Verifier) {
	w.RegisterWorkflowWithOptions(Workflow(commands), workflow.RegisterOptions{Name: WorkflowName})
}

// Register registers the workflow, checking every Update's seal with
// commands, and the activities on w.
func Register(w worker.Registry, a Activities, commands *command.Verifier) {
	RegisterWorkflow(w, commands)
	for name, fn := range map[string]any{
		actLoad: a.Load, actSetStatus: a.SetStatus, actRecordIdentity: a.RecordIdentity,
		actRecordApproval: a.RecordApproval, actConnectors: a.EnabledConnectors, actLocate: a.Locate,
		actBuildPlan: a.BuildPlan, actApply: a.Apply, actVerify: a.Verify, actFinish: a.Finish,
		actBreach: a.RecordBreach, actEscalate: a.Escalate, actNotify: a.Notify, actRemind: a.Remind,
		actRecordExtension: a.RecordExtension, actForget: a.ForgetRequester, actRecomputeDue: a.RecomputeDue,
	} {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}
