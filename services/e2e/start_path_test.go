package e2e

import (
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/workflows/complaint"
)

// A new case's workflow takes the start path its starter names: its history
// has no version marker and no search-attribute upsert (GetVersion's
// TemporalChangeVersion): two events and a search-attribute update fewer
// per case. The first task still takes the lean path: the case loaded and
// the acknowledgement sent as local activities.
func TestNewCaseWorkflowUpsertsNoSearchAttribute(t *testing.T) {
	h := newHarness(t, options{})
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), submission("start-path-0001"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	c := sub.GetCase()
	h.smtp.WaitFor(t, 20*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, c.GetCaseNumber()) })

	id := complaint.WorkflowID(c.GetId())
	var types []string
	defer func() {
		if t.Failed() {
			t.Logf("history: %v", types)
		}
	}()
	h.eventually("the acknowledgement recorded in the history", 10*time.Second, func() bool {
		hist, err := h.history(h.ctx, id, "")
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		types = types[:0]
		markers := 0
		for _, e := range hist.GetEvents() {
			types = append(types, e.GetEventType().String())
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
				t.Fatalf("event %d upserts search attributes %v", e.GetEventId(), e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes())
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				t.Fatalf("event %d schedules activity %s: the first task did not take the lean path", e.GetEventId(),
					e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				if name := e.GetMarkerRecordedEventAttributes().GetMarkerName(); name != "LocalActivity" {
					t.Fatalf("event %d records marker %q", e.GetEventId(), name)
				}
				markers++
			}
		}
		return markers == 2 // the load and the acknowledgement
	})

	desc, err := h.tc.DescribeWorkflowExecution(h.ctx, id, "")
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
	if _, ok := sa["BuildIds"]; !ok {
		t.Fatalf("visibility record lacks the engine's BuildIds: %v", sa)
	}
	if _, ok := sa["TemporalChangeVersion"]; ok || len(sa) != 1 {
		t.Fatalf("visibility record carries search attributes %v", sa)
	}
}
