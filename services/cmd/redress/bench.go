//go:build dev

package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/config"
)

// runBench measures a running stack on this machine, in one run:
//
//   - workflow start-up: the time for -startup-n accepted complaints to all
//     have a running workflow with its deadlines armed, beside the time for
//     the same Temporal server to run as many empty workflows (benchstartup.go);
//   - the complaint storm: -storm-n complaints offered at -storm-rate, until
//     every one is acknowledged (benchstorm.go);
//   - intake: SubmitComplaint over gRPC at fixed offered rates (open loop:
//     requests leave on a schedule whatever the answers do, and latency counts
//     from the scheduled time, so a stalled server cannot hide its queue) and
//     at saturation (closed loop, -sat-c callers), each beside a raw baseline:
//     the same durable rows (subject key, complainant, case, two deadlines,
//     idempotency key, audit entry and chain head) inserted by plain SQL
//     transactions, one per complaint, into
//     copies of the same tables, with the same indexes, on the same database.
//
// Each phase reports the CPU seconds and memory of every process of the
// stack (benchprocs.go). The targets, each beside its same-run
// baseline, close the table (benchtargets.go); with -json everything goes
// to a file runs can be compared by.
func runBench(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := benchOptions{}
	fs.StringVar(&o.addr, "addr", cfg.IntakeAddr, "intake gRPC address")
	fs.StringVar(&o.rates, "rates", "250,500,1000", "comma-separated offered rates (complaints/s) for the open-loop runs; empty skips them")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each open-loop and saturation run")
	fs.IntVar(&o.satC, "sat-c", 32, "concurrent callers for the saturation run; 0 skips it")
	fs.IntVar(&o.startupN, "startup-n", 2000, "complaints (and empty workflows) for the start-up measure; 0 skips it")
	fs.IntVar(&o.startupC, "startup-c", 32, "concurrent callers for the start-up measure")
	fs.DurationVar(&o.startupLimit, "startup-limit", 30*time.Minute, "give up on the start-up measure after this long")
	fs.DurationVar(&o.idle, "idle", 10*time.Second, "measure the idle stack's CPU and memory this long first; 0 skips it")
	fs.IntVar(&o.stormN, "storm-n", 20000, "complaints in the storm; 0 skips it")
	fs.IntVar(&o.stormRate, "storm-rate", 500, "the storm's offered rate (complaints/s)")
	fs.DurationVar(&o.stormLimit, "storm-limit", 30*time.Minute, "give up on the storm after this long")
	fs.StringVar(&o.temporal, "temporal", cfg.TemporalAddress, "Temporal frontend address (start-up measure)")
	fs.StringVar(&o.store, "store", cfg.TemporalStore, "the Temporal server's persistence, for the report (postgres, sqlite)")
	fs.StringVar(&o.otherStartup, "other-startup", "", "bench.json of a run on the other Temporal store: its start-up row joins this report")
	fs.StringVar(&o.deletionJSON, "deletion-json", "", "figures of bench-deletion, for the deletion row")
	fs.StringVar(&o.pprofURL, "pprof", "", "base URL of the intake's /debug/pprof: take a CPU profile during the saturation run")
	fs.StringVar(&o.profileOut, "profile-out", "intake.cpu.pprof", "where the CPU profile goes")
	fs.StringVar(&o.temporalPprof, "temporal-pprof", "", "base URL of redress dev's /debug/pprof (the embedded Temporal): take a CPU profile during the storm")
	fs.StringVar(&o.temporalProfileOut, "temporal-profile-out", "temporal.cpu.pprof", "where that CPU profile goes")
	fs.StringVar(&o.workerPprof, "worker-pprof", "", "base URL of the worker's /debug/pprof: take a CPU profile during the storm")
	fs.StringVar(&o.workerProfileOut, "worker-profile-out", "worker.cpu.pprof", "where that CPU profile goes")
	fs.IntVar(&o.serverPID, "server-pid", 0, "pid of redress dev (it hosts the embedded Temporal; its children are the services), for per-process CPU and memory")
	fs.IntVar(&o.pgPID, "pg-pid", 0, "pid of the PostgreSQL postmaster, for its processes' CPU and memory")
	out := fs.String("json", "", "also write the figures to this JSON file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (the baseline runs on the same database)")
	}
	o.ownerURL = cfg.OwnerDatabaseURL()
	conn, err := grpc.NewClient(o.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	api := intakev1.NewIntakeServiceClient(conn)
	sqlDB, err := sql.Open("pgx", cfg.OwnerDatabaseURL()) // the baseline creates a schema of its own
	if err != nil {
		return err
	}
	defer func() { _ = sqlDB.Close() }()
	sqlDB.SetMaxOpenConns(64)
	sqlDB.SetMaxIdleConns(64)
	raw, err := newRawBaseline(ctx, sqlDB)
	if err != nil {
		return err
	}
	defer raw.drop(context.Background())

	token, err := benchCredential(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	submitCase := func(key string) (string, error) {
		resp, err := api.SubmitComplaint(authed, benchRequest(key))
		return resp.GetCase().GetId(), err
	}
	submit := func(key string) error {
		_, err := submitCase(key)
		return err
	}
	rep := &benchReport{Machine: machineFacts(), Started: time.Now().UTC()}
	phase := func(name string) func() {
		w := startPhase(name, o.serverPID, o.pgPID)
		waits := watchWaits(sqlDB, 250*time.Millisecond, ownerRole(o.ownerURL))
		return func() {
			p := w.end()
			p.Waits = waits.finish()
			p.markBenchClient(ownerRole(o.ownerURL))
			rep.Phases = append(rep.Phases, p)
			p.print()
		}
	}
	// What the stack burns doing nothing (timers, polls, the engine's own
	// loops): the floor under every per-complaint figure below.
	if o.idle > 0 {
		end := phase("idle")
		select {
		case <-ctx.Done():
		case <-time.After(o.idle):
		}
		end()
	}
	// Start-up first, on an idle stack: the load runs below leave thousands
	// of workflows for the worker to catch up with.
	if o.startupN > 0 {
		if o.temporal == "" {
			return errors.New("bench: -temporal (or TEMPORAL_ADDRESS) is needed for the start-up measure; -startup-n 0 skips it")
		}
		st, err := measureStartup(ctx, startupOptions{
			temporal: o.temporal, namespace: cfg.Namespace, store: o.store, db: sqlDB, n: o.startupN, c: o.startupC,
			limit: o.startupLimit, run: run, submit: submit, phase: phase,
		})
		if err != nil {
			return err
		}
		rep.Startup = &st
		st.print()
	}
	// The storm next, while the engine has no backlog of its own.
	if o.stormN > 0 {
		// CPU profiles of the storm's first half minute at most: the
		// embedded Temporal (redress dev) and the worker.
		d := min(30*time.Second, time.Duration(o.stormN/max(o.stormRate, 1)+5)*time.Second)
		profiles := []struct {
			url, out string
			record   *string
		}{{o.temporalPprof, o.temporalProfileOut, &rep.TemporalProfile}, {o.workerPprof, o.workerProfileOut, &rep.WorkerProfile}}
		profDone := make([]chan error, len(profiles))
		for i, p := range profiles {
			profDone[i] = make(chan error, 1)
			if p.url == "" {
				profDone[i] <- nil
				continue
			}
			go func() { profDone[i] <- fetchProfile(ctx, p.url, d, p.out) }()
		}
		end := phase("storm")
		st, err := runStorm(ctx, stormOptions{db: sqlDB, n: o.stormN, rate: o.stormRate, limit: o.stormLimit, run: run, submit: submitCase})
		end()
		if err != nil {
			return err
		}
		rep.Storm = &st
		st.print()
		for i, p := range profiles {
			if err := <-profDone[i]; err != nil {
				fmt.Fprintln(os.Stderr, "bench: CPU profile during the storm:", err)
			} else if p.url != "" {
				*p.record = p.out
			}
		}
	}
	if err := rep.intakeRuns(ctx, o, sqlDB, raw, run, submit, phase); err != nil {
		return err
	}

	if rep.Deletion, err = readDeletion(o.deletionJSON); err != nil {
		return fmt.Errorf("bench: %s: %w", o.deletionJSON, err)
	}
	if o.otherStartup != "" {
		var other benchReport
		if err := readJSON(o.otherStartup, &other); err != nil {
			return fmt.Errorf("bench: %s: %w", o.otherStartup, err)
		}
		rep.StartupOther = other.Startup
		if other.Startup != nil {
			other.Startup.print()
		}
	}
	rep.buildTargets()
	rep.printTargets()
	if *out == "" {
		return nil
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if missing, err := missingTargets(b); err != nil || len(missing) > 0 {
		return fmt.Errorf("bench: the report lacks target rows %v (%v)", missing, err)
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

// intakeRuns measures intake at the offered rates and at saturation, each
// beside the raw baseline.
func (rep *benchReport) intakeRuns(ctx context.Context, o benchOptions, db *sql.DB, raw *rawBaseline, run string,
	submit func(string) error, phase func(string) func()) error {
	if strings.TrimSpace(o.rates) == "" && o.satC == 0 {
		return nil
	}
	// Each run starts once the engine has caught up with the runs before
	// it: otherwise a baseline or an intake run shares the machine with
	// another run's workflows, and the pair compares different loads.
	since := time.Now().Add(-time.Second)
	settled := func(measure func() (loadRow, error)) (loadRow, error) {
		wait, err := settle(ctx, db, since, o.stormLimit)
		if err != nil {
			return loadRow{}, err
		}
		r, err := measure()
		r.SettledSeconds = wait.Seconds()
		return r, err
	}
	fmt.Println()
	printHeader()
	// Warm both paths (connections, caches, JIT of plans) before measuring.
	if _, err := closedLoop(ctx, "warm-up", 200, 8, 0, func(i int) error { return submit(fmt.Sprintf("warm-%s-%d", run, i)) }); err != nil {
		return err
	}
	if _, err := closedLoop(ctx, "warm-up", 200, 8, 0, raw.insert); err != nil {
		return err
	}
	var seq atomic.Int64
	for _, rs := range strings.Split(o.rates, ",") {
		if strings.TrimSpace(rs) == "" {
			continue
		}
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil || rate < 1 {
			return fmt.Errorf("bad rate %q", rs)
		}
		n := int(float64(rate) * o.duration.Seconds())
		base, err := settled(func() (loadRow, error) { return openLoop(ctx, "raw SQL baseline", n, rate, raw.insert), nil })
		if err != nil {
			return err
		}
		in, err := settled(func() (loadRow, error) {
			return openLoop(ctx, "intake SubmitComplaint", n, rate, func(int) error {
				return submit(fmt.Sprintf("rate-%s-%d", run, seq.Add(1)))
			}), nil
		})
		if err != nil {
			return err
		}
		rep.addPair(base, in)
	}
	if o.satC == 0 {
		return nil
	}
	// phased measures a saturation run (as fast as -sat-c callers go, for
	// -duration) as a phase of its own, once the engine caught up. prepare,
	// when set, runs just before the phase and answers what to do after it.
	phased := func(name, measure string, prepare func() (after func() error, err error), op func(int) error) (loadRow, error) {
		return settled(func() (r loadRow, err error) {
			if prepare != nil {
				after, perr := prepare()
				if perr != nil {
					return loadRow{}, perr
				}
				defer func() { // once the phase ended (defers run last first)
					if aerr := after(); aerr != nil && err == nil {
						err = aerr
					}
				}()
			}
			end := phase(name)
			defer end()
			return closedLoop(ctx, measure, 0, o.satC, o.duration, op)
		})
	}
	base, err := phased("saturation: raw SQL baseline", "raw SQL baseline", nil, raw.insert)
	if err != nil {
		return err
	}
	if p := rep.Phases[len(rep.Phases)-1]; base.Accepted > 0 {
		cpu := cpuOf(p.Processes, func(n string) bool { return n == benchClientGroup || n == "postgres (server)" })
		rep.RawCPUms = 1000 * cpu / float64(base.Accepted)
	}
	profDone := make(chan error, 1)
	profile := func() (func() error, error) { // of the intake's run, not of the wait before it
		go func() { profDone <- fetchProfile(ctx, o.pprofURL, o.duration*8/10, o.profileOut) }()
		return func() error { return nil }, nil
	}
	if o.pprofURL == "" {
		profile = nil
		profDone <- nil
	}
	in, err := phased("saturation: intake", "intake SubmitComplaint", profile, func(int) error {
		return submit(fmt.Sprintf("sat-%s-%d", run, seq.Add(1)))
	})
	if err != nil {
		return err
	}
	in.CPU = rep.Phases[len(rep.Phases)-1].costPer(in.Accepted)
	if err := <-profDone; err != nil {
		fmt.Fprintln(os.Stderr, "bench: CPU profile:", err)
	} else if o.pprofURL != "" {
		rep.Profile = o.profileOut
	}
	fmt.Println()
	printHeader()
	rep.addPair(base, in)

	// The same with the worker paused: the intake then writes the same rows
	// as the baseline and nothing else runs, its workflows start after the
	// run. The row above is the deployed shape squeezed onto one machine,
	// where the workflows of what it accepts share its two cores.
	worker := childPID(o.serverPID, "worker")
	if worker == 0 {
		return nil
	}
	pause := func() (func() error, error) {
		if err := syscall.Kill(worker, syscall.SIGSTOP); err != nil {
			return nil, fmt.Errorf("bench: pause the worker: %w", err)
		}
		return func() error { return syscall.Kill(worker, syscall.SIGCONT) }, nil
	}
	held, err := phased("saturation: intake, worker paused", "intake, worker paused", pause, func(int) error {
		return submit(fmt.Sprintf("held-%s-%d", run, seq.Add(1)))
	})
	if err != nil {
		return err
	}
	held.CPU = rep.Phases[len(rep.Phases)-1].costPer(held.Accepted)
	held.WorkerPaused = true
	rep.addPair(base, held)
	_, err = settle(ctx, db, since, o.stormLimit) // the next command finds the engine caught up
	return err
}

// childPID is the pid of `redress serve <name>` among parent's children
// (0: none).
func childPID(parent int, name string) int {
	if parent == 0 {
		return 0
	}
	for pid, p := range readProcs(map[int]string{parent: "redress dev"}, false) {
		if pid != parent && p.group == name {
			return pid
		}
	}
	return 0
}

// ownerRole is the user of a database URL ("" when it has none).
func ownerRole(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.User == nil {
		return ""
	}
	return u.User.Username()
}

type benchOptions struct {
	addr, rates, temporal, pprofURL, profileOut, store string
	otherStartup, deletionJSON, ownerURL               string
	temporalPprof, temporalProfileOut                  string
	workerPprof, workerProfileOut                      string
	duration, startupLimit, stormLimit, idle           time.Duration
	satC, startupN, startupC, serverPID, pgPID         int
	stormN, stormRate                                  int
}

// loadRow is one measured run.
type loadRow struct {
	Measure     string         `json:"measure"`
	Mode        string         `json:"mode"`                   // "open" (offered rate) or "closed" (saturation)
	OfferedRate int            `json:"offered_rate,omitempty"` // open loop
	Concurrency int            `json:"concurrency,omitempty"`  // closed loop
	Sent        int            `json:"sent"`
	Accepted    int            `json:"accepted"`
	Errors      int            `json:"errors"`
	ByCode      map[string]int `json:"errors_by_code,omitempty"`
	Shed        int            `json:"shed,omitempty"` // open loop: not sent, too many in flight
	Seconds     float64        `json:"seconds"`
	PerSecond   float64        `json:"accepted_per_second"`
	P50ms       float64        `json:"p50_ms"`
	P95ms       float64        `json:"p95_ms"`
	P99ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	CPU         *cpuCost       `json:"cpu,omitempty"`
	// WorkerPaused: the worker was stopped for the run (its workflows
	// started after it).
	WorkerPaused bool `json:"worker_paused,omitempty"`
	// SettledSeconds is how long the run waited, before it began, for the
	// engine to send the acknowledgements of earlier runs' complaints.
	SettledSeconds float64 `json:"settled_seconds"`
}

type loadPair struct {
	Baseline loadRow `json:"baseline"`
	Intake   loadRow `json:"intake"`
	// Ratio is intake's accepted/s over the baseline's.
	Ratio float64 `json:"ratio"`
}

type benchReport struct {
	Machine map[string]string `json:"machine"`
	Started time.Time         `json:"started"`
	// Targets are the rows, every one present (benchtargets.go).
	Targets []targetRow    `json:"targets"`
	Intake  []loadPair     `json:"intake"`
	Startup *startupResult `json:"startup,omitempty"`
	// StartupOther is the start-up measure of a run on the other store.
	StartupOther *startupResult   `json:"startup_other_store,omitempty"`
	Storm        *stormResult     `json:"storm,omitempty"`
	Deletion     *deletionFigures `json:"deletion,omitempty"`
	// RawCPUms is PostgreSQL's CPU per raw SQL complaint at saturation.
	RawCPUms float64 `json:"raw_sql_cpu_ms_per_complaint,omitempty"`
	Phases   []phase `json:"phases"`
	Profile  string  `json:"cpu_profile,omitempty"`
	// TemporalProfile is a CPU profile of redress dev (the embedded
	// Temporal server) during the storm.
	TemporalProfile string `json:"temporal_cpu_profile,omitempty"`
	// WorkerProfile is a CPU profile of the worker during the storm.
	WorkerProfile string `json:"worker_cpu_profile,omitempty"`
}

func printHeader() {
	fmt.Printf("%-24s %-9s %7s %7s %6s %9s %8s %8s %8s %8s\n",
		"measure", "load", "sent", "ok", "err", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
}

func (r loadRow) print() {
	load := fmt.Sprintf("%d/s", r.OfferedRate)
	if r.Mode == "closed" {
		load = fmt.Sprintf("sat c=%d", r.Concurrency)
	}
	errs := strconv.Itoa(r.Errors)
	if r.Shed > 0 {
		errs += fmt.Sprintf("+%dshed", r.Shed)
	}
	defer func() {
		if len(r.ByCode) > 0 {
			fmt.Printf("%-24s errors by code: %v\n", "", r.ByCode)
		}
	}()
	fmt.Printf("%-24s %-9s %7d %7d %6s %9.0f %8.1f %8.1f %8.1f %8.1f\n",
		r.Measure, load, r.Sent, r.Accepted, errs, r.PerSecond, r.P50ms, r.P95ms, r.P99ms, r.MaxMs)
}

func (rep *benchReport) addPair(base, in loadRow) {
	p := loadPair{Baseline: base, Intake: in}
	if base.PerSecond > 0 {
		p.Ratio = in.PerSecond / base.PerSecond
	}
	rep.Intake = append(rep.Intake, p)
	base.print()
	in.print()
	fmt.Printf("%-24s %-9s %38.0f%%   p99 %.1f× baseline\n", "  ratio intake/baseline", "", 100*p.Ratio, safeDiv(in.P99ms, base.P99ms))
	fmt.Printf("  each began on a caught-up engine: earlier runs' acknowledgements drained %.1f s before the baseline, %.1f s before intake\n",
		base.SettledSeconds, in.SettledSeconds)
	if in.CPU != nil {
		fmt.Printf("  CPU per accepted complaint: services %.2f ms, Temporal %.2f ms, postgres %.2f ms (machine %.0f%% busy of %d cores)\n",
			in.CPU.ServerMsPerOp, in.CPU.TemporalMsPerOp, in.CPU.PostgresMsPerOp, in.CPU.BusyPercent, in.CPU.Cores)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// openLoop sends n operations at rate per second on a fixed schedule, each in
// its own goroutine; latency counts from the scheduled send time. More than
// maxInFlight outstanding operations are shed (counted, not sent), so an
// overwhelmed server shows up as shed load and latency, not as a slower
// generator.
func openLoop(ctx context.Context, name string, n, rate int, op func(i int) error) loadRow {
	const maxInFlight = 4096
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var inflight atomic.Int64
	var errs, shed atomic.Int64
	var codes sync.Map
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			break
		}
		if inflight.Load() >= maxInFlight {
			shed.Add(1)
			continue
		}
		inflight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inflight.Add(-1)
			if err := op(i); err != nil {
				errs.Add(1)
				countCode(&codes, err)
				return
			}
			d := time.Since(at)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := summarise(name, lat, elapsed)
	r.Mode, r.OfferedRate, r.Sent = "open", rate, n-int(shed.Load())
	r.Errors, r.Shed = int(errs.Load()), int(shed.Load())
	r.ByCode = codeCounts(&codes)
	return r
}

// closedLoop runs op over c callers, n times in all, or for d when n is 0.
func closedLoop(ctx context.Context, name string, n, c int, d time.Duration, op func(i int) error) (loadRow, error) {
	var next, errs atomic.Int64
	var codes sync.Map
	lats := make([][]time.Duration, c)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if (n > 0 && i >= n) || (n == 0 && time.Now().After(stop)) {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					errs.Add(1)
					countCode(&codes, err)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := summarise(name, slices.Concat(lats...), elapsed)
	r.Mode, r.Concurrency, r.Errors = "closed", c, int(errs.Load())
	r.ByCode = codeCounts(&codes)
	r.Sent = r.Accepted + r.Errors
	if r.Accepted == 0 {
		return r, fmt.Errorf("%s: nothing succeeded: %v", name, firstErr.Load())
	}
	return r, nil
}

func summarise(name string, lat []time.Duration, elapsed time.Duration) loadRow {
	slices.Sort(lat)
	r := loadRow{Measure: name, Accepted: len(lat), Seconds: elapsed.Seconds(), PerSecond: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		r.P50ms, r.P95ms, r.P99ms, r.MaxMs = pct(0.50), pct(0.95), pct(0.99), pct(1)
	}
	return r
}

// rawBaseline inserts, in one durable transaction per complaint, the rows an
// accepted complaint writes, into copies of the real tables (same columns,
// constraints, indexes and foreign keys) in a schema of their own, so the
// recovery loop and the record never see them. Values have the sizes of the
// real ones (encrypted fields, keyed hashes, wrapped key).
type rawBaseline struct {
	db *sql.DB
}

func newRawBaseline(ctx context.Context, db *sql.DB) (*rawBaseline, error) {
	stmts := []string{
		`DROP SCHEMA IF EXISTS bench_raw CASCADE`,
		`CREATE SCHEMA bench_raw`,
		`CREATE TABLE bench_raw.subject_keys (LIKE public.subject_keys INCLUDING ALL)`,
		`CREATE TABLE bench_raw.complainants (LIKE public.complainants INCLUDING ALL,
			FOREIGN KEY (subject_key_id) REFERENCES bench_raw.subject_keys (id))`,
		`CREATE TABLE bench_raw.cases (LIKE public.cases INCLUDING ALL,
			FOREIGN KEY (complainant_id) REFERENCES bench_raw.complainants (id),
			FOREIGN KEY (merged_into) REFERENCES bench_raw.cases (id))`,
		`CREATE TABLE bench_raw.deadlines (LIKE public.deadlines INCLUDING ALL,
			FOREIGN KEY (case_id) REFERENCES bench_raw.cases (id))`,
		`CREATE TABLE bench_raw.intake_idempotency (LIKE public.intake_idempotency INCLUDING ALL,
			FOREIGN KEY (case_id) REFERENCES bench_raw.cases (id))`,
		`CREATE TABLE bench_raw.audit_entries (LIKE public.audit_entries INCLUDING ALL)`,
		`CREATE TABLE bench_raw.audit_head (LIKE public.audit_head INCLUDING ALL)`,
		`INSERT INTO bench_raw.audit_head SELECT * FROM public.audit_head`,
		`CREATE SEQUENCE bench_raw.case_number_seq`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("bench: prepare raw baseline tables: %w", err)
		}
	}
	return &rawBaseline{db: db}, nil
}

func (b *rawBaseline) drop(ctx context.Context) {
	_, _ = b.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS bench_raw CASCADE`)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// insert is one raw complaint: the same statements, one round trip each, in
// one transaction, committed durably (the server's synchronous_commit).
func (b *rawBaseline) insert(i int) error {
	ctx := context.Background()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	now := time.Now().UTC()
	sk, comp, caseID := uuid.NewString(), uuid.NewString(), uuid.NewString()
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw.subject_keys (id, wrapped_key, created_at) VALUES ($1, $2, $3)`,
		sk, randBytes(60), now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw.complainants (id, subject_key_id, name_enc, phone_enc, email_enc,
		id_number_enc, phone_index, email_index, preferred_contact, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'email',$9)`,
		comp, sk, randBytes(41), randBytes(43), randBytes(46), randBytes(29), randBytes(32), randBytes(32), now); err != nil {
		return err
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT nextval('bench_raw.case_number_seq')`).Scan(&seq); err != nil {
		return err
	}
	ack, res := now.Add(48*time.Hour), now.Add(15*24*time.Hour)
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw.cases (id, case_number, kind, category, channel, referring_body, state,
		assignee, complainant_id, subject_type, subject_value, leaked_data_type, leak_source, description, policy_pack,
		ack_due_at, resolution_due_at, overdue, rejection_reason, lookup_code_hash, lookup_code_enc, version,
		received_at, updated_at)
		VALUES ($1,$2,'complaint','spam_sms','api','','received','',$3,'phone_number','+8610690000001','','',$4,'cn',
		$5,$6,false,'',$7,$8,0,$9,$9)`,
		caseID, fmt.Sprintf("C-%d-%06d", now.Year(), seq), comp, benchDescription, ack, res, randBytes(32), randBytes(40), now); err != nil {
		return err
	}
	for _, d := range []struct {
		kind string
		due  time.Time
	}{{"acknowledgement", ack}, {"resolution", res}} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw.deadlines (case_id, kind, due_at, rule_id, citation, provisional,
			pausable, reminders, status) VALUES ($1,$2,$3,'cn.ack.2d','Telecommunications Regulations art. 12',false,true,$4,'open')`,
			caseID, d.kind, d.due, `["2026-01-01T00:00:00Z"]`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw.intake_idempotency (key, request_hash, case_id, created_at) VALUES ($1,$2,$3,$4)`,
		"bench/raw-"+caseID, randBytes(32), caseID, now); err != nil {
		return err
	}
	// The chain: lock the head, append, move the head, as audit.Append does.
	var seq64 int64
	var prev []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM bench_raw.audit_head WHERE singleton FOR UPDATE`).Scan(&seq64, &prev); err != nil {
		return err
	}
	hash := randBytes(32)
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw.audit_entries (seq, at, actor, action, object_type, object_id,
		after_digest, details, prev_hash, hash) VALUES ($1,$2,'bench','case.submitted','case',$3,$4,$5,$6,$7)`,
		seq64+1, now, caseID, "sha256:"+strings.Repeat("ab", 32), `{"ack_rule":"cn.ack.2d","attachments":0,"case_number":"C-2026-000001","category":"spam_sms","channel":"api","kind":"complaint","resolution_rule":"cn.res.15d"}`,
		prev, hash); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bench_raw.audit_head SET seq = $1, hash = $2 WHERE singleton`, seq64+1, hash); err != nil {
		return err
	}
	return tx.Commit()
}

const benchDescription = "Benchmark complaint: spam SMS after a data leak, sent every day for two weeks."

func benchRequest(key string) *intakev1.SubmitComplaintRequest {
	return &intakev1.SubmitComplaintRequest{
		IdempotencyKey: key, Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
		Category: intakev1.Category_CATEGORY_SPAM_SMS, Channel: intakev1.Channel_CHANNEL_API,
		Complainant: &intakev1.Complainant{Name: "Bench Person", Phone: "+8613800138000", Email: "bench@example.com"},
		Subject:     &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_PHONE_NUMBER, Value: "+8610690000001"},
		Description: benchDescription,
	}
}

// fetchProfile takes a CPU profile over d of the process serving base.
func fetchProfile(ctx context.Context, base string, d time.Duration, out string) error {
	secs := max(1, int(d.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/profile?seconds=%d", strings.TrimSuffix(base, "/"), secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", req.URL, resp.Status)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// countCode tallies a failed call by its gRPC code (RESOURCE_EXHAUSTED is the
// bounded queue refusing, not a failure to record).
func countCode(m *sync.Map, err error) {
	v, _ := m.LoadOrStore(status.Code(err).String(), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func codeCounts(m *sync.Map) map[string]int {
	out := map[string]int{}
	m.Range(func(k, v any) bool { out[k.(string)] = int(v.(*atomic.Int64).Load()); return true })
	if len(out) == 0 {
		return nil
	}
	return out
}
