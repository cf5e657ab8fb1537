package deletion_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/deletion"
)

// A pipeline that checked the requester itself vouches at submission: the
// request starts verified (audited, the reason on the request); without the
// deletion.attest permission, or with a reason too short, it is refused.
func TestSubmitWithAttestation(t *testing.T) {
	srv, _, _, db, base := challengeServer(t)
	as := func(p access.Principal) context.Context { return access.WithActor(access.WithPrincipal(base, p), p.ID) }
	pipeline := as(access.Principal{ID: "pipeline.crm", Role: access.Automation})
	scoped := as(access.Principal{ID: "pipeline.web", Role: access.Automation,
		Scopes: []access.Permission{access.DeletionSubmit, access.DeletionRead}})

	it := item("attest-00000001")
	it.AttestationReason = "signed in to the operator app with two-factor login"
	resp, err := srv.SubmitDeletion(pipeline, it)
	if err != nil {
		t.Fatal(err)
	}
	var r deletion.Request
	if err := db.Take(&r, "id = ?", resp.GetDeletion().GetId()).Error; err != nil {
		t.Fatal(err)
	}
	var clear string
	db.Raw("SELECT attestation_reason FROM deletion_requests WHERE id = ?", r.ID).Scan(&clear)
	if !r.IdentityVerified() || len(r.AttestationReasonEnc) == 0 || clear != "" {
		t.Fatalf("attested at submission: method %q, sealed reason %d bytes, clear reason %q", r.IdentityMethod, len(r.AttestationReasonEnc), clear)
	}
	var n int64
	db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.identity_verified' AND actor = 'pipeline.crm'", r.ID).Count(&n)
	if n != 1 {
		t.Fatalf("%d identity_verified entries, want 1", n)
	}

	// A credential scoped without deletion.attest: refused, nothing recorded.
	it = item("attest-00000002")
	it.AttestationReason = "signed in to the operator app with two-factor login"
	if _, err := srv.SubmitDeletion(scoped, it); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "attestation_reason") {
		t.Fatalf("scoped credential attesting: %v", err)
	}
	// Too short a reason names the field.
	it.AttestationReason = "ok"
	if _, err := srv.SubmitDeletion(pipeline, it); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "attestation_reason") {
		t.Fatalf("short reason: %v", err)
	}
	var total int64
	db.Model(&deletion.Request{}).Count(&total)
	if total != 1 {
		t.Fatalf("%d requests recorded, want only the first", total)
	}
	// Without a reason the request waits for identity as before.
	plain, err := srv.SubmitDeletion(pipeline, item("attest-00000003"))
	if err != nil || plain.GetDeletion().GetStatus() != "awaiting_identity" {
		t.Fatalf("plain submission: %v %v", plain, err)
	}
}
