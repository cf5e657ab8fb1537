package replay

import (
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/reports"
)

// recorded is one history file and the workflow type it holds.
type recorded struct {
	path, domain, workflowType string
	events, tasks              int // tasks: completed workflow tasks
}

// histories lists every recorded history of every workflow package.
func histories(t *testing.T) []recorded {
	t.Helper()
	var out []recorded
	for _, domain := range Domains {
		root := filepath.Join("..", domain, "testdata", "histories")
		if _, err := os.Stat(root); os.IsNotExist(err) {
			continue // the check for a recording of every type names it
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
				return err
			}
			h := readHistory(t, path)
			tasks := 0
			for _, e := range h.Events {
				if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
					tasks++
				}
			}
			out = append(out, recorded{path: path, domain: domain, events: len(h.Events), tasks: tasks,
				workflowType: h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func readHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := &historypb.History{}
	if err := (temporalproto.CustomJSONUnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, h); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(h.Events) == 0 {
		t.Fatalf("%s: no events", path)
	}
	return h
}

// Validators do not run on replay, so the key is any valid one.
func verifier(t *testing.T) *command.Verifier {
	t.Helper()
	v, err := command.NewVerifier([]byte("replay-test-key-of-thirty-two-bytes!"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every recorded history of every workflow type replays on the current code
// without a non-determinism error, and every workflow type has recordings.
func TestReplayRecordedHistories(t *testing.T) {
	all := histories(t)
	r := worker.NewWorkflowReplayer()
	RegisterAll(r, verifier(t))
	seen := map[string]int{}
	for _, h := range all {
		if want, ok := WorkflowTypes[h.workflowType]; !ok || want != h.domain {
			t.Errorf("%s holds a %s history: it belongs under %s/testdata/histories", h.path, h.workflowType, want)
			continue
		}
		seen[h.workflowType]++
		t.Run(strings.TrimPrefix(h.path, "../"), func(t *testing.T) {
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, h.path); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
	for name := range WorkflowTypes {
		if seen[name] == 0 {
			t.Errorf("no recorded history of %s: record one (make record-histories)", name)
		}
	}
}

// changeID names the test's own change; nothing in the workflows uses it.
const changeID = "replay-test-extra-timer"

// extraTimer is the change made to a workflow here: a timer before
// anything else, unguarded or behind workflow.GetVersion.
func extraTimer(ctx workflow.Context, guarded bool) error {
	if guarded && workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil // a run that started before the change keeps its old path
	}
	return workflow.Sleep(ctx, time.Minute)
}

// changed registers every workflow type with the extra timer in front,
// under the same names the workers use.
func changed(r worker.WorkflowReplayer, v *command.Verifier, guarded bool) {
	cw := complaint.Workflow(v)
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in complaint.Input) error {
		if err := extraTimer(ctx, guarded); err != nil {
			return err
		}
		return cw(ctx, in)
	}, workflow.RegisterOptions{Name: complaint.WorkflowName})
	del := deletion.Workflow(v)
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in deletion.Input) error {
		if err := extraTimer(ctx, guarded); err != nil {
			return err
		}
		return del(ctx, in)
	}, workflow.RegisterOptions{Name: deletion.WorkflowName})
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in deletion.BatchInput) error {
		if err := extraTimer(ctx, guarded); err != nil {
			return err
		}
		return deletion.BatchWorkflow(ctx, in)
	}, workflow.RegisterOptions{Name: deletion.BatchWorkflowName})
	esc := escalation.Workflow(v)
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in escalation.Input) (escalation.Snapshot, error) {
		if err := extraTimer(ctx, guarded); err != nil {
			return escalation.Snapshot{}, err
		}
		return esc(ctx, in)
	}, workflow.RegisterOptions{Name: escalation.WorkflowName})
	for name, wf := range map[string]func(workflow.Context, reports.Input) (reports.Result, error){
		reports.MonthlyWorkflowName: reports.MonthlyReportWorkflow, reports.YearlyWorkflowName: reports.YearlyStatisticsWorkflow,
	} {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in reports.Input) (reports.Result, error) {
			if err := extraTimer(ctx, guarded); err != nil {
				return reports.Result{}, err
			}
			return wf(ctx, in)
		}, workflow.RegisterOptions{Name: name})
	}
}

// A change to the command sequence (here a timer added before the first
// activity) fails the replay of a recorded history when it is not
// versioned, and replays cleanly behind workflow.GetVersion: the replay
// test catches an unversioned change before it reaches a live workflow.
func TestUnversionedChangeFailsReplay(t *testing.T) {
	// The longest recording of each workflow type that has a workflow
	// task after the first: the replayer judges a task's commands by the
	// events the next one saw.
	longest := map[string]recorded{}
	for _, h := range histories(t) {
		if h.tasks >= 2 && h.events > longest[h.workflowType].events {
			longest[h.workflowType] = h
		}
	}
	for name := range WorkflowTypes {
		if _, ok := longest[name]; !ok {
			t.Errorf("no recording of %s with two workflow tasks to change", name)
		}
	}
	v := verifier(t)
	unversioned, versioned := worker.NewWorkflowReplayer(), worker.NewWorkflowReplayer()
	changed(unversioned, v, false)
	changed(versioned, v, true)
	for _, name := range slices.Sorted(maps.Keys(longest)) {
		h := longest[name]
		t.Run(name, func(t *testing.T) {
			err := unversioned.ReplayWorkflowHistoryFromJSONFile(nil, h.path)
			if err == nil {
				t.Fatalf("%s: an unversioned extra timer replayed without an error", h.path)
			}
			// TMPRL1100 is the SDK's code of a non-determinism error.
			if !strings.Contains(err.Error(), "TMPRL1100") && !strings.Contains(strings.ToLower(err.Error()), "nondetermini") {
				t.Fatalf("%s: replay failed, but not on non-determinism: %v", h.path, err)
			}
			if err := versioned.ReplayWorkflowHistoryFromJSONFile(nil, h.path); err != nil {
				t.Fatalf("%s: the change behind GetVersion(%q) fails replay: %v", h.path, changeID, err)
			}
		})
	}
}

// Personal data never enters workflow payloads: the recordings committed
// here carry ids and codes only. Every string of every history (payloads
// decoded) is checked for telephone numbers and e-mail addresses.
func TestRecordedHistoriesCarryNoPersonalData(t *testing.T) {
	phone := regexp.MustCompile(`\b(86[ -]?)?1[3-9]\d{9}\b|\+\d{7,}`)
	email := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	for _, h := range histories(t) {
		b, err := os.ReadFile(h.path)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		walkStrings(doc, "", func(key, s string) {
			if key == "identity" {
				return // the worker's pid@host
			}
			if key == "data" {
				if d, err := base64.StdEncoding.DecodeString(s); err == nil {
					s = string(d)
				}
			}
			if m := phone.FindString(s); m != "" {
				t.Errorf("%s: a telephone number (%s) in %s", h.path, m, key)
			}
			if m := email.FindString(s); m != "" {
				t.Errorf("%s: an e-mail address (%s) in %s", h.path, m, key)
			}
		})
	}
}

func walkStrings(v any, key string, f func(key, s string)) {
	switch v := v.(type) {
	case string:
		f(key, v)
	case []any:
		for _, e := range v {
			walkStrings(e, key, f)
		}
	case map[string]any:
		for k, e := range v {
			walkStrings(e, k, f)
		}
	}
}
