package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/notify/smtptest"
	wf "github.com/redress/redress/workflows/deletion"
)

// A request with nothing under a retention floor completes; after the
// completion notice, Redress forgets the requester's own identifiers (their
// key is shredded, audited) while the request, its evidence and its
// certificate stay readable.
func TestDeletionCompletedForgetsRequester(t *testing.T) {
	r := newDeletionRig(t, 10)
	const who = 3
	submitted := r.eraseWithNothingRetained("forget-1", who)
	id := submitted.GetId()
	if submitted.GetMaskedEmail() == "" {
		t.Fatal("a new request shows no masked email")
	}
	r.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool {
		return strings.Contains(m.Body, "DR-"+id[:8]) && (strings.Contains(m.Body, "request is complete") || strings.Contains(m.Body, "已办结")) &&
			strings.Contains(m.Body, "customer-db")
	})
	deadline := time.Now().Add(30 * time.Second)
	for r.audited(id, "deletion.requester_forgotten") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("requester not forgotten after completion; workflow: %s", r.pending(id))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var req deletion.Request
	if err := r.db.Take(&req, "id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := r.keys.SubjectKey(r.db, req.SubjectKeyID); !errors.Is(err, crypto.ErrShredded) {
		t.Fatalf("requester's key after completion: %v, want shredded", err)
	}
	got, err := r.api.GetDeletion(r.as("agent.li"), &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetDeletion().GetStatus() == "" || got.GetDeletion().GetMaskedEmail() != "" || got.GetDeletion().GetMaskedPhone() != "" {
		t.Fatalf("after forgetting: %+v", got.GetDeletion())
	}
	ev, err := r.api.GetEvidence(r.as("agent.li"), &deletionv1.GetEvidenceRequest{DeletionId: id})
	if err != nil || ev.GetCertificate() == "" {
		t.Fatalf("evidence after forgetting: %v %v", ev, err)
	}
}

// eraseWithNothingRetained erases person who through the pipeline, identity
// attested by an agent, with only old call logs left (nothing under the
// 6-month floor, so nothing is restricted), and waits until it completes. It
// answers the request as submitted.
func (r *deletionRig) eraseWithNothingRetained(key string, who int) *deletionv1.Deletion {
	r.t.Helper()
	if _, err := r.customer.Exec(`DELETE FROM call_logs WHERE caller = $1 AND started_at > now() - interval '6 months'`, customertest.Phone(who)); err != nil {
		r.t.Fatal(err)
	}
	d, err := r.api.SubmitDeletion(r.as("pipeline.crm"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: key,
		Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: deletionv1.Source_SOURCE_PIPELINE, Email: customertest.Email(who),
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(who), HeldFrom: timestamppb.New(time.Now().AddDate(-3, 0, 0))}})
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.api.AttestIdentity(r.as("agent.li"), &deletionv1.AttestIdentityRequest{DeletionId: d.GetDeletion().GetId(),
		Reason: "identity checked by the CRM login"}); err != nil {
		r.t.Fatal(err)
	}
	r.waitStatus(d.GetDeletion().GetId(), wf.StatusCompleted)
	return d.GetDeletion()
}
