package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
)

var evidence = []byte("SMS 2026-03-01 08:02 from 10690000001: loan offer, reply TD to stop\n")

// auditCount counts the case's audit entries of one action.
func (h *harness) auditCount(caseID, action string) []audit.Record {
	h.t.Helper()
	recs, err := audit.ForObject(h.ctx, h.db, "case", caseID)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []audit.Record
	for _, r := range recs {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

// What the console shows of a case beside its facts comes over gRPC from
// CaseFileService, with the personal data in it only for case.reveal, every
// reveal and download audited, and another partner's case not found.
func TestCaseFileOverGRPC(t *testing.T) {
	h := newHarness(t, options{})
	partnerA := h.bearer("partner.a", access.Automation)
	partnerB := h.bearer("partner.b", access.Automation)
	agent := h.bearer("agent.li", access.Agent)
	admin := h.bearer("admin", access.Admin)

	req := submission("casefile-0001")
	req.Attachments = []*intakev1.AttachmentUpload{{FileName: "sms-zhang-san.txt", ContentType: "text/plain", Content: evidence}}
	sub, err := h.api.SubmitComplaint(partnerA, req)
	if err != nil {
		t.Fatal(err)
	}
	id := sub.GetCase().GetId()
	h.eventually("workflow started", 30*time.Second, func() bool {
		got, err := h.api.GetCase(agent, &intakev1.GetCaseRequest{CaseId: id})
		return err == nil && got.GetCase().GetWorkflowStarted()
	})

	// The actions offered are the received state's, as far as the role goes.
	for who, want := range map[string][]string{"agent": {"accept", "reply", "reject", "merge", "note"}, "admin": nil} {
		ctx := map[string]context.Context{"agent": agent, "admin": admin}[who]
		got, err := h.api.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: id})
		if err != nil || !slices.Equal(got.GetCase().GetAllowedActions(), want) {
			t.Errorf("%s is offered %v (%v), want %v", who, got.GetCase().GetAllowedActions(), err, want)
		}
	}

	// A note, a reply (a received case takes one), and a refused resolve
	// whose draft is discarded.
	if _, err := h.api.AddNote(agent, &intakev1.AddNoteRequest{CaseId: id, Body: "Called Zhang San back."}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.ReplyToComplainant(agent, &intakev1.ReplyToComplainantRequest{CaseId: id, Body: "We are looking into it."}); err != nil {
		t.Fatalf("reply on a received case: %v", err)
	}
	if _, err := h.api.ResolveCase(agent, &intakev1.ResolveCaseRequest{CaseId: id, Feedback: "never sent"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("resolve on a received case: %v, want FailedPrecondition", err)
	}

	// Messages: bodies for case.reveal, hidden otherwise; no discarded draft.
	msgs, err := h.caseFile.ListCaseMessages(agent, &intakev1.ListCaseMessagesRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	var kinds, bodies []string
	for _, m := range msgs.GetMessages() {
		kinds, bodies = append(kinds, m.GetKind()), append(bodies, m.GetBody())
		if m.GetHidden() || m.GetErased() || m.GetAuthor() != "agent.li" {
			t.Errorf("agent's view of a message: %+v", m)
		}
	}
	if !slices.Equal(kinds, []string{"note", "reply"}) || !slices.Equal(bodies, []string{"Called Zhang San back.", "We are looking into it."}) {
		t.Fatalf("agent's messages: %v %q", kinds, bodies)
	}
	for who, ctx := range map[string]context.Context{"admin": admin, "partner.a": partnerA} {
		msgs, err := h.caseFile.ListCaseMessages(ctx, &intakev1.ListCaseMessagesRequest{CaseId: id})
		if err != nil || len(msgs.GetMessages()) != 2 {
			t.Fatalf("%s lists messages: %v %v", who, msgs, err)
		}
		for _, m := range msgs.GetMessages() {
			if !m.GetHidden() || m.GetBody() != "" {
				t.Errorf("%s without case.reveal reads a body: %+v", who, m)
			}
		}
	}

	// Reveal: a reason from the list, refused without one, audited once.
	for _, r := range []intakev1.RevealReason{intakev1.RevealReason_REVEAL_REASON_UNSPECIFIED, intakev1.RevealReason(99)} {
		_, err := h.caseFile.RevealComplainant(agent, &intakev1.RevealComplainantRequest{CaseId: id, Reason: r})
		if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "reason") {
			t.Errorf("reveal with reason %d: %v, want InvalidArgument naming reason", r, err)
		}
	}
	if _, err := h.caseFile.RevealComplainant(admin, &intakev1.RevealComplainantRequest{CaseId: id, Reason: intakev1.RevealReason_REVEAL_REASON_CONTACT}); code(err) != codes.PermissionDenied {
		t.Errorf("administrator reveals: %v, want PermissionDenied", err)
	}
	if n := len(h.auditCount(id, "complainant.revealed")); n != 0 {
		t.Fatalf("refused reveals wrote %d entries", n)
	}
	shown, err := h.caseFile.RevealComplainant(agent, &intakev1.RevealComplainantRequest{CaseId: id, Reason: intakev1.RevealReason_REVEAL_REASON_VERIFY})
	if err != nil {
		t.Fatal(err)
	}
	if p := shown.GetComplainant(); p.GetName() != "Zhang San" || p.GetPhone() != "+8613800138000" || p.GetEmail() != "zhang.san@example.com" {
		t.Fatalf("revealed %+v", p)
	}
	if recs := h.auditCount(id, "complainant.revealed"); len(recs) != 1 || recs[0].Actor != "agent.li" || recs[0].Details["reason"] != "verify" {
		t.Fatalf("reveal entries: %+v", recs)
	}

	// Timeline: the case's audit chain, newest first: the reveal on top,
	// the submission last.
	tl, err := h.caseFile.ListCaseTimeline(admin, &intakev1.ListCaseTimelineRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	entries := tl.GetEntries()
	chain, err := audit.ForObject(h.ctx, h.db, "case", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(chain) || len(entries) < 4 || entries[0].GetAction() != "complainant.revealed" || entries[len(entries)-1].GetAction() != "case.submitted" {
		t.Fatalf("timeline: %v", entries)
	}
	for i, e := range entries {
		if r := chain[len(chain)-1-i]; e.GetAction() != r.Action || e.GetActor() != r.Actor || !e.GetAt().AsTime().Equal(r.At) {
			t.Errorf("timeline entry %d is %v, want the chain's %s by %s", i, e, r.Action, r.Actor)
		}
		if d := e.GetDetailsJson(); d != "" && !json.Valid([]byte(d)) {
			t.Errorf("details of %s are not JSON: %q", e.GetAction(), d)
		}
	}
	if !strings.Contains(entries[0].GetDetailsJson(), `"reason":"verify"`) || entries[0].GetActor() != "agent.li" {
		t.Errorf("reveal in the timeline: %+v", entries[0])
	}

	// Attachments: listed to case.read, downloaded with case.reveal, audited.
	list, err := h.caseFile.ListAttachments(admin, &intakev1.ListAttachmentsRequest{CaseId: id})
	if err != nil || len(list.GetAttachments()) != 1 || list.GetErased() {
		t.Fatalf("attachments: %v %v", list, err)
	}
	a := list.GetAttachments()[0]
	sum := sha256.Sum256(evidence)
	if a.GetFileName() != "sms-zhang-san.txt" || a.GetContentType() != "text/plain" || a.GetSizeBytes() != int64(len(evidence)) ||
		a.GetSha256() != hex.EncodeToString(sum[:]) || a.GetCreatedAt() == nil {
		t.Fatalf("attachment listed as %+v", a)
	}
	download := func(ctx context.Context, caseID, attID string) (*intakev1.DownloadAttachmentResponse, error) {
		return h.caseFile.DownloadAttachment(ctx, &intakev1.DownloadAttachmentRequest{CaseId: caseID, AttachmentId: attID})
	}
	if _, err := download(admin, id, a.GetId()); code(err) != codes.PermissionDenied {
		t.Errorf("administrator downloads: %v, want PermissionDenied", err)
	}
	if _, err := download(agent, id, "x"); code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "attachment_id") {
		t.Errorf("download of a malformed id: %v, want InvalidArgument naming attachment_id", err)
	}
	if _, err := download(agent, id, uuid.NewString()); code(err) != codes.NotFound {
		t.Errorf("download of an unknown attachment: %v, want NotFound", err)
	}
	if n := len(h.auditCount(id, "attachment.downloaded")); n != 0 {
		t.Fatalf("refused downloads wrote %d entries", n)
	}
	got, err := download(agent, id, a.GetId())
	if err != nil || !bytes.Equal(got.GetContent(), evidence) || got.GetAttachment().GetFileName() != "sms-zhang-san.txt" {
		t.Fatalf("download: %v %v", got.GetAttachment(), err)
	}
	if recs := h.auditCount(id, "attachment.downloaded"); len(recs) != 1 || recs[0].Actor != "agent.li" || recs[0].Details["attachment_id"] != a.GetId() {
		t.Fatalf("download entries: %+v", recs)
	}

	// Another partner finds nothing of the case; its submitter reads its
	// timeline but may not reveal.
	calls := map[string]func(context.Context) error{
		"ListCaseTimeline": func(ctx context.Context) error {
			_, err := h.caseFile.ListCaseTimeline(ctx, &intakev1.ListCaseTimelineRequest{CaseId: id})
			return err
		},
		"ListCaseMessages": func(ctx context.Context) error {
			_, err := h.caseFile.ListCaseMessages(ctx, &intakev1.ListCaseMessagesRequest{CaseId: id})
			return err
		},
		"ListAttachments": func(ctx context.Context) error {
			_, err := h.caseFile.ListAttachments(ctx, &intakev1.ListAttachmentsRequest{CaseId: id})
			return err
		},
	}
	for rpc, call := range calls {
		if err := call(partnerB); code(err) != codes.NotFound {
			t.Errorf("%s on another partner's case: %v, want NotFound", rpc, err)
		}
		if err := call(partnerA); err != nil {
			t.Errorf("%s on its own case: %v", rpc, err)
		}
	}
	if _, err := h.caseFile.RevealComplainant(partnerA, &intakev1.RevealComplainantRequest{CaseId: id, Reason: intakev1.RevealReason_REVEAL_REASON_CONTACT}); code(err) != codes.PermissionDenied {
		t.Errorf("automation reveals: %v, want PermissionDenied", err)
	}

	// Erased: the key is shredded; every answer says so, nothing breaks
	// and nothing more is audited.
	var c records.Case
	var comp records.Complainant
	if err := h.db.Take(&c, "id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	if err := h.db.Take(&comp, "id = ?", c.ComplainantID).Error; err != nil {
		t.Fatal(err)
	}
	if err := h.keys.Shred(h.db, comp.SubjectKeyID); err != nil {
		t.Fatal(err)
	}
	before := len(h.auditCount(id, "complainant.revealed")) + len(h.auditCount(id, "attachment.downloaded"))
	if _, err := h.caseFile.RevealComplainant(agent, &intakev1.RevealComplainantRequest{CaseId: id, Reason: intakev1.RevealReason_REVEAL_REASON_CONTACT}); code(err) != codes.FailedPrecondition {
		t.Errorf("reveal of an erased complainant: %v, want FailedPrecondition", err)
	}
	if _, err := download(agent, id, a.GetId()); code(err) != codes.FailedPrecondition {
		t.Errorf("download after erasure: %v, want FailedPrecondition", err)
	}
	msgs, err = h.caseFile.ListCaseMessages(agent, &intakev1.ListCaseMessagesRequest{CaseId: id})
	if err != nil || len(msgs.GetMessages()) != 2 {
		t.Fatalf("messages after erasure: %v %v", msgs, err)
	}
	for _, m := range msgs.GetMessages() {
		if !m.GetErased() || m.GetBody() != "" {
			t.Errorf("message after erasure: %+v", m)
		}
	}
	list, err = h.caseFile.ListAttachments(agent, &intakev1.ListAttachmentsRequest{CaseId: id})
	if err != nil || !list.GetErased() || len(list.GetAttachments()) != 1 || list.GetAttachments()[0].GetFileName() != "[erased]" {
		t.Errorf("attachments after erasure: %v %v", list, err)
	}
	if after := len(h.auditCount(id, "complainant.revealed")) + len(h.auditCount(id, "attachment.downloaded")); after != before {
		t.Errorf("refused reveal or download after erasure wrote %d entries", after-before)
	}
}
