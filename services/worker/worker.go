package worker

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/complaint"
)

// Run polls the complaint task queue until ctx ends. When the workflow engine
// is unreachable at start-up the worker keeps trying (backing off to 5 s)
// rather than exiting, so a worker started before Temporal, or during an
// outage, picks up work as soon as the engine answers.
// commands verifies the services' seals on every human action.
func Run(ctx context.Context, c client.Client, acts *Activities, commands *command.Verifier) error {
	log := acts.Log
	if log == nil {
		log = slog.Default()
	}
	wait := 200 * time.Millisecond
	for {
		w := sdkworker.New(c, complaint.TaskQueue, sdkworker.Options{
			MaxConcurrentActivityExecutionSize: 64,
		})
		complaint.Register(w, acts, commands)
		err := w.Start()
		if err == nil {
			<-ctx.Done()
			w.Stop()
			return nil
		}
		log.Warn("worker could not start; retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}
