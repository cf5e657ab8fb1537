package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
)

// The deletion service's DeletionFactsService answers the escalation
// service's credential only. With it, a request's facts come without
// personal data, an answer sealed under the requester's key opens again
// (and reads erased once the key is destroyed); bad input is refused naming
// the field and an unknown request answers NOT_FOUND.
func TestDeletionFactsServiceOnlyForTheEscalationService(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	sk, err := h.keys.NewSubjectKey(h.db)
	if err != nil {
		t.Fatal(err)
	}
	reqID := uuid.NewString()
	due := time.Now().UTC().Add(15 * 24 * time.Hour).Truncate(time.Second)
	if err := h.db.Exec(`INSERT INTO deletion_requests (id, type, source, status, subject_key_id, phone_enc, due_at, due_rule,
		reason_code, submitted_by, created_at, updated_at)
		VALUES (?, 'erasure', 'self', 'executing', ?, '\xdeadbeef', ?, 'cn/A1', '', 'agent-1', now(), now())`, reqID, sk.ID, due).Error; err != nil {
		t.Fatal(err)
	}
	plain := deletionv1.NewDeletionFactsServiceClient(h.intakeConn)
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
	for _, role := range []access.Role{access.Agent, access.Supervisor, access.ComplianceOfficer, access.Admin, access.Automation, access.DeletionService} {
		ctx := as("caller."+strings.ReplaceAll(string(role), "_", "."), role)
		if _, err := plain.GetDeletionFacts(ctx, &deletionv1.GetDeletionFactsRequest{RequestId: reqID}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s reads deletion facts: %v, want PermissionDenied", role, err)
		}
		if _, err := plain.SealRequestAnswer(ctx, &deletionv1.SealRequestAnswerRequest{RequestId: reqID, Answer: "x"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s seals answers: %v, want PermissionDenied", role, err)
		}
		if _, err := plain.OpenRequestAnswers(ctx, &deletionv1.OpenRequestAnswersRequest{RequestId: reqID, Sealed: [][]byte{{1}}}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s opens answers: %v, want PermissionDenied", role, err)
		}
	}

	for _, c := range []struct {
		call  func() error
		field string
	}{
		{func() error {
			_, err := h.delFacts.GetDeletionFacts(h.ctx, &deletionv1.GetDeletionFactsRequest{RequestId: "nope"})
			return err
		}, "request_id"},
		{func() error {
			_, err := h.delFacts.SealRequestAnswer(h.ctx, &deletionv1.SealRequestAnswerRequest{Answer: "x"})
			return err
		}, "request_id"},
		{func() error {
			_, err := h.delFacts.SealRequestAnswer(h.ctx, &deletionv1.SealRequestAnswerRequest{RequestId: reqID})
			return err
		}, "answer"},
		{func() error {
			_, err := h.delFacts.OpenRequestAnswers(h.ctx, &deletionv1.OpenRequestAnswersRequest{RequestId: reqID})
			return err
		}, "sealed"},
		{func() error {
			_, err := h.delFacts.OpenRequestAnswers(h.ctx, &deletionv1.OpenRequestAnswersRequest{RequestId: reqID, Sealed: make([][]byte, 101)})
			return err
		}, "sealed"},
	} {
		err := c.call()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("bad input answered %v, want INVALID_ARGUMENT naming %s", err, c.field)
		}
	}
	unknown := uuid.NewString()
	if _, err := h.delFacts.GetDeletionFacts(h.ctx, &deletionv1.GetDeletionFactsRequest{RequestId: unknown}); status.Code(err) != codes.NotFound ||
		!strings.Contains(err.Error(), unknown) {
		t.Errorf("unknown request answered %v, want NOT_FOUND naming it", err)
	}

	res, err := h.delFacts.GetDeletionFacts(h.ctx, &deletionv1.GetDeletionFactsRequest{RequestId: reqID})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.GetFacts(); f.GetRequestId() != reqID || f.GetStatus() != "executing" || f.GetType() != "erasure" || !f.GetDueAt().AsTime().Equal(due) {
		t.Fatalf("deletion facts %v", f)
	}
	sealed, err := h.delFacts.SealRequestAnswer(h.ctx, &deletionv1.SealRequestAnswerRequest{RequestId: reqID, Answer: "Erased everywhere."})
	if err != nil || len(sealed.GetSealed()) == 0 || strings.Contains(string(sealed.GetSealed()), "Erased") {
		t.Fatalf("sealed %q: %v", sealed.GetSealed(), err)
	}
	open := func() []*deletionv1.RequestAnswer {
		t.Helper()
		r, err := h.delFacts.OpenRequestAnswers(h.ctx, &deletionv1.OpenRequestAnswersRequest{RequestId: reqID, Sealed: [][]byte{sealed.GetSealed(), []byte("forged")}})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetAnswers()
	}
	if a := open(); len(a) != 2 || a[0].GetText() != "Erased everywhere." || !a[1].GetUnreadable() {
		t.Fatalf("opened %v", a)
	}
	if err := h.keys.Shred(h.db, sk.ID); err != nil {
		t.Fatal(err)
	}
	if a := open(); len(a) != 2 || !a[0].GetErased() || a[0].GetText() != "" || !a[1].GetErased() {
		t.Fatalf("opened after the key is destroyed %v", a)
	}
	if _, err := h.delFacts.SealRequestAnswer(h.ctx, &deletionv1.SealRequestAnswerRequest{RequestId: reqID, Answer: "Later."}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("sealing after the key is destroyed: %v, want FAILED_PRECONDITION", err)
	}
}
