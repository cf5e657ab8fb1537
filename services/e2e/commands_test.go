package e2e

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/complaint"
	wf "github.com/redress/redress/workflows/deletion"
)

// Anyone who reaches the Temporal frontend could once send `approve` to a
// deletion workflow with any actor and the plan's digest, and the plan ran.
// Now the workflow takes only commands the deletion service signed: the
// forged approvals, unsigned or sealed with another key, are refused and
// change nothing, while the reviewer's approval through the service runs.
func TestForgedApproveAtTheFrontendIsRefused(t *testing.T) {
	r := newDeletionRig(t, 5)
	const who = 3
	agent := r.as("agent.li")
	resp, err := r.api.SubmitDeletion(agent, &deletionv1.SubmitDeletionRequest{IdempotencyKey: "forged-approve-1",
		Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: deletionv1.Source_SOURCE_AGENT,
		Email: customertest.Email(who), Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	ch, err := r.api.SendChallenge(agent, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_EMAIL})
	if err != nil {
		t.Fatal(err)
	}
	msg := r.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
		return strings.Contains(m.Body, "verification code")
	})
	if _, err := r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(),
		Code: codePattern.FindStringSubmatch(msg.Body)[1]}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(id, wf.StatusAwaitingApproval)
	plan, err := r.api.GetPlan(agent, &deletionv1.GetPlanRequest{DeletionId: id})
	if err != nil {
		t.Fatal(err)
	}
	accounts := r.count(`SELECT count(*) FROM accounts WHERE id = $1`, who)
	if accounts != 1 {
		t.Fatalf("the requester's account is missing before approval (%d)", accounts)
	}

	forge := func(a wf.Action) error { return r.forge(wf.WorkflowID(id), wf.UpdateApprove, a) }
	unsigned := wf.Action{Actor: "supervisor.wang", PlanDigest: plan.GetPlanDigest()}
	otherKey := unsigned
	otherKey.Seal = command.Seal{Expires: time.Now().Add(time.Minute), Signature: strings.Repeat("ab", 32)}
	for name, a := range map[string]wf.Action{"unsigned": unsigned, "wrong key": otherKey} {
		if err := forge(a); !refused(err) {
			t.Fatalf("%s approve sent to the frontend: want refused (%s), got %v", name, command.ErrTypeRefused, err)
		}
	}
	if s := r.status(id); s != wf.StatusAwaitingApproval {
		t.Fatalf("after the forged approvals the request is %s", s)
	}
	if n := r.audited(id, "deletion.plan_approved"); n != 0 {
		t.Fatalf("forged approval recorded (%d audit entries)", n)
	}
	if n := r.count(`SELECT count(*) FROM accounts WHERE id = $1`, who); n != 1 {
		t.Fatal("the forged approval erased the requester's account")
	}

	// The service's own path: the reviewer approves and the plan runs.
	if _, err := r.api.ApprovePlan(r.as("supervisor.wang"), &deletionv1.ApprovePlanRequest{DeletionId: id, PlanDigest: plan.GetPlanDigest()}); err != nil {
		t.Fatal(err)
	}
	r.eventually("plan executed", 90*time.Second, func() bool {
		s := r.status(id)
		return s == wf.StatusCompleted || s == wf.StatusRestricted
	})
	if n := r.audited(id, "deletion.plan_approved"); n != 1 {
		t.Fatalf("approval audit entries: %d", n)
	}
	if n := r.count(`SELECT count(*) FROM accounts WHERE id = $1`, who); n != 0 {
		t.Fatal("the approved plan left the requester's account")
	}
}

// The same door on a case: an accept sent straight to the frontend in a
// supervisor's name is refused; the agent's accept through intake works.
func TestForgedCaseActionAtTheFrontendIsRefused(t *testing.T) {
	h := newHarness(t, options{})
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), submission("forged-accept-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	h.smtp.WaitFor(t, 20*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, c.GetCaseNumber()) })
	if err := h.forge(complaint.WorkflowID(c.GetId()), complaint.UpdateAccept, complaint.Action{Actor: "sup.wang"}); !refused(err) {
		t.Fatalf("accept sent to the frontend: want refused (%s), got %v", command.ErrTypeRefused, err)
	}
	got, err := h.api.GetCase(h.as("agent.li"), &intakev1.GetCaseRequest{CaseId: c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetCase().GetState() != intakev1.CaseState_CASE_STATE_RECEIVED {
		t.Fatalf("after the forged accept the case is %v", got.GetCase().GetState())
	}
	acc, err := h.api.AcceptCase(h.as("agent.li"), &intakev1.AcceptCaseRequest{CaseId: c.GetId()})
	if err != nil || acc.GetCase().GetState() != intakev1.CaseState_CASE_STATE_ACCEPTED {
		t.Fatalf("accept through intake: %v, %v", acc.GetCase().GetState(), err)
	}
}

// forge sends an Update the way an attacker on the network would: a plain
// Temporal client on the frontend, without the command key.
func (h *harness) forge(workflowID, update string, arg any) error {
	h.t.Helper()
	attacker, err := client.Dial(client.Options{HostPort: net.JoinHostPort("127.0.0.1", strconv.Itoa(h.tport)), Namespace: "default"})
	if err != nil {
		h.t.Fatal(err)
	}
	defer attacker.Close()
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	u, err := attacker.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: update,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = u.Get(ctx, nil)
	}
	return err
}

// refused reports the workflow's refusal of an unsigned or forged command.
func refused(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == command.ErrTypeRefused
}
