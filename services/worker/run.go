package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Queue is one task queue a process polls and what its worker runs.
type Queue struct {
	Name     string
	Options  sdkworker.Options
	Register func(sdkworker.Registry)
	// Prepare, when set, runs before every start attempt (the reports
	// worker puts its schedules in place); its errors are retried like a
	// start's.
	Prepare func(context.Context) error
}

// Loop is a side loop that runs beside the workers until ctx ends: a
// recovery loop, a trigger poller, a callback server. Ending early, with
// or without an error, ends the runner.
type Loop struct {
	Name string
	Run  func(context.Context) error
}

// LoopFunc is a Loop of a function that runs until ctx ends and reports
// its failures itself (the starters' recovery loops).
func LoopFunc(name string, run func(context.Context)) Loop {
	return Loop{Name: name, Run: func(ctx context.Context) error { run(ctx); return nil }}
}

// Retry bounds of a worker start while the workflow engine is unreachable.
const (
	retryFirst = 200 * time.Millisecond
	retryMax   = 5 * time.Second
)

// RunQueues runs a worker for every queue and every loop in one group until
// ctx ends, then stops them all and returns nil. A worker start that fails
// keeps being retried (backing off to 5 s), so a worker started before
// Temporal, or during an outage, picks up work as soon as the engine
// answers — unless a retry cannot cure it. These end the group and are
// returned: a start refused for good (an unknown namespace, an invalid
// request, an unsupported client, a refused credential), a registration the
// SDK refuses (it panics), a worker's fatal error while running
// (worker.Options.OnFatalError), a loop that fails or stops early.
func RunQueues(ctx context.Context, c client.Client, log *slog.Logger, queues []Queue, loops ...Loop) error {
	if log == nil {
		log = slog.Default()
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, q := range queues {
		g.Go(func() error { return runQueue(ctx, c, log, q) })
	}
	for _, l := range loops {
		g.Go(func() error {
			err := l.Run(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("stopped")
			}
			return fmt.Errorf("%s: %w", l.Name, err)
		})
	}
	return g.Wait()
}

// runQueue starts q's worker, retrying a start that is retryable, and runs
// it until ctx ends (nil) or it fails for good (the error).
func runQueue(ctx context.Context, c client.Client, log *slog.Logger, q Queue) error {
	wait := retryFirst
	for {
		err := startAndRun(ctx, c, q)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if !retryable(err) {
			return fmt.Errorf("worker %s: %w", q.Name, err)
		}
		log.Warn("worker could not start; retrying", "queue", q.Name, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, retryMax)
	}
}

// withPollerAutoscaling lets the worker scale its pollers, unless the queue
// sets its own. The SDK's default is two fixed workflow-task pollers, which
// alternate between the sticky queue and the task queue's partitions (four
// by default), so most partitions have no poller of their own: their tasks
// reach the worker only through the server's forwarder, ten a second per
// partition. After a complaint storm the backlog drained at about 40 cases a
// second that way with the machine half idle; autoscaled pollers (five to
// start, more while the server reports a backlog) drained it at the speed of
// the CPU (docs/capacity.md).
func withPollerAutoscaling(opts sdkworker.Options) sdkworker.Options {
	if opts.WorkflowTaskPollerBehavior == nil && opts.MaxConcurrentWorkflowTaskPollers == 0 {
		opts.WorkflowTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
	}
	if opts.ActivityTaskPollerBehavior == nil && opts.MaxConcurrentActivityTaskPollers == 0 {
		opts.ActivityTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
	}
	return opts
}

// startAndRun is one attempt: prepare, register, start, and run until ctx
// ends (nil) or the worker reports a fatal error, which is permanent: the
// SDK has already given up on it.
func startAndRun(ctx context.Context, c client.Client, q Queue) (err error) {
	if q.Prepare != nil {
		if err := q.Prepare(ctx); err != nil {
			return err
		}
	}
	fatal := make(chan error, 1)
	opts := withPollerAutoscaling(q.Options)
	hook := opts.OnFatalError
	opts.OnFatalError = func(err error) {
		if hook != nil {
			hook(err)
		}
		select {
		case fatal <- err:
		default:
		}
	}
	w := sdkworker.New(c, q.Name, opts)
	defer func() {
		if p := recover(); p != nil { // a registration the SDK refuses panics
			err = permanent{fmt.Errorf("registration: %v", p)}
		}
	}()
	q.Register(w)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	select {
	case <-ctx.Done():
		return nil
	case err := <-fatal:
		return permanent{fmt.Errorf("fatal: %w", err)}
	}
}

// permanent marks an error no retry can cure.
type permanent struct{ error }

func (e permanent) Unwrap() error { return e.error }

// retryable reports a start failure worth another attempt: all but the
// SDK's own non-retryable poll errors (an unknown namespace, an invalid
// request, an unsupported client), a refused credential and what is marked
// permanent (a refused registration, a fatal worker error).
func retryable(err error) bool {
	var (
		perm    permanent
		nsNF    *serviceerror.NamespaceNotFound
		invalid *serviceerror.InvalidArgument
		version *serviceerror.ClientVersionNotSupported
		denied  *serviceerror.PermissionDenied
	)
	switch {
	case errors.As(err, &perm), errors.As(err, &nsNF), errors.As(err, &invalid), errors.As(err, &version),
		errors.As(err, &denied):
		return false
	}
	return status.Code(err) != codes.Unauthenticated
}

// HTTPLoop serves srv on lis as a side loop: closed when ctx ends, an
// error if it stops serving before.
func HTTPLoop(name string, srv *http.Server, lis net.Listener) Loop {
	return Loop{Name: name, Run: func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
		defer stop()
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}}
}
