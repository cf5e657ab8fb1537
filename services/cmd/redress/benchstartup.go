//go:build dev

package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/services/internal/temporalclient"
)

type startupOptions struct {
	temporal, namespace, store string
	db                         *sql.DB
	n, c                       int
	limit                      time.Duration
	run                        string
	submit                     func(key string) error
	// phase starts a measured phase; calling what it answers ends it.
	phase func(name string) func()
}

// startupResult compares how long n complaints take, from the first submit,
// until every one has a running workflow that loaded its case and armed its
// deadline timers (marked by the acknowledgement notice the workflow sends
// in the same step), with how long the same Temporal server takes to start
// and run n empty workflows from this process.
type startupResult struct {
	Store              string  `json:"store"` // the Temporal server's persistence
	N                  int     `json:"n"`
	Concurrency        int     `json:"concurrency"`
	ComplaintsSeconds  float64 `json:"complaints_seconds"`
	SubmitSeconds      float64 `json:"submit_seconds"`
	EmptySeconds       float64 `json:"empty_workflows_seconds"`
	ComplaintsPerSec   float64 `json:"complaints_per_second"`
	EmptyPerSec        float64 `json:"empty_workflows_per_second"`
	Ratio              float64 `json:"ratio"`
	SubmitErrors       int     `json:"submit_errors"`
	EmptyStartFailures int     `json:"empty_start_failures"`
}

func (r startupResult) print() {
	fmt.Printf("\nworkflow start-up, Temporal on %s (%d each, %d callers)\n", r.Store, r.N, r.Concurrency)
	fmt.Printf("  %-52s %8.1f s  %7.0f /s\n", "empty workflows started and completed", r.EmptySeconds, r.EmptyPerSec)
	fmt.Printf("  %-52s %8.1f s  %7.0f /s  (submits done in %.1f s, %d errors)\n",
		"complaints submitted, workflows running, deadlines armed", r.ComplaintsSeconds, r.ComplaintsPerSec, r.SubmitSeconds, r.SubmitErrors)
	fmt.Printf("  %-52s %8.2f×\n", "ratio complaints/empty", r.Ratio)
}

// benchEmptyWorkflow is the empty-workflow baseline: one workflow task.
func benchEmptyWorkflow(workflow.Context) error { return nil }

func measureStartup(ctx context.Context, o startupOptions) (startupResult, error) {
	res := startupResult{Store: o.store, N: o.n, Concurrency: o.c}
	tc, err := temporalclient.Dial(o.temporal, o.namespace, temporalclient.Security{})
	if err != nil {
		return res, err
	}
	defer tc.Close()
	queue := "redress-bench-empty-" + o.run
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(benchEmptyWorkflow, workflow.RegisterOptions{Name: "BenchEmptyWorkflow"})
	if err := w.Start(); err != nil {
		return res, fmt.Errorf("bench: empty-workflow worker: %w", err)
	}
	defer w.Stop()

	// Empty workflows: start n, wait until all completed.
	var failures atomic.Int64
	endPhase := o.phase("start-up: empty workflows")
	start := time.Now()
	parallel(o.n, o.c, func(i int) {
		// Eager, as the worker starts complaints: the baseline is the
		// engine's best for the simplest workflow.
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("bench-empty-%s-%d", o.run, i), TaskQueue: queue, EnableEagerStart: true,
		}, "BenchEmptyWorkflow")
		if err == nil {
			err = run.Get(ctx, nil)
		}
		if err != nil {
			failures.Add(1)
		}
	})
	res.EmptySeconds = time.Since(start).Seconds()
	endPhase()
	res.EmptyStartFailures = int(failures.Load())

	// Complaints: submit n, wait until every one's workflow armed its deadlines.
	var errs atomic.Int64
	prefix := "startup-" + o.run + "-"
	endPhase = o.phase("start-up: complaints")
	start = time.Now()
	parallel(o.n, o.c, func(i int) {
		for attempt := 0; ; attempt++ { // a refused submit is retried with its key, as clients do
			err := o.submit(prefix + strconv.Itoa(i))
			if err == nil {
				return
			}
			errs.Add(1)
			if attempt == 5 || ctx.Err() != nil {
				return
			}
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
	})
	res.SubmitSeconds = time.Since(start).Seconds()
	res.SubmitErrors = int(errs.Load())
	deadline := start.Add(o.limit)
	for {
		var armed int
		err := o.db.QueryRowContext(ctx, `SELECT count(*) FROM intake_idempotency i
			JOIN cases c ON c.id = i.case_id
			JOIN notifications n ON n.case_id = c.id AND n.kind = 'acknowledgement'
			WHERE i.key LIKE $1 AND c.workflow_started_at IS NOT NULL`, "bench/"+prefix+"%").Scan(&armed)
		if err != nil {
			return res, err
		}
		if armed >= o.n {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("bench: only %d of %d complaints had armed workflows after %s", armed, o.n, o.limit)
		}
		time.Sleep(500 * time.Millisecond) // the count joins three tables: polled often, it competes with what it measures
	}
	res.ComplaintsSeconds = time.Since(start).Seconds()
	endPhase()
	res.ComplaintsPerSec = float64(o.n) / res.ComplaintsSeconds
	res.EmptyPerSec = float64(o.n) / res.EmptySeconds
	res.Ratio = res.ComplaintsSeconds / res.EmptySeconds
	return res, nil
}

// parallel runs op(0..n-1) over c goroutines.
func parallel(n, c int, op func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				op(i)
			}
		}()
	}
	wg.Wait()
}

func machineFacts() map[string]string {
	m := map[string]string{"cores": strconv.Itoa(runtime.NumCPU()), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m["loadavg_at_start"] = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m["cpu"] = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	return m
}

// cpuCost is the CPU time the stack spent per operation during a phase,
// read from /proc (benchprocs.go).
type cpuCost struct {
	ServerMsPerOp   float64 `json:"redress_ms_per_complaint"`
	TemporalMsPerOp float64 `json:"temporal_ms_per_complaint"`
	PostgresMsPerOp float64 `json:"postgres_ms_per_complaint"`
	TotalMsPerOp    float64 `json:"total_ms_per_complaint"`
	BusyPercent     float64 `json:"machine_busy_percent"`
	Cores           int     `json:"cores"`
}

func machineTicks() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:]
	for i, v := range f {
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy, total
}
