package worker

import (
	"context"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/complaint"
)

// Run polls the complaint task queue until ctx ends (see RunQueues: it
// keeps trying while the workflow engine is unreachable and returns a fatal
// worker error). commands verifies the services' seals on every human
// action.
func Run(ctx context.Context, c client.Client, acts *Activities, commands *command.Verifier, loops ...Loop) error {
	return RunQueues(ctx, c, acts.Log, []Queue{{
		Name:     complaint.TaskQueue,
		Options:  sdkworker.Options{MaxConcurrentActivityExecutionSize: 64},
		Register: func(r sdkworker.Registry) { complaint.Register(r, acts, commands) },
	}}, loops...)
}
