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

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/notify/smtptest"
)

// Intake's CaseFactsService answers the escalation service's credential
// only, and that credential reaches nothing else of intake. With it, a
// case's facts come without personal data, leak complaints page by cursor,
// an incident notice reaches the complainant once per key; bad input is
// refused naming the field.
func TestCaseFactsServiceOnlyForTheEscalationService(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	req := submission("facts-rpc-0001")
	req.Category = intakev1.Category_CATEGORY_PERSONAL_INFORMATION_LEAK
	req.Subject = &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_APP, Value: "shop-app", LeakedDataType: "phone", LeakSource: "shop-app"}
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), req)
	if err != nil {
		t.Fatal(err)
	}
	caseID := sub.GetCase().GetId()
	ids := &intakev1.GetCaseFactsRequest{CaseIds: []string{caseID}}
	plain := intakev1.NewCaseFactsServiceClient(h.intakeConn)
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
	since := timestamppb.New(time.Now().Add(-time.Hour))
	for _, role := range []access.Role{access.Agent, access.Supervisor, access.ComplianceOfficer, access.Admin, access.Automation, access.DeletionService} {
		ctx := as("caller."+strings.ReplaceAll(string(role), "_", "."), role)
		if _, err := plain.GetCaseFacts(ctx, ids); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s reads case facts: %v, want PermissionDenied", role, err)
		}
		if _, err := plain.ListLeakComplaints(ctx, &intakev1.ListLeakComplaintsRequest{ReceivedAfter: since}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s lists leak complaints: %v, want PermissionDenied", role, err)
		}
		if _, err := plain.NotifyComplainants(ctx, &intakev1.NotifyComplainantsRequest{}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s sends notices: %v, want PermissionDenied", role, err)
		}
		if _, err := plain.OpenCaseAnswers(ctx, &intakev1.OpenCaseAnswersRequest{CaseId: caseID, Sealed: [][]byte{{1}}}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s opens answers: %v, want PermissionDenied", role, err)
		}
	}
	svc := as("svc.other.escalation", access.EscalationService)
	if _, err := h.api.GetCase(svc, &intakev1.GetCaseRequest{CaseId: caseID}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("the escalation service's credential reads a case: %v", err)
	}

	escID := "6d0c3a52-5b0e-4c55-9f43-0a7c1b8e2f10"
	notice := func(key string, ids ...string) *intakev1.NotifyComplainantsRequest {
		return &intakev1.NotifyComplainantsRequest{IdempotencyKey: key, EscalationId: escID, CaseIds: ids,
			Body: "A leak of phone numbers at shop-app; contact privacy@operator.example.", Citation: "PIPL Art. 57"}
	}
	for _, c := range []struct {
		call  func() error
		field string
	}{
		{func() error { _, err := h.facts.GetCaseFacts(h.ctx, &intakev1.GetCaseFactsRequest{}); return err }, "case_ids"},
		{func() error {
			_, err := h.facts.GetCaseFacts(h.ctx, &intakev1.GetCaseFactsRequest{CaseIds: []string{caseID, "nope"}})
			return err
		}, "case_ids[1]"},
		{func() error {
			_, err := h.facts.GetCaseFacts(h.ctx, &intakev1.GetCaseFactsRequest{CaseIds: []string{caseID, caseID}})
			return err
		}, "case_ids[1]"},
		{func() error {
			_, err := h.facts.ListLeakComplaints(h.ctx, &intakev1.ListLeakComplaintsRequest{})
			return err
		}, "received_after"},
		{func() error {
			_, err := h.facts.ListLeakComplaints(h.ctx, &intakev1.ListLeakComplaintsRequest{ReceivedAfter: since, PageSize: 5000})
			return err
		}, "page_size"},
		{func() error {
			_, err := h.facts.ListLeakComplaints(h.ctx, &intakev1.ListLeakComplaintsRequest{ReceivedAfter: since, Cursor: "bogus"})
			return err
		}, "cursor"},
		{func() error { _, err := h.facts.NotifyComplainants(h.ctx, notice("short", caseID)); return err }, "idempotency_key"},
		{func() error {
			r := notice("incident/"+escID, caseID)
			r.Body = ""
			_, err := h.facts.NotifyComplainants(h.ctx, r)
			return err
		}, "body"},
		{func() error { _, err := h.facts.NotifyComplainants(h.ctx, notice("incident/"+escID)); return err }, "case_ids"},
		{func() error {
			_, err := h.facts.SealCaseAnswer(h.ctx, &intakev1.SealCaseAnswerRequest{Answer: "x"})
			return err
		}, "case_id"},
		{func() error {
			_, err := h.facts.SealCaseAnswer(h.ctx, &intakev1.SealCaseAnswerRequest{CaseId: caseID})
			return err
		}, "answer"},
		{func() error {
			_, err := h.facts.OpenCaseAnswers(h.ctx, &intakev1.OpenCaseAnswersRequest{CaseId: caseID})
			return err
		}, "sealed"},
	} {
		err := c.call()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("bad %s: %v, want InvalidArgument naming it", c.field, err)
		}
	}

	missing := "0f3b5f8e-8f44-4e8e-9c1a-2b1f4d1c9a01"
	if _, err := h.facts.GetCaseFacts(h.ctx, &intakev1.GetCaseFactsRequest{CaseIds: []string{caseID, missing}}); status.Code(err) != codes.NotFound ||
		!strings.Contains(err.Error(), "case_ids[1]") {
		t.Fatalf("an unknown case: %v, want NotFound naming case_ids[1]", err)
	}
	facts, err := h.facts.GetCaseFacts(h.ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	f := facts.GetCases()[0]
	if f.GetCaseNumber() != sub.GetCase().GetCaseNumber() || f.GetLeakSource() != "shop-app" || f.GetLeakedDataType() != "phone" ||
		len(f.GetDeadlines()) == 0 {
		t.Fatalf("case facts %v", f)
	}
	if text := f.String(); strings.Contains(text, "Zhang") || strings.Contains(text, "13800138000") || strings.Contains(text, "example.com") {
		t.Fatalf("case facts carry personal data: %s", text)
	}
	leaks, err := h.facts.ListLeakComplaints(h.ctx, &intakev1.ListLeakComplaintsRequest{ReceivedAfter: since, PageSize: 1})
	if err != nil || len(leaks.GetComplaints()) != 1 || leaks.GetComplaints()[0].GetCaseId() != caseID {
		t.Fatalf("leak complaints %v %v", leaks, err)
	}
	if rest, err := h.facts.ListLeakComplaints(h.ctx, &intakev1.ListLeakComplaintsRequest{ReceivedAfter: since,
		Cursor: leaks.GetNextCursor()}); leaks.GetNextCursor() != "" && (err != nil || len(rest.GetComplaints()) != 0) {
		t.Fatalf("after the last complaint: %v %v", rest, err)
	}

	for i, want := range []int32{1, 0} { // once per key
		r, err := h.facts.NotifyComplainants(h.ctx, notice("incident/"+escID, caseID))
		if err != nil || r.GetSent() != want {
			t.Fatalf("notice %d: sent %d (%v), want %d", i, r.GetSent(), err, want)
		}
	}
	m := h.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, "shop-app") })
	if !strings.Contains(strings.Join(m.To, ","), "zhang.san@example.com") {
		t.Fatalf("notice went to %v", m.To)
	}
	var n int64
	if err := h.db.Table("notifications").Where("dedupe_key = ? AND status = 'sent'", "incident/"+escID+"/"+caseID).Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("recorded notices %d (%v), want 1", n, err)
	}
}
