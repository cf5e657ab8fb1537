package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/services/internal/temporalclient"
	"github.com/redress/redress/services/internal/temporaldev"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func emptyWorkflow(workflow.Context) error { return nil }

func registerEmpty(r sdkworker.Registry) { r.RegisterWorkflow(emptyWorkflow) }

// startTemporal runs a real Temporal server with the "default" namespace.
func startTemporal(t *testing.T) *temporaldev.Server {
	t.Helper()
	ts, err := temporaldev.Start(t.Context(), temporaldev.Options{LogLevel: "error", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop() })
	return ts
}

func dial(t *testing.T, addr, namespace string) client.Client {
	t.Helper()
	c, err := temporalclient.Dial(addr, namespace, temporalclient.Security{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// runAsync runs RunQueues and answers its result on the channel.
func runAsync(ctx context.Context, c client.Client, queues []Queue, loops ...Loop) <-chan error {
	done := make(chan error, 1)
	go func() { done <- RunQueues(ctx, c, quietLog(), queues, loops...) }()
	return done
}

func await(t *testing.T, done <-chan error, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("the runner did not return within %s", limit)
		return nil
	}
}

// A worker whose namespace does not exist can never poll: the runner
// returns the error (the process exits and says why) instead of retrying
// forever while nothing runs.
func TestRunQueuesReturnsAnUnknownNamespace(t *testing.T) {
	ts := startTemporal(t)
	c := dial(t, ts.FrontendAddress(), "no-such-namespace")
	loopStopped := make(chan struct{})
	done := runAsync(t.Context(), c, []Queue{{Name: "q", Register: registerEmpty}},
		Loop{Name: "side", Run: func(ctx context.Context) error { <-ctx.Done(); close(loopStopped); return nil }})
	err := await(t, done, 60*time.Second)
	var nf *serviceerror.NamespaceNotFound
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "worker q") {
		t.Fatalf("runner returned %v, want the queue's NamespaceNotFound", err)
	}
	<-loopStopped // the side loop was stopped with it
}

// A registration the SDK refuses (the same workflow type twice) panics; the
// runner returns it as an error instead of crashing the process.
func TestRunQueuesReturnsARefusedRegistration(t *testing.T) {
	c := dial(t, "127.0.0.1:1", "default") // lazy: never reached
	done := runAsync(t.Context(), c, []Queue{{Name: "q", Register: func(r sdkworker.Registry) {
		registerEmpty(r)
		registerEmpty(r)
	}}})
	if err := await(t, done, 10*time.Second); err == nil || !strings.Contains(err.Error(), "registration") {
		t.Fatalf("runner returned %v, want the refused registration", err)
	}
}

// While the workflow engine is unreachable the runner keeps trying, and
// stops, with nil, when its context ends.
func TestRunQueuesRetriesAnUnreachableEngineUntilStopped(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there
	c := dial(t, addr, "default")
	ctx, cancel := context.WithCancel(t.Context())
	done := runAsync(ctx, c, []Queue{{Name: "q", Register: registerEmpty}})
	select {
	case err := <-done:
		t.Fatalf("the runner gave up on an unreachable engine: %v", err)
	case <-time.After(3 * time.Second):
	}
	cancel()
	if err := await(t, done, 30*time.Second); err != nil {
		t.Fatalf("stopped runner returned %v", err)
	}
}

// Side loops run beside the workers in one group: when the context ends
// they all stop and the runner returns nil; a loop that fails or stops
// early ends the runner (and the others) with its name.
func TestRunQueuesSupervisesSideLoops(t *testing.T) {
	ts := startTemporal(t)
	c := dial(t, ts.FrontendAddress(), "default")
	queues := []Queue{{Name: "q", Register: registerEmpty}}

	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan string, 2)
	blocking := func(name string) Loop {
		return Loop{Name: name, Run: func(ctx context.Context) error { <-ctx.Done(); stopped <- name; return nil }}
	}
	done := runAsync(ctx, c, queues, blocking("a"), blocking("b"))
	time.Sleep(500 * time.Millisecond)
	cancel()
	if err := await(t, done, 30*time.Second); err != nil {
		t.Fatalf("runner returned %v after its context ended", err)
	}
	if len(stopped) != 2 {
		t.Fatalf("%d of 2 loops saw the end", len(stopped))
	}

	for _, tc := range []struct {
		name string
		run  func(context.Context) error
		want string
	}{
		{"fails", func(context.Context) error { return errors.New("database gone") }, "fails: database gone"},
		{"quits", func(context.Context) error { return nil }, "quits: stopped"},
	} {
		other := make(chan struct{})
		done := runAsync(t.Context(), c, queues, Loop{Name: tc.name, Run: tc.run},
			Loop{Name: "other", Run: func(ctx context.Context) error { <-ctx.Done(); close(other); return nil }})
		if err := await(t, done, 30*time.Second); err == nil || err.Error() != tc.want {
			t.Fatalf("runner returned %v, want %q", err, tc.want)
		}
		<-other
	}
}

// An HTTP side loop closes its server when the context ends and reports a
// server that stops serving before.
func TestHTTPLoop(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	loop := HTTPLoop("callbacks", &http.Server{Handler: http.NotFoundHandler()}, lis)
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx) }()
	resp, err := http.Get("http://" + lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	cancel()
	if err := await(t, done, 10*time.Second); err != nil {
		t.Fatalf("closed on cancel: %v", err)
	}

	lis, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = lis.Close() // the listener fails under the server
	go func() { done <- HTTPLoop("callbacks", &http.Server{}, lis).Run(t.Context()) }()
	if err := await(t, done, 10*time.Second); err == nil {
		t.Fatal("a server that stopped serving reported nothing")
	}
}

// The SDK's two fixed pollers leave most partitions of a task queue without
// a poller of their own, so their tasks come through the server's forwarder
// at ten a second each: after a storm the backlog drained at about 40 cases
// a second with the machine half idle. Every queue's worker autoscales its
// pollers unless the queue sets its own (the SDK refuses both at once).
func TestWorkerAutoscalesItsPollers(t *testing.T) {
	opts := withPollerAutoscaling(sdkworker.Options{MaxConcurrentActivityExecutionSize: 64})
	for name, b := range map[string]sdkworker.PollerBehavior{
		"workflow": opts.WorkflowTaskPollerBehavior, "activity": opts.ActivityTaskPollerBehavior,
	} {
		if got := fmt.Sprintf("%T", b); !strings.Contains(got, "Autoscaling") {
			t.Errorf("%s task pollers: %s, want autoscaling", name, got)
		}
	}
	own := withPollerAutoscaling(sdkworker.Options{MaxConcurrentWorkflowTaskPollers: 4, MaxConcurrentActivityTaskPollers: 3})
	if own.WorkflowTaskPollerBehavior != nil || own.ActivityTaskPollerBehavior != nil {
		t.Errorf("a queue's own poller counts were overridden: %+v", own)
	}
}
