//go:build dev

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The bench watches the processes of the deployed shape: `redress dev` (the
// supervisor, hosting the embedded Temporal server), each `redress serve
// <name>` child, and PostgreSQL's postmaster with its backends. For each
// phase it reports, per process group, the CPU seconds spent and the peak
// and average memory. Memory is the proportional set size (PSS: shared pages
// divided among the processes sharing them), so PostgreSQL's shared buffers
// count once across its backends rather than once per backend.

// procRow is one process group's cost during a phase.
type procRow struct {
	Name       string  `json:"name"`
	Processes  int     `json:"processes"` // most seen at once
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakMiB    float64 `json:"peak_mib"`
	AvgMiB     float64 `json:"avg_mib"`
}

// procSample is one reading of a process: its group, CPU ticks so far and memory.
type procSample struct {
	group string
	ticks float64
	kib   float64
}

// procWatch samples the process trees under roots while a phase runs.
type procWatch struct {
	roots map[int]string // pid → group of the root itself
	every time.Duration

	mu      sync.Mutex
	samples int // readings so far; memory is read on every memoryEvery-th
	first   map[int]procSample
	last    map[int]procSample
	sums    map[string][]float64 // group → memory sum per sample (KiB)
	counts  map[string]int
	stop    chan struct{}
	stopped chan struct{}
}

// watchProcs starts sampling the redress dev process (devPID) and the
// PostgreSQL postmaster (pgPID) with their children; pids ≤ 0 are skipped.
func watchProcs(devPID, pgPID int, every time.Duration) *procWatch {
	w := &procWatch{roots: map[int]string{}, every: every, first: map[int]procSample{}, last: map[int]procSample{},
		sums: map[string][]float64{}, counts: map[string]int{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	if devPID > 0 {
		w.roots[devPID] = "dev + embedded Temporal"
	}
	if pgPID > 0 {
		w.roots[pgPID] = "postgres (server)"
	}
	w.sample(true)
	go func() {
		defer close(w.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				w.sample(true)
				return
			case <-t.C:
				w.sample(false)
			}
		}
	}()
	return w
}

// finish stops sampling and answers the rows, largest CPU first.
func (w *procWatch) finish() []procRow {
	if w == nil || len(w.roots) == 0 {
		return nil
	}
	close(w.stop)
	<-w.stopped
	w.mu.Lock()
	defer w.mu.Unlock()
	cpu := map[string]float64{}
	for pid, end := range w.last {
		cpu[end.group] += end.ticks - w.first[pid].ticks // a process born during the phase starts at 0
	}
	var rows []procRow
	for g, sums := range w.sums {
		r := procRow{Name: g, Processes: w.counts[g], CPUSeconds: cpu[g] / clockTicks}
		for _, s := range sums {
			r.PeakMiB = max(r.PeakMiB, s/1024)
			r.AvgMiB += s / 1024 / float64(len(sums))
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b procRow) int {
		if a.CPUSeconds != b.CPUSeconds {
			if a.CPUSeconds > b.CPUSeconds {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return rows
}

const clockTicks = 100.0 // USER_HZ

// memoryEvery spaces the memory readings: smaps_rollup walks a process's
// page tables in the kernel, and reading it for ~90 processes every second
// cost the bench 0.4 s of CPU per second — taken from the stack it measures.
// CPU ticks (/proc/<pid>/stat) stay read every second.
const memoryEvery = 10

// sample reads every watched process; memory on every memoryEvery-th call
// and when last is set (the phase's end).
func (w *procWatch) sample(last bool) {
	w.mu.Lock()
	withMemory := last || w.samples%memoryEvery == 0
	w.samples++
	w.mu.Unlock()
	now := readProcs(w.roots, withMemory)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !withMemory {
		for pid, s := range now {
			if _, ok := w.first[pid]; !ok {
				w.first[pid] = procSample{group: s.group}
			}
			w.last[pid] = s
		}
		return
	}
	sums, counts := map[string]float64{}, map[string]int{}
	initial := len(w.last) == 0 // the phase's first reading
	for pid, s := range now {
		if _, ok := w.first[pid]; !ok {
			if initial {
				w.first[pid] = s
			} else {
				w.first[pid] = procSample{group: s.group}
			}
		}
		w.last[pid] = s
		sums[s.group] += s.kib
		counts[s.group]++
	}
	for g, s := range sums {
		w.sums[g] = append(w.sums[g], s)
		w.counts[g] = max(w.counts[g], counts[g])
	}
}

// readProcs reads every root and every direct child of a root; their
// memory too when withMemory is set.
func readProcs(roots map[int]string, withMemory bool) map[int]procSample {
	out := map[int]procSample{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		ppid, ticks, rssPages, ok := parseStat(string(stat))
		if !ok {
			continue
		}
		group, isRoot := roots[pid]
		parent, isChild := roots[ppid]
		if !isRoot && !isChild {
			continue
		}
		if isChild {
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			group = childGroup(parent, cmd)
		}
		var kib float64
		if withMemory {
			if kib = pssKiB("/proc/" + e.Name() + "/smaps_rollup"); kib == 0 {
				kib = rssPages * float64(os.Getpagesize()) / 1024
			}
		}
		out[pid] = procSample{group: group, ticks: ticks, kib: kib}
	}
	return out
}

// parseStat reads the parent pid, utime+stime (ticks) and RSS (pages) from
// a /proc/<pid>/stat line.
func parseStat(s string) (ppid int, ticks, rssPages float64, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0, 0, 0, false
	}
	f := strings.Fields(s[i+2:]) // f[0] is field 3 (state)
	if len(f) < 22 {
		return 0, 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	rssPages, _ = strconv.ParseFloat(f[21], 64)
	return ppid, ut + st, rssPages, true
}

// childGroup names a child process: `redress serve intake` is "intake";
// a PostgreSQL backend is grouped by its role ("postgres: temporal ..." →
// "postgres (temporal)"), a background process goes with the server.
func childGroup(parent string, cmdline []byte) string {
	args := strings.Fields(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	if len(args) >= 3 && args[1] == "serve" {
		return args[2]
	}
	if strings.HasPrefix(parent, "postgres") && len(args) >= 4 && args[0] == "postgres:" && (strings.Contains(args[3], "(") || args[3] == "[local]") {
		return "postgres (" + args[1] + ")" // postgres: <role> <database> <host>(<port>) <state>
	}
	if strings.HasPrefix(parent, "postgres") {
		return parent
	}
	if len(args) > 0 {
		return parent + " child " + args[0]
	}
	return parent
}

// pssKiB is the Pss line of smaps_rollup (0 when unreadable).
func pssKiB(path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return n
		}
	}
	return 0
}

// phase is one measured stretch of the bench with the processes' costs.
type phase struct {
	Name        string  `json:"name"`
	Seconds     float64 `json:"seconds"`
	MachineBusy float64 `json:"machine_busy_percent"` // every process on the machine, ours or not
	// BenchCPU is the CPU this bench process spent (its load and polling),
	// left out of every cost but taken from the same cores.
	BenchCPU  float64   `json:"bench_client_cpu_seconds"`
	Processes []procRow `json:"processes,omitempty"`
	Waits     []waitRow `json:"postgres_waits,omitempty"` // benchwaits.go
}

// phaseWatch measures one phase: the wall time, the machine's busy share
// and the process groups' costs.
type phaseWatch struct {
	name          string
	start         time.Time
	busy0, total0 float64
	self0         float64
	procs         *procWatch
}

func startPhase(name string, devPID, pgPID int) *phaseWatch {
	p := &phaseWatch{name: name, start: time.Now()}
	p.busy0, p.total0 = machineTicks()
	p.self0 = selfTicks()
	if devPID > 0 || pgPID > 0 {
		p.procs = watchProcs(devPID, pgPID, time.Second)
	}
	return p
}

func (p *phaseWatch) end() phase {
	ph := phase{Name: p.name, Seconds: time.Since(p.start).Seconds(), Processes: p.procs.finish()}
	busy, total := machineTicks()
	ph.MachineBusy = 100 * safeDiv(busy-p.busy0, total-p.total0)
	ph.BenchCPU = (selfTicks() - p.self0) / clockTicks
	return ph
}

// selfTicks is this process's CPU so far, in ticks.
func selfTicks() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	_, ticks, _, _ := parseStat(string(b))
	return ticks
}

// benchClientGroup names the PostgreSQL backends of the bench itself (the
// owner role: the raw baseline and the bench's own polling queries), which
// are not part of what a complaint costs.
const benchClientGroup = "postgres (bench's own connections)"

func (p *phase) markBenchClient(role string) {
	for i := range p.Processes {
		if p.Processes[i].Name == "postgres ("+role+")" {
			p.Processes[i].Name = benchClientGroup
		}
	}
}

// costPer splits a phase's CPU per operation into the services, the
// embedded Temporal server (with the dev supervisor, which does next to
// nothing) and PostgreSQL (all its processes, Temporal's backends included,
// the bench's own left out).
func (p phase) costPer(ops int) *cpuCost {
	if ops == 0 || len(p.Processes) == 0 {
		return nil
	}
	pg := cpuOf(p.Processes, func(n string) bool { return strings.HasPrefix(n, "postgres") && n != benchClientGroup })
	temporal := cpuOf(p.Processes, func(n string) bool { return strings.HasPrefix(n, "dev") })
	all := cpuOf(p.Processes, func(n string) bool { return n != benchClientGroup })
	per := func(s float64) float64 { return 1000 * s / float64(ops) }
	return &cpuCost{ServerMsPerOp: per(all - pg - temporal), TemporalMsPerOp: per(temporal), PostgresMsPerOp: per(pg),
		TotalMsPerOp: per(all), BusyPercent: p.MachineBusy, Cores: runtime.NumCPU()}
}

func (p phase) print() {
	p.printProcesses()
	printWaits(p.Waits)
}

func (p phase) printProcesses() {
	if len(p.Processes) == 0 {
		return
	}
	fmt.Printf("\nprocesses during %s (%.1f s): CPU seconds, memory (PSS) peak / average\n", p.Name, p.Seconds)
	var total float64
	for _, r := range p.Processes {
		fmt.Printf("  %-36s %3d proc %8.2f s CPU %8.1f MiB peak %8.1f MiB avg\n", r.Name, r.Processes, r.CPUSeconds, r.PeakMiB, r.AvgMiB)
		total += r.CPUSeconds
	}
	fmt.Printf("  %-36s          %8.2f s CPU (%.0f%% of one core)\n", "all", total, 100*safeDiv(total, p.Seconds))
	fmt.Printf("  %-36s          %8.2f s CPU (not in the costs; machine busy %.0f%%)\n", "the bench itself (load, polling)", p.BenchCPU, p.MachineBusy)
}

// cpuOf sums the CPU seconds of the rows whose names match.
func cpuOf(rows []procRow, match func(name string) bool) float64 {
	var s float64
	for _, r := range rows {
		if match(r.Name) {
			s += r.CPUSeconds
		}
	}
	return s
}
