package workflowstart

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/temporalclient"
	"github.com/redress/redress/services/internal/temporaldev"
)

// countingClient is a real Temporal client that counts the starts in flight
// and holds each one a little, so that concurrent starts overlap.
type countingClient struct {
	client.Client
	inFlight, peak, calls atomic.Int64
}

func (c *countingClient) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	c.calls.Add(1)
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
	db := pgtest.Open(t)
	owner := pgtest.Owner(t, db)
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
	ts, err := temporaldev.Start(t.Context(), temporaldev.Options{LogLevel: "error", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop() })
	c, err := temporalclient.Dial(ts.FrontendAddress(), ts.Namespace(), temporalclient.Security{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(&countingClient{Client: c}, db, log, Kind{
		Name: "record", Table: "records", CreatedColumn: "created_at",
		WorkflowID: func(id string) string { return "record-" + id }, TaskQueue: "records", Workflow: "RecordWorkflow",
		Input: func(id string) any { return id },
	}, 64, workers)
}

func unstarted(t *testing.T, s *Starter) int64 {
	t.Helper()
	var n int64
	if err := s.db.Table("records").Where("workflow_started_at IS NULL").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

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
