package e2e

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/records"
)

// bearer adds an account and a credential for it (all its role holds) and
// answers a context whose calls carry that credential.
func (h *harness) bearer(username string, role access.Role) context.Context {
	h.t.Helper()
	if _, err := h.identity.AddUser(h.ctx, "test", identity.NewUser{Username: username, Role: role}); err != nil {
		h.t.Fatal(err)
	}
	// Issued as the account itself: credentials are only for oneself.
	secret, _, err := h.identity.IssueToken(h.ctx, username, username, "test", nil, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(h.ctx, "authorization", "Bearer "+secret)
}

// A partner credential reads and searches only the complaints it submitted:
// another partner's case is not found (its existence is not revealed), by
// id, by list or by text search; people with case.read keep seeing all.
func TestAutomationSeesOnlyItsOwnCases(t *testing.T) {
	h := newHarness(t, options{noTemporal: true, noWorker: true})
	partnerA := h.bearer("partner.a", access.Automation)
	partnerB := h.bearer("partner.b", access.Automation)
	agent := h.bearer("agent.li", access.Agent)

	req := submission("owner-test-a-0001")
	req.Description = "Loan offers by SMS since the zebrafish leak."
	sub, err := h.api.SubmitComplaint(partnerA, req)
	if err != nil {
		t.Fatal(err)
	}
	caseA := sub.GetCase().GetId()
	// The same client key from another partner is another submission.
	subB, err := h.api.SubmitComplaint(partnerB, submission("owner-test-a-0001"))
	if err != nil || subB.GetCase().GetId() == caseA || subB.GetReplayed() {
		t.Fatalf("partner B with partner A's key: %v %v", subB, err)
	}
	caseB := subB.GetCase().GetId()
	// A case entered by a person, and one recorded before submitters were.
	byPerson, err := h.api.SubmitComplaint(agent, submission("owner-test-agent-01"))
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := h.api.SubmitComplaint(agent, submission("owner-test-legacy-1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.Model(&records.Case{}).Where("id = ?", legacy.GetCase().GetId()).Update("submitted_by", nil).Error; err != nil {
		t.Fatal(err)
	}

	if got, err := h.api.GetCase(partnerA, &intakev1.GetCaseRequest{CaseId: caseA}); err != nil || got.GetCase().GetDescription() != req.Description {
		t.Fatalf("partner A reads its own case: %v", err)
	}
	for _, id := range []string{caseA, byPerson.GetCase().GetId(), legacy.GetCase().GetId()} {
		if _, err := h.api.GetCase(partnerB, &intakev1.GetCaseRequest{CaseId: id}); code(err) != codes.NotFound {
			t.Errorf("partner B reads case %s: %v, want NotFound", id, err)
		}
	}
	ids := func(ctx context.Context, text string) []string {
		t.Helper()
		resp, err := h.api.ListCases(ctx, &intakev1.ListCasesRequest{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range resp.GetCases() {
			out = append(out, c.GetId())
		}
		return out
	}
	if got := ids(partnerB, "zebrafish"); len(got) != 0 {
		t.Errorf("partner B finds partner A's case by its description: %v", got)
	}
	if got := ids(partnerB, ""); len(got) != 1 || got[0] != caseB {
		t.Errorf("partner B lists %v, want only its own %s", got, caseB)
	}
	if got := ids(partnerA, "zebrafish"); len(got) != 1 || got[0] != caseA {
		t.Errorf("partner A searches its own: %v", got)
	}
	if got := ids(agent, ""); len(got) != 4 {
		t.Errorf("an agent lists %d cases, want all 4", len(got))
	}
	if _, err := h.api.GetCase(agent, &intakev1.GetCaseRequest{CaseId: caseA}); err != nil {
		t.Errorf("an agent reads partner A's case: %v", err)
	}
}

// Every case RPC (IntakeService's and CaseFileService's) applies the same rule, whatever the role's grants say:
// called in process as another automation principal (past the guard, as if
// its role held every permission), each answers NotFound for a case that
// principal did not submit, before anything reaches the case.
func TestEveryCaseRPCHidesOthersCases(t *testing.T) {
	h := newHarness(t, options{noTemporal: true, noWorker: true})
	req := submission("owner-rpc-a-00001")
	req.Attachments = []*intakev1.AttachmentUpload{{FileName: "sms.txt", ContentType: "text/plain", Content: evidence}}
	sub, err := h.api.SubmitComplaint(h.as("partner.a"), req)
	if err != nil {
		t.Fatal(err)
	}
	attID := sub.GetCase().GetAttachments()[0].GetId()
	other, err := h.api.SubmitComplaint(h.as("partner.a"), submission("owner-rpc-a-00002"))
	if err != nil {
		t.Fatal(err)
	}
	id, otherID := sub.GetCase().GetId(), other.GetCase().GetId()
	srv := intake.New(intake.Config{DB: h.db, Keys: h.keys, Policy: h.policy, Temporal: h.tc, Starter: h.starter, Log: h.log})
	t.Cleanup(srv.Close)
	files := srv.CaseFile()
	ctx := access.WithPrincipal(h.ctx, access.Principal{ID: "partner.b", Role: access.Automation})
	calls := map[string]func() error{
		"GetCase": func() error { _, err := srv.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: id}); return err },
		"AddNote": func() error {
			_, err := srv.AddNote(ctx, &intakev1.AddNoteRequest{CaseId: id, Body: "note"})
			return err
		},
		"ReplyToComplainant": func() error {
			_, err := srv.ReplyToComplainant(ctx, &intakev1.ReplyToComplainantRequest{CaseId: id, Body: "reply"})
			return err
		},
		"AcceptCase": func() error { _, err := srv.AcceptCase(ctx, &intakev1.AcceptCaseRequest{CaseId: id}); return err },
		"RejectCase": func() error {
			_, err := srv.RejectCase(ctx, &intakev1.RejectCaseRequest{CaseId: id,
				Reason: intakev1.RejectionReason_REJECTION_REASON_OUT_OF_SCOPE, Text: "out of scope"})
			return err
		},
		"AssignCase": func() error {
			_, err := srv.AssignCase(ctx, &intakev1.AssignCaseRequest{CaseId: id, Assignee: "agent.li"})
			return err
		},
		"RequestInformation": func() error {
			_, err := srv.RequestInformation(ctx, &intakev1.RequestInformationRequest{CaseId: id, Question: "when?"})
			return err
		},
		"RecordComplainantResponse": func() error {
			_, err := srv.RecordComplainantResponse(ctx, &intakev1.RecordComplainantResponseRequest{CaseId: id, Body: "yesterday"})
			return err
		},
		"ResolveCase": func() error {
			_, err := srv.ResolveCase(ctx, &intakev1.ResolveCaseRequest{CaseId: id, Feedback: "done"})
			return err
		},
		"CloseCase": func() error { _, err := srv.CloseCase(ctx, &intakev1.CloseCaseRequest{CaseId: id}); return err },
		"ReopenCase": func() error {
			_, err := srv.ReopenCase(ctx, &intakev1.ReopenCaseRequest{CaseId: id, Reason: "again"})
			return err
		},
		"MergeCase": func() error {
			_, err := srv.MergeCase(ctx, &intakev1.MergeCaseRequest{CaseId: id, PrimaryCaseId: otherID})
			return err
		},
		"ListCaseTimeline": func() error {
			_, err := files.ListCaseTimeline(ctx, &intakev1.ListCaseTimelineRequest{CaseId: id})
			return err
		},
		"ListCaseMessages": func() error {
			_, err := files.ListCaseMessages(ctx, &intakev1.ListCaseMessagesRequest{CaseId: id})
			return err
		},
		"RevealComplainant": func() error {
			_, err := files.RevealComplainant(ctx, &intakev1.RevealComplainantRequest{CaseId: id, Reason: intakev1.RevealReason_REVEAL_REASON_CONTACT})
			return err
		},
		"ListAttachments": func() error {
			_, err := files.ListAttachments(ctx, &intakev1.ListAttachmentsRequest{CaseId: id})
			return err
		},
		"DownloadAttachment": func() error {
			_, err := files.DownloadAttachment(ctx, &intakev1.DownloadAttachmentRequest{CaseId: id, AttachmentId: attID})
			return err
		},
	}
	for _, rpc := range []string{"GetCase", "ListCases", "AddNote", "ReplyToComplainant", "AcceptCase", "RejectCase",
		"AssignCase", "RequestInformation", "RecordComplainantResponse", "ResolveCase", "CloseCase", "ReopenCase", "MergeCase",
		"ListCaseTimeline", "ListCaseMessages", "RevealComplainant", "ListAttachments", "DownloadAttachment"} {
		if rpc == "ListCases" {
			resp, err := srv.ListCases(ctx, &intakev1.ListCasesRequest{})
			if err != nil || len(resp.GetCases()) != 0 {
				t.Errorf("ListCases as partner.b: %d cases, %v; want none", len(resp.GetCases()), err)
			}
			continue
		}
		if err := calls[rpc](); code(err) != codes.NotFound {
			t.Errorf("%s on another partner's case: %v, want NotFound", rpc, err)
		}
	}
	// Nothing reached the case: no note, reply or draft was stored, nothing
	// revealed or downloaded.
	var msgs int64
	h.db.Model(&records.CaseMessage{}).Where("case_id = ?", id).Count(&msgs)
	if msgs != 0 {
		t.Errorf("%d messages stored on the hidden case", msgs)
	}
	if n := len(h.auditCount(id, "complainant.revealed")) + len(h.auditCount(id, "attachment.downloaded")); n != 0 {
		t.Errorf("%d reveals or downloads of the hidden case audited", n)
	}
}
