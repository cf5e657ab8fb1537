package worker

import (
	"context"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/redress/redress/workflows/complaint"
)

// Run polls the complaint task queue until ctx ends.
func Run(ctx context.Context, c client.Client, acts *Activities) error {
	w := sdkworker.New(c, complaint.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: 64,
	})
	complaint.Register(w, acts)
	if err := w.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	w.Stop()
	return nil
}
