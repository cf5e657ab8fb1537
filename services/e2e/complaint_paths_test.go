package e2e

import (
	"strings"
	"testing"
	"time"

	enums "go.temporal.io/api/enums/v1"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/workflows/complaint"
)

// The other ways through a complaint: rejected with a reason (the
// complainant is told why, the workflow ends), answered, resolved and
// reopened (the workflow waits on), and merged into another case as its
// duplicate (the workflow ends).
func TestComplaintRejectedReopenedAndMerged(t *testing.T) {
	h := newHarness(t, options{})
	agent := h.as("agent.li")
	submit := func(key string) *intakev1.Case {
		t.Helper()
		sub, err := h.api.SubmitComplaint(agent, submission(key))
		if err != nil {
			t.Fatalf("submit %s: %v", key, err)
		}
		return sub.GetCase()
	}
	step := func(what string, want intakev1.CaseState, call func() (*intakev1.Case, error)) {
		t.Helper()
		c, err := call()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if c.GetState() != want {
			t.Fatalf("%s: state %v, want %v", what, c.GetState(), want)
		}
	}
	mailed := func(text string) {
		t.Helper()
		h.smtp.WaitFor(t, 20*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, text) })
	}
	ended := func(caseID string) {
		t.Helper()
		h.eventually("workflow of "+caseID+" completed", 20*time.Second, func() bool {
			d, err := h.tc.DescribeWorkflowExecution(h.ctx, complaint.WorkflowID(caseID), "")
			return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
	}

	rejected := submit("paths-reject-0001")
	step("reject", intakev1.CaseState_CASE_STATE_REJECTED, func() (*intakev1.Case, error) {
		r, err := h.api.RejectCase(agent, &intakev1.RejectCaseRequest{CaseId: rejected.GetId(),
			Reason: intakev1.RejectionReason_REJECTION_REASON_NOT_OUR_SERVICE, Text: "This number belongs to another operator."})
		return r.GetCase(), err
	})
	mailed("belongs to another operator")
	ended(rejected.GetId())

	primary := submit("paths-primary-0001")
	step("accept", intakev1.CaseState_CASE_STATE_ACCEPTED, func() (*intakev1.Case, error) {
		r, err := h.api.AcceptCase(agent, &intakev1.AcceptCaseRequest{CaseId: primary.GetId()})
		return r.GetCase(), err
	})
	step("assign", intakev1.CaseState_CASE_STATE_IN_PROGRESS, func() (*intakev1.Case, error) {
		r, err := h.api.AssignCase(h.as("supervisor.wang"), &intakev1.AssignCaseRequest{CaseId: primary.GetId(), Assignee: "agent.li"})
		return r.GetCase(), err
	})
	step("reply", intakev1.CaseState_CASE_STATE_IN_PROGRESS, func() (*intakev1.Case, error) {
		r, err := h.api.ReplyToComplainant(agent, &intakev1.ReplyToComplainantRequest{CaseId: primary.GetId(), Body: "We are tracing the sender."})
		return r.GetCase(), err
	})
	mailed("tracing the sender")
	step("resolve", intakev1.CaseState_CASE_STATE_RESOLVED, func() (*intakev1.Case, error) {
		r, err := h.api.ResolveCase(agent, &intakev1.ResolveCaseRequest{CaseId: primary.GetId(), Feedback: "The sender is blocked."})
		return r.GetCase(), err
	})
	step("reopen", intakev1.CaseState_CASE_STATE_REOPENED, func() (*intakev1.Case, error) {
		r, err := h.api.ReopenCase(agent, &intakev1.ReopenCaseRequest{CaseId: primary.GetId(), Reason: "The messages came back."})
		return r.GetCase(), err
	})

	duplicate := submit("paths-duplicate-0001")
	step("merge", intakev1.CaseState_CASE_STATE_MERGED, func() (*intakev1.Case, error) {
		r, err := h.api.MergeCase(agent, &intakev1.MergeCaseRequest{CaseId: duplicate.GetId(), PrimaryCaseId: primary.GetId()})
		return r.GetCase(), err
	})
	ended(duplicate.GetId())
}
