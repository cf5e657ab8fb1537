package escalation

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/redress/redress/services/internal/escalation/store"
	wf "github.com/redress/redress/workflows/escalation"
)

// Open is the one command that opens an escalation from outside the
// escalation service (the complaint workflow's SLA breach, a deletion
// request's breach or stuck connector): it starts the escalation's workflow
// on the escalation task queue with the opening, and the workflow's first
// activity writes the record. The escalation id — and so the workflow id —
// derives from the dedupe key, so opening twice under one key yields one
// escalation and one workflow. It answers the escalation id.
func Open(ctx context.Context, tc client.Client, o wf.Opening) (string, error) {
	if o.DedupeKey == "" || o.Kind == "" {
		return "", errors.New("escalation opening needs a dedupe key and a kind")
	}
	id := store.IDFor(o.DedupeKey)
	return id, start(ctx, tc, wf.Input{EscalationID: id, Opening: &o})
}

// Command opens escalations through the workflow engine (Open).
type Command struct{ Temporal client.Client }

// Open opens o's escalation once per dedupe key.
func (c Command) Open(ctx context.Context, o wf.Opening) (string, error) {
	return Open(ctx, c.Temporal, o)
}

// start starts an escalation's workflow; one already running or done counts
// as started (the workflow id is the escalation's).
func start(ctx context.Context, tc client.Client, in wf.Input) error {
	// Bounded so a caller is not held by an unreachable engine, but long
	// enough for a busy one: a start refused here is retried by the caller,
	// and 5 s proved too short on a loaded 2-core machine.
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := tc.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID:                    wf.WorkflowID(in.EscalationID),
		TaskQueue:             wf.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, wf.WorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	return err
}
