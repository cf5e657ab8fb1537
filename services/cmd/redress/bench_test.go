//go:build dev

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSummarisePercentiles(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	r := summarise("x", lat, 2*time.Second)
	if r.Accepted != 100 || !near(r.PerSecond, 50) {
		t.Fatalf("accepted %d at %v/s, want 100 at 50/s", r.Accepted, r.PerSecond)
	}
	// Nearest rank below: index p*(n-1) of the sorted latencies.
	if r.P50ms != 50 || r.P95ms != 95 || r.P99ms != 99 || r.MaxMs != 100 {
		t.Fatalf("p50 %v p95 %v p99 %v max %v", r.P50ms, r.P95ms, r.P99ms, r.MaxMs)
	}
	if e := summarise("empty", nil, time.Second); e.P99ms != 0 || e.Accepted != 0 {
		t.Fatalf("empty run: %+v", e)
	}
}

func TestParseStatAndGroups(t *testing.T) {
	// comm may hold spaces and parentheses; fields count from the last ')'.
	line := "4242 (redress (x) y) S 4000 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 12 0 100 1000000 2560 18446744073709551615"
	ppid, ticks, rss, ok := parseStat(line)
	if !ok || ppid != 4000 || ticks != 200 || rss != 2560 {
		t.Fatalf("ppid %d ticks %v rss %v ok %v", ppid, ticks, rss, ok)
	}
	if _, _, _, ok := parseStat("garbage"); ok {
		t.Fatal("garbage parsed")
	}
	for _, c := range []struct{ parent, cmd, want string }{
		{"dev + embedded Temporal", "/x/.bin/redress\x00serve\x00worker\x00", "worker"},
		{"postgres (server)", "postgres: temporal temporal 127.0.0.1(51234) idle", "postgres (temporal)"},
		{"postgres (server)", "postgres: redress_intake_app redress [local] COMMIT", "postgres (redress_intake_app)"},
		{"postgres (server)", "postgres: logical replication launcher ", "postgres (server)"},
		{"postgres (server)", "postgres: checkpointer ", "postgres (server)"},
	} {
		if got := childGroup(c.parent, []byte(c.cmd)); got != c.want {
			t.Errorf("childGroup(%q) = %q, want %q", c.cmd, got, c.want)
		}
	}
}

func TestPhaseCostSplitsTheStack(t *testing.T) {
	p := phase{Name: "storm", Processes: []procRow{
		{Name: "intake", CPUSeconds: 1}, {Name: "worker", CPUSeconds: 0.5},
		{Name: "dev + embedded Temporal", CPUSeconds: 2},
		{Name: "postgres (temporal)", CPUSeconds: 1}, {Name: "postgres (server)", CPUSeconds: 0.5},
	}}
	c := p.costPer(1000)
	if !near(c.ServerMsPerOp, 1.5) || !near(c.TemporalMsPerOp, 2) || !near(c.PostgresMsPerOp, 1.5) || !near(c.TotalMsPerOp, 5) {
		t.Fatalf("%+v", c)
	}
	// The bench's own database connections are no part of the stack.
	p.Processes = append(p.Processes, procRow{Name: "postgres (redress)", CPUSeconds: 7})
	p.markBenchClient("redress")
	if c := p.costPer(1000); !near(c.TotalMsPerOp, 5) || !near(c.PostgresMsPerOp, 1.5) || !near(c.ServerMsPerOp, 1.5) {
		t.Fatalf("with the bench's connections: %+v", c)
	}
	if p.costPer(0) != nil || (phase{}).costPer(10) != nil {
		t.Fatal("a cost without operations or processes")
	}
}

// measuredReport is a report with every phase run.
func measuredReport() *benchReport {
	rep := &benchReport{
		Startup:      &startupResult{Store: "postgres", N: 100, Concurrency: 8, ComplaintsSeconds: 12, EmptySeconds: 10, Ratio: 1.2},
		StartupOther: &startupResult{Store: "sqlite", N: 100, Concurrency: 8, ComplaintsSeconds: 30, EmptySeconds: 10, Ratio: 3},
		Intake: []loadPair{
			{Baseline: loadRow{Mode: "open", OfferedRate: 500, P99ms: 20}, Intake: loadRow{Mode: "open", OfferedRate: 500, Sent: 1000, Accepted: 1000, P99ms: 40}},
			{Baseline: loadRow{Mode: "closed", PerSecond: 300}, Intake: loadRow{Mode: "closed", Concurrency: 64, PerSecond: 750}, Ratio: 2.5},
		},
		Storm: &stormResult{N: 2000, Rate: 200, LastSubmitSeconds: 10, LastAckSeconds: 40, AfterLastSubmit: 30,
			Accepted: 2000, WorkflowsStarted: 2000, AcksSent: 2000, Complete: true, Intake: loadRow{P99ms: 35}},
		Deletion: &deletionFigures{Requests: 10000, EndToEndPerSec: 200, RawPeoplePerSec: 3000},
		RawCPUms: 0.5,
		Phases: []phase{{Name: "storm", Processes: []procRow{{Name: "intake", CPUSeconds: 1},
			{Name: "dev + embedded Temporal", CPUSeconds: 1}, {Name: "postgres (server)", CPUSeconds: 1}}}},
	}
	rep.buildTargets()
	return rep
}

func targetByKey(t *testing.T, rep *benchReport, key string) targetRow {
	t.Helper()
	for _, r := range rep.Targets {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no target row %s", key)
	return targetRow{}
}

func TestTargetRowsWithBaselinesAndRatios(t *testing.T) {
	rep := measuredReport()
	keys := []string{}
	for _, r := range rep.Targets {
		keys = append(keys, r.Key)
	}
	if !slices.Equal(keys, targetKeys) {
		t.Fatalf("rows %v, want %v", keys, targetKeys)
	}
	for _, c := range []struct {
		key                    string
		value, baseline, ratio float64
		met                    bool
	}{
		{"startup_postgres", 12, 10, 1.2, true},
		{"startup_sqlite", 30, 10, 3, false},
		{"intake_p99_500", 40, 20, 2, true},
		{"intake_saturation", 750, 300, 2.5, true},
		{"deletion_end_to_end", 200, 3000, 15, true}, // 15× slower
		{"cpu_per_complaint", 1.5, 0.5, 3, true},     // 3 s CPU for 2,000 complaints
		{"storm", 30, 10, 4, true},                   // last ack 40 s after a 10 s storm
	} {
		r := targetByKey(t, rep, c.key)
		if r.Met == nil || *r.Met != c.met || !near(r.Value, c.value) || !near(r.Baseline, c.baseline) || !near(r.Ratio, c.ratio) {
			t.Errorf("%s: value %v baseline %v ratio %v met %v; want %v %v %v %v", c.key, r.Value, r.Baseline, r.Ratio, r.Met,
				c.value, c.baseline, c.ratio, c.met)
		}
		if r.BaselineOf == "" || r.Target == "" || r.Unit == "" {
			t.Errorf("%s: unlabelled row %+v", c.key, r)
		}
	}
	// An incomplete storm misses its target whatever its time.
	rep.Storm.Complete = false
	rep.buildTargets()
	if r := targetByKey(t, rep, "storm"); *r.Met {
		t.Error("an incomplete storm met its target")
	}
}

// make bench's JSON has every target row, measured or not (a phase skipped
// by a BENCH_ variable leaves its row saying so); runBench refuses to write
// a report that lacks one.
func TestBenchJSONHasEveryTargetRow(t *testing.T) {
	for name, rep := range map[string]*benchReport{"measured": measuredReport(), "nothing measured": {}} {
		rep.buildTargets()
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if missing, err := missingTargets(b); err != nil || len(missing) > 0 {
			t.Errorf("%s: missing %v (%v)", name, missing, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{"targets", "machine", "phases"} {
			if _, ok := doc[field]; !ok {
				t.Errorf("%s: no %q in %s", name, field, b)
			}
		}
	}
	rep := &benchReport{}
	rep.buildTargets()
	for _, r := range rep.Targets {
		if r.Met != nil || r.Note == "" {
			t.Errorf("unmeasured row %s: met %v note %q", r.Key, r.Met, r.Note)
		}
	}
	rep.Targets = rep.Targets[1:]
	b, _ := json.Marshal(rep)
	if missing, _ := missingTargets(b); !slices.Equal(missing, targetKeys[:1]) {
		t.Fatalf("missing %v, want %v", missing, targetKeys[:1])
	}
}

// The deletion row reads the file bench-deletion writes, in its shape.
func TestReadDeletionFigures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench-deletion.json")
	if d, err := readDeletion(path); d != nil || err != nil {
		t.Fatalf("no file: %+v, %v", d, err)
	}
	body := `{"requests": 1000, "end_to_end_requests": 1000, "connector_concurrency": 4,
		"end_to_end_per_second": 3.8, "raw_sql_people_per_second": 1027.4, "ratio_raw_to_end_to_end": 270.4}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := readDeletion(path)
	if err != nil || d.Requests != 1000 || d.EndToEndPerSec != 3.8 || d.RawPeoplePerSec != 1027.4 || d.MeasuredAt.IsZero() {
		t.Fatalf("%+v, %v", d, err)
	}
	rep := &benchReport{Deletion: d}
	rep.buildTargets()
	if r := targetByKey(t, rep, "deletion_end_to_end"); r.Met == nil || *r.Met || !near(r.Ratio, 1027.4/3.8) {
		t.Fatalf("%+v", r)
	}
}

// Wait samples are grouped per role, lock waits by the statement waiting,
// as shares of the role's samples, busiest role first, top n per role.
func TestSummariseWaits(t *testing.T) {
	head := "SELECT head_seq AS seq, head_hash AS hash\n\t FROM audit_lock_head()"
	var samples []waitSample
	add := func(n int, s waitSample) {
		for range n {
			samples = append(samples, s)
		}
	}
	add(6, waitSample{Role: "redress_app", WaitType: "Lock", Wait: "transactionid", Query: head})
	add(2, waitSample{Role: "redress_app", WaitType: "Lock", Wait: "transactionid", Query: "UPDATE cases SET x = 1"})
	add(2, waitSample{Role: "redress_app", Query: "INSERT INTO cases"})
	add(12, waitSample{Role: "temporal", WaitType: "LWLock", Wait: "WALWrite", Query: "INSERT INTO history_node"})
	add(1, waitSample{Role: "temporal", WaitType: "IO", Wait: "WALSync", Query: "commit"})
	add(1, waitSample{Role: "temporal", Query: "commit"})

	got := summariseWaits(samples, 2)
	want := []waitRow{
		{Role: "temporal", Wait: "LWLock:WALWrite", Samples: 12, Share: 100 * 12.0 / 14},
		{Role: "temporal", Wait: "IO:WALSync", Samples: 1, Share: 100 * 1.0 / 14},
		{Role: "redress_app", Wait: "Lock:transactionid", On: "SELECT head_seq AS seq, head_hash AS hash FROM audit_lock_head()", Samples: 6, Share: 60},
		{Role: "redress_app", Wait: "Lock:transactionid", On: "UPDATE cases SET x = 1", Samples: 2, Share: 20},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if l := statementLabel(strings.Repeat("é", 90)); l != strings.Repeat("é", 80)+"…" {
		t.Fatalf("a long statement is cut at 80 characters, whole ones: %q", l)
	}
}
