package escalation

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/workflows/command"
	wf "github.com/redress/redress/workflows/escalation"
)

// Deps are what the escalation worker runs with.
type Deps struct {
	Activities *Activities
	Triggers   *esc.Triggers
	Timing     wf.Timing
	Every      time.Duration // period of the incident detector and the starter; 2 s when zero
	// Commands verifies the services' seals on every officer action.
	Commands *command.Verifier
}

// Run polls the escalation task queue, runs the incident detector and starts
// the workflow of every escalation this service wrote whose start did not
// happen, until ctx ends. Like the complaint worker it keeps trying while the
// workflow engine is unreachable.
func Run(ctx context.Context, c client.Client, d Deps) error {
	log := d.Activities.Log
	if log == nil {
		log = slog.Default()
		d.Activities.Log = log
	}
	if d.Activities.Timing == (wf.Timing{}) {
		d.Activities.Timing = d.Timing
	}
	every := d.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	starter := &esc.Starter{Temporal: c, DB: d.Activities.DB, Log: log, Timing: d.Timing, Every: every}
	go loop(ctx, every, func() {
		if d.Triggers == nil {
			return
		}
		if n, err := d.Triggers.Pass(ctx); err != nil && ctx.Err() == nil {
			log.Warn("incident detection failed; will retry", "err", err)
		} else if n > 0 {
			log.Info("incidents opened by detection", "count", n)
			if _, err := starter.StartPending(ctx); err != nil && ctx.Err() == nil {
				log.Warn("escalation start failed; will retry", "err", err)
			}
		}
	})
	go starter.Run(ctx)
	wait := 200 * time.Millisecond
	for {
		w := sdkworker.New(c, wf.TaskQueue, sdkworker.Options{MaxConcurrentActivityExecutionSize: 32})
		wf.Register(w, d.Activities, d.Commands)
		err := w.Start()
		if err == nil {
			<-ctx.Done()
			w.Stop()
			return nil
		}
		log.Warn("escalation worker could not start; retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func loop(ctx context.Context, every time.Duration, f func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
