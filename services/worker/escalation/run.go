package escalation

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/periodic"
	"github.com/redress/redress/services/worker"
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
// happen, with the side loops given (the regulator callback server), until
// ctx ends; see worker.RunQueues for the retries and the errors returned.
func Run(ctx context.Context, c client.Client, d Deps, loops ...worker.Loop) error {
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
	triggers := func(ctx context.Context) error {
		periodic.Run(ctx, every, func(ctx context.Context) error {
			n, err := d.Triggers.Pass(ctx)
			if err != nil {
				return err
			}
			if n > 0 {
				log.Info("incidents opened by detection", "count", n)
				if _, err := starter.StartPending(ctx); err != nil && ctx.Err() == nil {
					log.Warn("escalation start failed; will retry", "err", err)
				}
			}
			return nil
		}, func(err error) { log.Warn("incident detection failed; will retry", "err", err) })
		return nil
	}
	loops = append(loops, worker.LoopFunc("escalation starter", starter.Run))
	if d.Triggers != nil {
		loops = append(loops, worker.Loop{Name: "incident detection", Run: triggers})
	}
	return worker.RunQueues(ctx, c, log, []worker.Queue{{
		Name:     wf.TaskQueue,
		Options:  sdkworker.Options{MaxConcurrentActivityExecutionSize: 32},
		Register: func(r sdkworker.Registry) { wf.Register(r, d.Activities, d.Commands) },
	}}, loops...)
}
