package e2e

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
)

// submitMany submits n complaints and answers their case ids; every submit
// must succeed whatever the state of the workflow engine.
func (h *harness) submitMany(prefix string, n int) []string {
	h.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		start := time.Now()
		r, err := h.api.SubmitComplaint(h.as("partner.feed"), submission(fmt.Sprintf("%s-%04d", prefix, i)))
		if err != nil {
			h.t.Fatalf("submit %d: %v", i, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			h.t.Fatalf("submit %d waited %v on the workflow engine", i, d)
		}
		ids[i] = r.GetCase().GetId()
	}
	return ids
}

// allRunning waits until every case has a running workflow that has loaded
// it and sent its acknowledgement exactly once.
func (h *harness) allRunning(ids []string, limit time.Duration) {
	h.t.Helper()
	h.eventually("every accepted case to have a running workflow", limit, func() bool {
		var started int64
		h.db.Model(&records.Case{}).Where("id IN ? AND workflow_started_at IS NOT NULL", ids).Count(&started)
		var acked int64
		h.db.Model(&records.Notification{}).Where("case_id IN ? AND kind = ? AND status = 'sent'", ids, complaint.NoticeAcknowledgement).Count(&acked)
		return started == int64(len(ids)) && acked == int64(len(ids))
	})
	for _, id := range ids {
		desc, err := h.tc.DescribeWorkflowExecution(h.ctx, complaint.WorkflowID(id), "")
		if err != nil {
			h.t.Fatalf("describe %s: %v", id, err)
		}
		if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			h.t.Fatalf("case %s workflow %v", id, st)
		}
	}
	var dup int64
	h.db.Raw(`SELECT count(*) FROM (SELECT case_id FROM notifications WHERE case_id IN ? AND kind = ?
		GROUP BY case_id HAVING count(*) > 1) d`, ids, complaint.NoticeAcknowledgement).Scan(&dup)
	if dup != 0 {
		h.t.Fatalf("%d cases were acknowledged twice", dup)
	}
}

// The workflow engine is down when complaints arrive: intake answers from the
// record, and the recovery loop starts every workflow once the engine is back.
func TestIntakeWhileTemporalDownThenRecovers(t *testing.T) {
	h := newHarness(t, options{noTemporal: true})
	ids := h.submitMany("outage", 15)
	var unstarted int64
	h.db.Model(&records.Case{}).Where("workflow_started_at IS NULL").Count(&unstarted)
	if unstarted != 15 {
		t.Fatalf("%d cases without a workflow while the engine is down, want 15", unstarted)
	}
	h.startTemporal()
	h.allRunning(ids, 60*time.Second)
}

// The worker stops, then the Temporal server stops (its state on file), while
// complaints keep arriving; both come back and every case runs, once.
func TestWorkerAndTemporalStopMidwayLoseNothing(t *testing.T) {
	h := newHarness(t, options{})
	ids := h.submitMany("steady", 5)
	h.stopWorker()
	ids = append(ids, h.submitMany("no-worker", 5)...)
	h.stopTemporal()
	ids = append(ids, h.submitMany("no-engine", 5)...)
	h.startTemporal()
	h.startWorker()
	ids = append(ids, h.submitMany("recovered", 5)...)
	h.allRunning(ids, 90*time.Second)
	h.smtp.WaitCount(t, 20, 20*time.Second)
}
