package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
)

// These tests call DeletionService with real bearer credentials of real
// accounts (created as `redress user add` and `redress token issue` do), so
// the role of each caller is what the rules see.

// credential adds an account of role and answers a context whose calls carry
// a bearer credential issued for it.
// The credential carries everything the role holds, deletion.attest included
// for a pipeline (a partner's default credential leaves it out; these tests
// need it).
func (r *deletionRig) credential(username string, role access.Role) context.Context {
	r.t.Helper()
	return r.scopedCredential(username, role, access.Grants[role])
}

// scopedCredential is credential with the given scopes (nil: the role's
// default scopes, as a credential issued without any).
func (r *deletionRig) scopedCredential(username string, role access.Role, scopes []access.Permission) context.Context {
	r.t.Helper()
	if _, err := r.identity.AddUser(r.ctx, "test", identity.NewUser{Username: username, Role: role}); err != nil {
		r.t.Fatal(err)
	}
	secret, _, err := r.identity.IssueToken(r.ctx, username, username, "test", scopes, time.Hour)
	if err != nil {
		r.t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(r.ctx, "authorization", "Bearer "+secret)
}

func erasure(key string, who int, source deletionv1.Source, reason string) *deletionv1.SubmitDeletionRequest {
	return &deletionv1.SubmitDeletionRequest{IdempotencyKey: key, Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: source,
		Email: customertest.Email(who), AttestationReason: reason,
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(who), HeldFrom: timestamppb.New(time.Now().AddDate(-3, 0, 0))}}
}

// waitPlan answers the request's plan once the workflow built it.
func (r *deletionRig) waitPlan(ctx context.Context, id string) *deletionv1.GetPlanResponse {
	r.t.Helper()
	var plan *deletionv1.GetPlanResponse
	r.eventually("the plan of "+id, 90*time.Second, func() bool {
		p, err := r.api.GetPlan(ctx, &deletionv1.GetPlanRequest{DeletionId: id})
		plan = p
		return err == nil
	})
	return plan
}

// codeOf reads the one-time code of a challenge from the mail it sent.
func (r *deletionRig) codeOf(challengeID string) string {
	r.t.Helper()
	id := notify.MessageID("deletion-otp/" + challengeID)
	m := r.smtp.WaitFor(r.t, 10*time.Second, func(m smtptest.Message) bool { return m.Header.Get("Message-ID") == id })
	return codePattern.FindStringSubmatch(m.Body)[1]
}

// notCode is a six-digit code that is not code.
func notCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// The source of a request follows from who submits it: only an automation
// credential may declare a PIPELINE (or SELF) request, a person enters
// requests as AGENT or CASE; a SELF request is verified by a one-time code
// to the requester, never by attestation. (Reproduced: an agent's PIPELINE
// request with an attestation ran to crypto-shredding with nobody else.)
func TestDeletionSourceFollowsPrincipal(t *testing.T) {
	r := newDeletionRig(t, 4)
	agent := r.credential("agent.li", access.Agent)
	pipeline := r.credential("pipeline.crm", access.Automation)

	for src, reason := range map[deletionv1.Source]string{deletionv1.Source_SOURCE_PIPELINE: "verified by phone", deletionv1.Source_SOURCE_SELF: ""} {
		_, err := r.api.SubmitDeletion(agent, erasure("agent-"+src.String(), 1, src, reason))
		if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "source") {
			t.Errorf("an agent declaring %s: %v, want PermissionDenied naming source", src, err)
		}
		batch, err := r.api.SubmitDeletionBatch(agent, &deletionv1.SubmitDeletionBatchRequest{Items: []*deletionv1.SubmitDeletionRequest{
			erasure("agent-batch-"+src.String(), 1, src, reason)}})
		if err != nil || batch.GetResults()[0].GetErrorCode() != codes.PermissionDenied.String() {
			t.Errorf("an agent declaring %s in a batch: %v %v, want the item refused", src, batch.GetResults(), err)
		}
	}
	if refusals, _ := r.counted("agent.li", "deletion.submit_refused", "source_not_for_role"); refusals != 4 {
		t.Errorf("%d refused submissions audited, want 4", refusals)
	}
	if _, err := r.api.SubmitDeletion(pipeline, erasure("pipeline-as-agent", 1, deletionv1.Source_SOURCE_AGENT, "")); status.Code(err) != codes.PermissionDenied {
		t.Errorf("an automation credential declaring AGENT: %v, want PermissionDenied", err)
	}
	_, err := r.api.SubmitDeletion(pipeline, erasure("self-attested", 1, deletionv1.Source_SOURCE_SELF, "the app says it is them"))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "attestation_reason") {
		t.Errorf("an attested SELF request: %v, want InvalidArgument on attestation_reason", err)
	}
	if _, err := r.api.SubmitDeletion(agent, erasure("agent-agent", 1, deletionv1.Source_SOURCE_AGENT, "")); err != nil {
		t.Errorf("an agent's AGENT request: %v", err)
	}
	self, err := r.api.SubmitDeletion(pipeline, erasure("pipeline-self", 2, deletionv1.Source_SOURCE_SELF, ""))
	if err != nil {
		t.Fatalf("an automation credential's SELF request: %v", err)
	}
	// A SELF request is verified by the requester's code: nobody attests it.
	_, err = r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: self.GetDeletion().GetId(), Reason: "caller knew the account number"})
	if status.Code(err) != codes.FailedPrecondition || r.audited(self.GetDeletion().GetId(), "deletion.attestation_refused") != 1 {
		t.Errorf("attesting a SELF request: %v, want FailedPrecondition, audited", err)
	}
}

// A person's attestation never leads to auto-approval: the plan waits for a
// reviewer. A pipeline vouching for its own request still runs unattended.
func TestDeletionHumanAttestationNeedsReviewer(t *testing.T) {
	r := newDeletionRig(t, 4)
	agent := r.credential("agent.li", access.Agent)
	pipeline := r.credential("pipeline.crm", access.Automation)

	d, err := r.api.SubmitDeletion(pipeline, erasure("pipeline-unverified", 1, deletionv1.Source_SOURCE_PIPELINE, ""))
	if err != nil {
		t.Fatal(err)
	}
	id := d.GetDeletion().GetId()
	if _, err := r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: id, Reason: "verified by phone"}); err != nil {
		t.Fatal(err)
	}
	if plan := r.waitPlan(agent, id); plan.GetAutoApproved() {
		t.Fatal("a plan whose requester an agent attested was auto-approved")
	}
	if got, _ := r.api.GetDeletion(agent, &deletionv1.GetDeletionRequest{DeletionId: id}); got.GetDeletion().GetApprovedBy() != "" {
		t.Fatalf("approved by %q without a reviewer", got.GetDeletion().GetApprovedBy())
	}

	own, err := r.api.SubmitDeletion(pipeline, erasure("pipeline-own", 2, deletionv1.Source_SOURCE_PIPELINE, "signed in to the operator app"))
	if err != nil {
		t.Fatal(err)
	}
	if plan := r.waitPlan(pipeline, own.GetDeletion().GetId()); !plan.GetAutoApproved() {
		t.Fatal("a pipeline's own verified request was not auto-approved")
	}
}

// The approver is neither the submitter nor the person who attested the
// requester's identity; a refusal is audited.
func TestDeletionApproverIsNotAttestor(t *testing.T) {
	r := newDeletionRig(t, 4)
	agent := r.credential("agent.li", access.Agent)
	supA := r.credential("sup.wang", access.Supervisor)
	supB := r.credential("sup.zhou", access.Supervisor)

	d, err := r.api.SubmitDeletion(agent, erasure("agent-entered", 1, deletionv1.Source_SOURCE_AGENT, ""))
	if err != nil {
		t.Fatal(err)
	}
	id := d.GetDeletion().GetId()
	if _, err := r.api.AttestIdentity(supA, &deletionv1.AttestIdentityRequest{DeletionId: id, Reason: "requester at the counter with ID card"}); err != nil {
		t.Fatal(err)
	}
	plan := r.waitPlan(supA, id)
	approve := &deletionv1.ApprovePlanRequest{DeletionId: id, PlanDigest: plan.GetPlanDigest()}
	if _, err := r.api.ApprovePlan(supA, approve); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "attested") {
		t.Fatalf("the attestor approving: %v, want PermissionDenied", err)
	}
	if r.audited(id, "deletion.approve_refused") != 1 {
		t.Fatal("the attestor's approval refused without an audit entry")
	}
	// The submitter attesting at submission cannot approve either.
	own, err := r.api.SubmitDeletion(supB, erasure("sup-entered", 2, deletionv1.Source_SOURCE_AGENT, "requester at the counter with ID card"))
	if err != nil {
		t.Fatal(err)
	}
	ownPlan := r.waitPlan(supB, own.GetDeletion().GetId())
	if _, err := r.api.ApprovePlan(supB, &deletionv1.ApprovePlanRequest{DeletionId: own.GetDeletion().GetId(), PlanDigest: ownPlan.GetPlanDigest()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("the submitter and attestor approving: %v, want PermissionDenied", err)
	}
	got, err := r.api.ApprovePlan(supB, approve)
	if err != nil {
		t.Fatalf("a second person approving: %v", err)
	}
	if got.GetDeletion().GetApprovedBy() != "sup.zhou" {
		t.Fatalf("approved by %q", got.GetDeletion().GetApprovedBy())
	}
}
