package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/redress/redress/workflows/replay"
)

// recordEnv names the workflows module to record histories into (`make
// record-histories`): at the end of a test, the event history of every
// workflow the test ran is written to
// <dir>/<domain>/testdata/histories/<day>/<Test>-<n>.json, the JSON the
// replay test in the workflows module reads. Unset, nothing is recorded.
const recordEnv = "REDRESS_RECORD_HISTORIES"

// recordHistories writes the histories of the test's workflows when
// REDRESS_RECORD_HISTORIES is set. Each test has its own Temporal server, so
// every workflow listed is the test's own.
func (h *harness) recordHistories() {
	dir := os.Getenv(recordEnv)
	if dir == "" || h.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var runs []*workflowpb.WorkflowExecutionInfo
	var page []byte
	for {
		resp, err := h.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", NextPageToken: page})
		if err != nil {
			h.t.Errorf("record histories: list workflows: %v", err)
			return
		}
		runs = append(runs, resp.GetExecutions()...)
		if page = resp.GetNextPageToken(); len(page) == 0 {
			break
		}
	}
	// Oldest first, so a test's recordings keep their numbers from one
	// recording to the next.
	slices.SortStableFunc(runs, func(a, b *workflowpb.WorkflowExecutionInfo) int {
		return a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime())
	})
	day := time.Now().UTC().Format(time.DateOnly)
	name := strings.ReplaceAll(h.t.Name(), "/", "_")
	n := map[string]int{}
	for _, run := range runs {
		domain, ok := replay.WorkflowTypes[run.GetType().GetName()]
		if !ok {
			continue
		}
		hist, err := h.history(ctx, run.GetExecution().GetWorkflowId(), run.GetExecution().GetRunId())
		if err != nil {
			h.t.Errorf("record histories: %s: %v", run.GetExecution().GetWorkflowId(), err)
			return
		}
		if !decided(hist) {
			continue // the workflow never ran a task: nothing to replay
		}
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
		if err != nil {
			h.t.Errorf("record histories: %v", err)
			return
		}
		n[domain]++
		out := filepath.Join(dir, domain, "testdata", "histories", day, fmt.Sprintf("%s-%d.json", name, n[domain]))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			h.t.Errorf("record histories: %v", err)
			return
		}
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			h.t.Errorf("record histories: %v", err)
			return
		}
		h.t.Logf("recorded %s (%s, %d events) in %s", run.GetExecution().GetWorkflowId(), run.GetStatus(), len(hist.Events), out)
	}
}

// decided reports a history with at least one completed workflow task.
func decided(h *historypb.History) bool {
	for _, e := range h.Events {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return true
		}
	}
	return false
}

// history reads a run's whole event history.
func (h *harness) history(ctx context.Context, id, runID string) (*historypb.History, error) {
	it := h.tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		hist.Events = append(hist.Events, e)
	}
	return hist, nil
}
