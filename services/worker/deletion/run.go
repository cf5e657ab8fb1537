package deletionworker

import (
	"context"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/redress/redress/services/worker"
	"github.com/redress/redress/workflows/command"
	wf "github.com/redress/redress/workflows/deletion"
)

// Run polls the deletion task queue, with the side loops given (the
// callback server), until ctx ends; see worker.RunQueues for the retries
// and the errors returned. commands verifies the services' seals on every
// human step.
func Run(ctx context.Context, c client.Client, acts *Activities, commands *command.Verifier, loops ...worker.Loop) error {
	return worker.RunQueues(ctx, c, acts.Log, []worker.Queue{{
		Name:     wf.TaskQueue,
		Options:  sdkworker.Options{MaxConcurrentActivityExecutionSize: 64},
		Register: func(r sdkworker.Registry) { wf.Register(r, acts, commands); wf.RegisterBatch(r, acts) },
	}}, loops...)
}
