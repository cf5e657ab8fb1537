package deletionworker

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/redress/redress/workflows/command"
	wf "github.com/redress/redress/workflows/deletion"
)

// Run polls the deletion task queue until ctx ends, retrying start-up while
// the workflow engine is unreachable. commands verifies the services' seals
// on every human step.
func Run(ctx context.Context, c client.Client, acts *Activities, commands *command.Verifier) error {
	log := acts.Log
	if log == nil {
		log = slog.Default()
	}
	wait := 200 * time.Millisecond
	for {
		w := sdkworker.New(c, wf.TaskQueue, sdkworker.Options{MaxConcurrentActivityExecutionSize: 64})
		wf.Register(w, acts, commands)
		if err := w.Start(); err == nil {
			<-ctx.Done()
			w.Stop()
			return nil
		} else {
			log.Warn("deletion worker could not start; retrying", "error", err, "retry_in", wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}
