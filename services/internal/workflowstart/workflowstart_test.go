package workflowstart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/temporalclient"
	"github.com/redress/redress/services/internal/temporaldev"
)

// countingClient is a real Temporal client that counts the starts in flight
// and holds each one a little, so that concurrent starts overlap.
type countingClient struct {
	client.Client
	inFlight, peak, calls atomic.Int64
	failFrom              int64 // when set, the failFrom-th start and every later one fail
}

var errEngineDown = errors.New("engine down")

func (c *countingClient) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if n := c.calls.Add(1); c.failFrom > 0 && n >= c.failFrom {
		return nil, errEngineDown
	}
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	return c.Client.ExecuteWorkflow(ctx, o, wf, args...)
}

// newRig builds a starter over a records table of n old, unstarted records
// in a fresh database and a real Temporal server.
func newRig(t *testing.T, n, workers int) *Starter {
	t.Helper()
	db, _ := newRecords(t, n)
	ts := startTemporal(t)
	c, err := temporalclient.Dial(ts.FrontendAddress(), ts.Namespace(), temporalclient.Security{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return New(&countingClient{Client: c}, db, discard, recordKind, 64, workers)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

var recordKind = Kind{
	Name: "record", Table: "records", CreatedColumn: "created_at",
	WorkflowID: func(id string) string { return "record-" + id }, TaskQueue: "records", Workflow: "RecordWorkflow",
	Input: func(id string) any { return id },
}

// newRecords makes a records table of n old, unstarted records in a fresh
// database: the database and a handle on it as the table's owner.
func newRecords(t *testing.T, n int) (db, owner *gorm.DB) {
	t.Helper()
	db = pgtest.Open(t)
	owner = pgtest.Owner(t, db)
	for _, q := range []string{
		`CREATE TABLE records (id text PRIMARY KEY, created_at timestamptz NOT NULL, workflow_started_at timestamptz)`,
		`GRANT SELECT, UPDATE ON records TO PUBLIC`,
	} {
		if err := owner.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for i := range n {
		if err := owner.Exec(`INSERT INTO records (id, created_at) VALUES (?, ?)`, fmt.Sprintf("r%03d", i), old.Add(time.Duration(i)*time.Millisecond)).Error; err != nil {
			t.Fatal(err)
		}
	}
	return db, owner
}

func startTemporal(t *testing.T) *temporaldev.Server {
	t.Helper()
	ts, err := temporaldev.Start(t.Context(), temporaldev.Options{LogLevel: "error", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop() })
	return ts
}

func unstarted(t *testing.T, s *Starter) int64 { t.Helper(); return unstartedIn(t, s.db) }

// A backlog (after an outage, or a storm deeper than the queue) is started
// by as many starts at once as the starter has workers, not one by one; every
// record's workflow runs and is noted on the record.
func TestRecoverStartsTheBacklogConcurrently(t *testing.T) {
	s := newRig(t, 40, 8)
	tc := s.temporal.(*countingClient)
	n, err := s.Recover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 40 || unstarted(t, s) != 0 {
		t.Fatalf("recovery started %d, %d records left unstarted; want 40 and 0", n, unstarted(t, s))
	}
	if p := tc.peak.Load(); p < 2 || p > 8 {
		t.Fatalf("at most %d starts were in flight at once; want 2..8 (the starter's workers)", p)
	}
	for i := range 40 {
		if _, err := tc.DescribeWorkflowExecution(t.Context(), fmt.Sprintf("record-r%03d", i), ""); err != nil {
			t.Fatalf("record r%03d: %v", i, err)
		}
	}
}

// A pass stops at the first failed start (the engine is likely down; the
// next pass retries): no new start begins, and the records whose workflows
// did start are noted as running.
func TestRecoverStopsAtTheFirstFailure(t *testing.T) {
	s := newRig(t, 100, 4)
	tc := s.temporal.(*countingClient)
	tc.failFrom = 21
	n, err := s.Recover(t.Context())
	if !errors.Is(err, errEngineDown) {
		t.Fatalf("Recover answered %v, want the start's failure", err)
	}
	if n != 0 {
		t.Fatalf("Recover counted %d started on a failed page, want 0", n)
	}
	// The 20 that succeeded, and at most one failed start per worker after them.
	if calls := tc.calls.Load(); calls < 21 || calls > 24 {
		t.Fatalf("%d starts attempted; want 21..24 (stop at the first failure)", calls)
	}
	// Of the 20 starts that could succeed, those still in flight at the
	// failure are cancelled with it (at most one per other worker).
	left := unstarted(t, s)
	if left < 80 || left > 83 {
		t.Fatalf("%d records left unstarted; want 80..83 (the starts that succeeded are noted)", left)
	}
	tc.failFrom = 0
	if n, err := s.Recover(t.Context()); err != nil || int64(n) != left || unstarted(t, s) != 0 {
		t.Fatalf("the next pass started %d (%v), %d left; want %d, none left", n, err, unstarted(t, s), left)
	}
}

// Records waiting in the queue are left to it: recovery does not start them
// a second time (a refused duplicate start still costs the engine a round
// trip per record, thousands during a storm), and takes every other one,
// past a page made only of queued records.
func TestRecoverLeavesQueuedRecordsToTheQueue(t *testing.T) {
	s := newRig(t, 250, 4)
	tc := s.temporal.(*countingClient)
	for i := range 210 { // more than a recovery page, never drained: the queue is not running
		s.Enqueue(fmt.Sprintf("r%03d", i))
	}
	if len(s.queue) != 64 {
		t.Fatalf("queue holds %d, want its 64", len(s.queue))
	}
	n, err := s.Recover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := 250 - 64; n != want || tc.calls.Load() != int64(want) {
		t.Fatalf("recovery started %d with %d starts; want %d (the records not in the queue)", n, tc.calls.Load(), want)
	}
	if got := unstarted(t, s); got != 64 {
		t.Fatalf("%d records unstarted, want the 64 queued", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for deadline := time.Now().Add(30 * time.Second); unstarted(t, s) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d queued records never started", unstarted(t, s))
		}
	}
	cancel()
	<-done
	if tc.calls.Load() != 250 {
		t.Fatalf("%d starts for 250 records", tc.calls.Load())
	}
}

// A starter told by its records' commits starts them at once, whatever
// their age (no grace: nothing of its process's queue holds them), and
// eagerly: the engine hands each first workflow task back in the start's
// answer to the worker on the same client, which runs it. A listening
// connection the server drops is replaced, and records notified after
// that start too.
func TestNotifiedStarterStartsNewRecordsEagerly(t *testing.T) {
	db, owner := newRecords(t, 0)
	ts := startTemporal(t)
	var starts, eager atomic.Int64
	countEager := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if r, ok := reply.(*workflowservice.StartWorkflowExecutionResponse); ok && err == nil {
			starts.Add(1)
			if r.GetEagerWorkflowTask() != nil {
				eager.Add(1)
			}
		}
		return err
	}
	c, err := client.Dial(client.Options{HostPort: ts.FrontendAddress(), Namespace: ts.Namespace(), Logger: discardLogger{},
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(countEager)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := sdkworker.New(c, recordKind.TaskQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(func(workflow.Context, string) error { return nil }, workflow.RegisterOptions{Name: recordKind.Workflow})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	s := New(c, db, discard, recordKind, 64, 4)
	s.Eager, s.Grace, s.Every = true, time.Hour, time.Hour // only notifications start anything here
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.RunNotified(ctx, "records_new"); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	commit := func(from, n int) {
		t.Helper()
		err := owner.Transaction(func(tx *gorm.DB) error {
			for i := from; i < from+n; i++ {
				if err := tx.Exec(`INSERT INTO records (id, created_at) VALUES (?, now())`, fmt.Sprintf("r%03d", i)).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`NOTIFY records_new`).Error
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ran := func(from, n int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); unstartedIn(t, db) > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d notified records not started", unstartedIn(t, db))
			}
		}
		for i := from; i < from+n; i++ {
			if err := c.GetWorkflow(t.Context(), fmt.Sprintf("record-r%03d", i), "").Get(t.Context(), nil); err != nil {
				t.Fatalf("record r%03d's workflow: %v", i, err)
			}
		}
	}
	waitListening(t, owner)
	commit(0, 20)
	ran(0, 20)

	var dropped int64
	if err := owner.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN records_new'`).Scan(&dropped).Error; err != nil || dropped != 1 {
		t.Fatalf("dropping the listening connection: %d dropped, %v", dropped, err)
	}
	waitListening(t, owner)
	commit(20, 20)
	ran(20, 20)
	if starts.Load() != 40 || eager.Load() != 40 {
		t.Fatalf("%d starts, %d of them eager; want 40 and 40", starts.Load(), eager.Load())
	}
}

func unstartedIn(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Table("records").Where("workflow_started_at IS NULL").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// waitListening waits until one session of the database listens.
func waitListening(t *testing.T, owner *gorm.DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int64
		if err := owner.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN records_new' AND state = 'idle'`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions listening, want 1", n)
		}
	}
}

// discardLogger keeps the SDK quiet.
type discardLogger struct{}

func (discardLogger) Debug(string, ...any) {}
func (discardLogger) Info(string, ...any)  {}
func (discardLogger) Warn(string, ...any)  {}
func (discardLogger) Error(string, ...any) {}
