//go:build dev

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// The targets of the performance issue, one row each, every one beside a
// baseline measured in the same run. A row that was not measured (a phase
// skipped by a BENCH_ variable, a missing figures file) is still listed,
// with Met null and a note saying why.

// targetKeys are the rows .data/bench.json always has, in print order.
var targetKeys = []string{
	"startup_postgres", "startup_sqlite", "intake_p99_500", "intake_saturation",
	"deletion_end_to_end", "cpu_per_complaint", "storm",
}

type targetRow struct {
	Key        string  `json:"key"`
	Measure    string  `json:"measure"`
	Value      float64 `json:"value"`
	Baseline   float64 `json:"baseline"`
	BaselineOf string  `json:"baseline_of"`
	Ratio      float64 `json:"ratio"`
	Unit       string  `json:"unit"`
	Target     string  `json:"target"`
	Met        *bool   `json:"met"` // null: not measured
	Note       string  `json:"note,omitempty"`
}

// deletionFigures is what bench-deletion writes (e2e/deletion_bench_test.go).
type deletionFigures struct {
	Requests         int     `json:"end_to_end_requests"`
	EndToEndPerSec   float64 `json:"end_to_end_per_second"`
	RawPeoplePerSec  float64 `json:"raw_sql_people_per_second"`
	RawToEndToEnd    float64 `json:"ratio_raw_to_end_to_end"`
	EndToEndSeconds  float64 `json:"end_to_end_seconds"`
	RawSQLSeconds    float64 `json:"raw_sql_seconds"`
	BulkAcceptPerSec float64 `json:"bulk_accept_per_second"`
	// MeasuredAt is when the figures file was written (make bench runs
	// bench-deletion just before; a bench.sh run alone takes the last one).
	MeasuredAt time.Time `json:"measured_at"`
}

func met(ok bool) *bool { return &ok }

// buildTargets computes every target row from what the run measured.
func (rep *benchReport) buildTargets() {
	rows := map[string]targetRow{}
	notMeasured := func(key, measure, target, why string) {
		rows[key] = targetRow{Key: key, Measure: measure, Target: target, Note: "not measured: " + why}
	}
	startup := func(key string, st *startupResult, why string) {
		measure := "complaint workflow start-up vs empty workflows, Temporal on " + strings.TrimPrefix(key, "startup_")
		if st == nil {
			notMeasured(key, measure, "≤ 1.5×", why)
			return
		}
		rows[key] = targetRow{Key: key, Measure: measure, Value: st.ComplaintsSeconds, Baseline: st.EmptySeconds,
			BaselineOf: fmt.Sprintf("%d empty workflows on the same server", st.N), Ratio: st.Ratio, Unit: "s",
			Target: "≤ 1.5×", Met: met(st.Ratio <= 1.5), Note: fmt.Sprintf("%d complaints, %d callers", st.N, st.Concurrency)}
	}
	var pg, lite *startupResult
	for _, st := range []*startupResult{rep.Startup, rep.StartupOther} {
		if st != nil && st.Store == "sqlite" {
			lite = st
		} else if st != nil {
			pg = st
		}
	}
	startup("startup_postgres", pg, "BENCH_STARTUP_N=0")
	startup("startup_sqlite", lite, "BENCH_SQLITE=0 or BENCH_STARTUP_N=0")

	const p99 = "intake p99 at 500 submissions/s offered"
	notMeasured("intake_p99_500", p99, "≤ 100 ms", "500 not in BENCH_RATES")
	const sat = "intake throughput at saturation vs raw SQL baseline of the same rows"
	notMeasured("intake_saturation", sat, "≥ 2×", "no saturation run")
	for _, p := range rep.Intake {
		switch {
		case p.Intake.Mode == "open" && p.Intake.OfferedRate == 500:
			offered := p.Intake.Sent + p.Intake.Shed
			rows["intake_p99_500"] = targetRow{Key: "intake_p99_500", Measure: p99, Value: p.Intake.P99ms, Baseline: p.Baseline.P99ms,
				BaselineOf: "raw SQL p99 at 500/s", Ratio: safeDiv(p.Intake.P99ms, p.Baseline.P99ms), Unit: "ms", Target: "≤ 100 ms",
				Met:  met(p.Intake.P99ms <= 100 && p.Intake.Accepted >= offered*99/100),
				Note: fmt.Sprintf("%d of %d offered accepted", p.Intake.Accepted, offered)}
		case p.Intake.Mode == "closed" && !p.Intake.WorkerPaused:
			rows["intake_saturation"] = targetRow{Key: "intake_saturation", Measure: sat, Value: p.Intake.PerSecond, Baseline: p.Baseline.PerSecond,
				BaselineOf: "raw SQL, one transaction per complaint", Ratio: p.Ratio, Unit: "complaints/s", Target: "≥ 2×",
				Met: met(p.Ratio >= 2), Note: fmt.Sprintf("%d callers", p.Intake.Concurrency)}
		}
	}

	const del = "deletion end to end vs raw SQL baseline"
	if d := rep.Deletion; d != nil && d.EndToEndPerSec > 0 {
		ratio := safeDiv(d.RawPeoplePerSec, d.EndToEndPerSec)
		rows["deletion_end_to_end"] = targetRow{Key: "deletion_end_to_end", Measure: del, Value: d.EndToEndPerSec, Baseline: d.RawPeoplePerSec,
			BaselineOf: "direct SQL deletes of as many other people", Ratio: ratio, Unit: "people/s", Target: "≤ 30× slower",
			Met: met(ratio <= 30), Note: fmt.Sprintf("%d people, measured %s; ratio is baseline/value (times slower)", d.Requests, d.MeasuredAt.Format(time.RFC3339))}
	} else {
		notMeasured("deletion_end_to_end", del, "≤ 30× slower", "no bench-deletion figures (BENCH_DELETION=0?)")
	}

	const cpu = "CPU per complaint (Redress + PostgreSQL + Temporal)"
	notMeasured("cpu_per_complaint", cpu, "≤ 1.5 ms", "no storm and no start-up run")
	if c, where := rep.completeCPU(); c != nil {
		r := targetRow{Key: "cpu_per_complaint", Measure: cpu, Value: c.TotalMsPerOp, Unit: "ms", Target: "≤ 1.5 ms", Met: met(c.TotalMsPerOp <= 1.5),
			Note: fmt.Sprintf("%s, submission to acknowledgement sent: services %.2f ms, Temporal %.2f ms, PostgreSQL %.2f ms",
				where, c.ServerMsPerOp, c.TemporalMsPerOp, c.PostgresMsPerOp)}
		if rep.RawCPUms > 0 {
			r.Baseline, r.BaselineOf, r.Ratio = rep.RawCPUms, "PostgreSQL CPU per raw SQL complaint (its backends, saturation)", c.TotalMsPerOp/rep.RawCPUms
		}
		rows["cpu_per_complaint"] = r
	}

	const storm = "complaint storm: last submission → last acknowledgement"
	if s := rep.Storm; s != nil {
		offered := float64(s.N) / float64(s.Rate)
		rows["storm"] = targetRow{Key: "storm", Measure: storm, Value: s.AfterLastSubmit, Baseline: offered,
			BaselineOf: "the storm's offered duration (n / rate)", Ratio: safeDiv(s.LastAckSeconds, offered), Unit: "s",
			Target: "≤ 120 s after the last submission", Met: met(s.Complete && s.AfterLastSubmit <= 120),
			Note: fmt.Sprintf("%d at %d/s; intake p99 %.1f ms; peak backlog %d; all accepted, started, acknowledged: %v",
				s.N, s.Rate, s.Intake.P99ms, s.PeakBacklog, s.Complete)}
	} else {
		notMeasured("storm", storm, "≤ 120 s after the last submission", "BENCH_STORM_N=0")
	}
	rep.Targets = rep.Targets[:0]
	for _, k := range targetKeys {
		rep.Targets = append(rep.Targets, rows[k])
	}
}

// completeCPU is the CPU per complaint over a complaint's whole path
// (accepted, workflow started, acknowledgement sent): from the storm, or
// else the start-up measure's complaints.
func (rep *benchReport) completeCPU() (*cpuCost, string) {
	for _, want := range []struct{ phase, where string }{{"storm", "storm"}, {"start-up: complaints", "start-up"}} {
		for _, p := range rep.Phases {
			if p.Name != want.phase {
				continue
			}
			n := 0
			if want.phase == "storm" && rep.Storm != nil {
				n = rep.Storm.AcksSent
			} else if rep.Startup != nil {
				n = rep.Startup.N
			}
			if c := p.costPer(n); c != nil {
				return c, want.where
			}
		}
	}
	return nil, ""
}

func (rep *benchReport) printTargets() {
	fmt.Println("\ntargets (each beside its baseline of this run):")
	fmt.Printf("  %-72s %12s %12s %9s  %-34s %s\n", "measure", "value", "baseline", "ratio", "target", "verdict")
	for _, t := range rep.Targets {
		v := "not measured"
		if t.Met != nil {
			v = verdict(*t.Met)
		}
		if t.Met == nil {
			fmt.Printf("  %-72s %12s %12s %9s  %-34s %s (%s)\n", t.Measure, "-", "-", "-", t.Target, v, strings.TrimPrefix(t.Note, "not measured: "))
			continue
		}
		base, ratio := "-", "-"
		if t.BaselineOf != "" {
			base, ratio = fmt.Sprintf("%.2f %s", t.Baseline, shortUnit(t.Unit)), fmt.Sprintf("%.2f×", t.Ratio)
		}
		fmt.Printf("  %-72s %12s %12s %9s  %-34s %s\n", t.Measure, fmt.Sprintf("%.2f %s", t.Value, shortUnit(t.Unit)), base, ratio, t.Target, v)
		if t.Note != "" {
			fmt.Printf("  %-72s %s\n", "", t.Note)
		}
	}
}

func shortUnit(u string) string {
	return strings.NewReplacer("complaints/s", "/s", "people/s", "/s").Replace(u)
}

// missingTargets answers the target rows a bench.json lacks.
func missingTargets(b []byte) ([]string, error) {
	var doc struct {
		Targets []targetRow `json:"targets"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, t := range doc.Targets {
		if t.Measure != "" && t.Target != "" {
			have[t.Key] = true
		}
	}
	var missing []string
	for _, k := range targetKeys {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	return missing, nil
}

// readJSON reads a figures file into v; a missing file leaves v alone.
func readJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// readDeletion reads bench-deletion's figures (nil when there are none).
func readDeletion(path string) (*deletionFigures, error) {
	var d *deletionFigures
	if err := readJSON(path, &d); err != nil || d == nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil {
		d.MeasuredAt = fi.ModTime().UTC().Truncate(time.Second)
	}
	return d, nil
}
