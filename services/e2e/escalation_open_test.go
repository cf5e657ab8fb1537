package e2e

import (
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/escalation/store"
	wf "github.com/redress/redress/workflows/escalation"
)

// Opening an escalation by command twice under one dedupe key — here at the
// same time, as two retried activities would — yields one escalation, one
// workflow and one opening in the audit chain; the escalation worker writes
// the record, the opener writes nothing.
func TestEscalationOpenTwiceOpensOnce(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{})
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), submission("esc-open-0001"))
	if err != nil {
		t.Fatal(err)
	}
	caseID := sub.GetCase().GetId()
	o := wf.Opening{Kind: wf.KindSLABreach, DedupeKey: "sla_breach/" + caseID + "/resolution", CaseID: caseID,
		DeadlineKind: "resolution", Reason: "resolution deadline missed"}
	ids := make([]string, 2)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := esc.Open(h.ctx, h.tc, o)
			if err != nil {
				t.Errorf("open %d: %v", i, err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("two openings answered %v", ids)
	}
	h.eventually("the opened escalation on record", 60*time.Second, func() bool {
		r, err := e.api.GetEscalation(h.ctx, &escalationv1.GetEscalationRequest{EscalationId: ids[0]})
		if err != nil {
			return false
		}
		if x := r.GetEscalation(); x.GetKind() != wf.KindSLABreach || x.GetCaseId() != caseID {
			t.Fatalf("opened %s of case %s, want an SLA breach of %s", x.GetKind(), x.GetCaseId(), caseID)
		}
		return true
	})
	// Again, after it is on record: nothing new.
	if id, err := esc.Open(h.ctx, h.tc, o); err != nil || id != ids[0] {
		t.Fatalf("third opening: %s, %v", id, err)
	}
	var rows, opened int64
	h.db.Model(&store.Escalation{}).Where("dedupe_key = ?", o.DedupeKey).Count(&rows)
	h.db.Table("audit_entries").Where("action = 'escalation.opened' AND object_id = ?", ids[0]).Count(&opened)
	if rows != 1 || opened != 1 {
		t.Fatalf("%d escalations and %d openings audited under one key, want 1 and 1", rows, opened)
	}
	h.eventually("the workflow listed", 30*time.Second, func() bool {
		l, err := h.tc.ListWorkflow(h.ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + wf.WorkflowID(ids[0]) + "'"})
		if err != nil {
			t.Fatalf("list workflows: %v", err)
		}
		if len(l.GetExecutions()) > 1 {
			t.Fatalf("%d workflows for one escalation", len(l.GetExecutions()))
		}
		return len(l.GetExecutions()) == 1
	})
}
