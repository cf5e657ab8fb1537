package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
)

// Intake's ErasureService answers the deletion service's credential only:
// every other role is refused, and the deletion service's credential reaches
// nothing else of intake. With it, a complainant is located by the keyed
// hashes of their identifiers, erased (their key shredded) once, and nothing
// remains; bad input is refused naming the field.
func TestErasureServiceOnlyForTheDeletionService(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), submission("erase-rpc-0001"))
	if err != nil {
		t.Fatal(err)
	}
	subject := &intakev1.ErasureSubject{DeletionRequestId: "0f3b5f8e-8f44-4e8e-9c1a-2b1f4d1c9a01",
		PhoneIndex: h.keys.PhoneIndex("+8613800138000"), EmailIndex: h.keys.EmailIndex("zhang.san@example.com")}
	plain := intakev1.NewErasureServiceClient(h.intakeConn)
	as := func(username string, role access.Role) context.Context {
		if _, err := h.identity.AddUser(h.ctx, "test", identity.NewUser{Username: username, Role: role}); err != nil {
			t.Fatal(err)
		}
		secret, _, err := h.identity.IssueToken(h.ctx, username, username, "test", access.Grants[role], time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return metadata.AppendToOutgoingContext(h.ctx, "authorization", "Bearer "+secret)
	}
	for _, role := range []access.Role{access.Agent, access.Supervisor, access.ComplianceOfficer, access.Admin, access.Automation} {
		ctx := as("caller."+strings.ReplaceAll(string(role), "_", "."), role)
		if _, err := plain.Locate(ctx, &intakev1.LocateRequest{Subject: subject}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s locates: %v, want PermissionDenied", role, err)
		}
		if _, err := plain.Apply(ctx, &intakev1.ApplyRequest{Subject: subject, Step: "execute"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s erases: %v, want PermissionDenied", role, err)
		}
	}
	svc := as("svc.other.deletion", access.DeletionService)
	if _, err := h.api.GetCase(svc, &intakev1.GetCaseRequest{CaseId: sub.GetCase().GetId()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("the deletion service's credential reads a case: %v", err)
	}

	for _, c := range []struct {
		call  func() error
		field string
	}{
		{func() error { _, err := h.erasure.Locate(h.ctx, &intakev1.LocateRequest{}); return err }, "subject"},
		{func() error {
			_, err := h.erasure.Locate(h.ctx, &intakev1.LocateRequest{Subject: &intakev1.ErasureSubject{DeletionRequestId: subject.DeletionRequestId}})
			return err
		}, "phone_index"},
		{func() error {
			_, err := h.erasure.Locate(h.ctx, &intakev1.LocateRequest{Subject: &intakev1.ErasureSubject{DeletionRequestId: "x", EmailIndex: []byte("short")}})
			return err
		}, "subject.email_index"},
		{func() error {
			_, err := h.erasure.Apply(h.ctx, &intakev1.ApplyRequest{Subject: subject, Step: "later"})
			return err
		}, "step"},
	} {
		if err := c.call(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("bad input: %v, want InvalidArgument naming %s", err, c.field)
		}
	}

	found, err := h.erasure.Locate(h.ctx, &intakev1.LocateRequest{Subject: subject})
	if err != nil || len(found.GetItems()) != 1 || found.GetItems()[0].GetCount() != 1 || found.GetDigest() == "" {
		t.Fatalf("locate: %v %v", found, err)
	}
	for range 2 { // repeating changes nothing more
		if _, err := h.erasure.Apply(h.ctx, &intakev1.ApplyRequest{Subject: subject, Step: "execute"}); err != nil {
			t.Fatal(err)
		}
	}
	left, err := h.erasure.Remaining(h.ctx, &intakev1.RemainingRequest{Subject: subject, Step: "execute"})
	if err != nil || left.GetRemaining() != 0 {
		t.Fatalf("remaining %d, %v", left.GetRemaining(), err)
	}
	var shredded int64
	h.db.Raw(`SELECT count(*) FROM cases c JOIN complainants p ON p.id = c.complainant_id
		JOIN subject_keys k ON k.id = p.subject_key_id WHERE c.id = ? AND k.shredded_at IS NOT NULL`, sub.GetCase().GetId()).Scan(&shredded)
	if shredded != 1 {
		t.Fatal("the complainant's key is not shredded")
	}
}
