package intake

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/records"
)

// pngFile is the smallest content that sniffs as a PNG.
var pngFile = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...)

func (s *Server) countRows(t *testing.T, table, caseID string) int64 {
	t.Helper()
	var n int64
	q := map[string]string{
		"attachments":    `SELECT count(*) FROM attachments WHERE case_id = ?`,
		"case_messages":  `SELECT count(*) FROM case_messages WHERE case_id = ?`,
		"attachment.add": `SELECT count(*) FROM audit_entries WHERE action = 'attachment.added' AND object_id = ?`,
	}[table]
	if err := s.db.Raw(q, caseID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Files an agent adds pass the submission's checks, all or none: a file too
// large, of a type not allowed, or not what it declares refuses the whole
// call, naming the file, and writes nothing.
func TestAddAttachmentsAllOrNothing(t *testing.T) {
	srv, _ := newTestServer(t)
	ctx := access.WithActor(context.Background(), "agent.li")
	sub, err := srv.SubmitComplaint(ctx, testRequest("attach-0001"))
	if err != nil {
		t.Fatal(err)
	}
	id := sub.GetCase().GetId()
	good := &intakev1.AttachmentUpload{FileName: "later.txt", ContentType: "text/plain", Content: []byte("another SMS")}
	for _, c := range []struct {
		name  string
		files []*intakev1.AttachmentUpload
		field string
	}{
		{"none", nil, "attachments: at least one file"},
		{"too large", []*intakev1.AttachmentUpload{good, {FileName: "big.txt", ContentType: "text/plain", Content: bytes.Repeat([]byte("a"), maxAttachmentBytes+1)}},
			"attachments[1].content: is larger than 2 MiB"},
		{"type not allowed", []*intakev1.AttachmentUpload{{FileName: "x.zip", ContentType: "application/zip", Content: []byte("PK")}}, "attachments[0].content_type"},
		{"not what it declares", []*intakev1.AttachmentUpload{good, {FileName: "shot.png", ContentType: "image/png", Content: []byte("hello")}},
			"attachments[1].content: does not look like image/png"},
		{"path in the name", []*intakev1.AttachmentUpload{{FileName: "../x.txt", ContentType: "text/plain", Content: []byte("x")}}, "attachments[0].file_name"},
	} {
		_, err := srv.CaseFile().AddAttachments(ctx, &intakev1.AddAttachmentsRequest{CaseId: id, Attachments: c.files})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want InvalidArgument naming %s", c.name, err, c.field)
		}
	}
	if n, a := srv.countRows(t, "attachments", id), srv.countRows(t, "attachment.add", id); n != 1 || a != 0 {
		t.Fatalf("after refusals: %d attachments (want the submission's 1), %d attachment.added entries", n, a)
	}

	got, err := srv.CaseFile().AddAttachments(ctx, &intakev1.AddAttachmentsRequest{CaseId: id,
		Attachments: []*intakev1.AttachmentUpload{good, {FileName: "截图.png", ContentType: "image/png", Content: pngFile}}})
	if err != nil || len(got.GetAttachments()) != 2 {
		t.Fatalf("add: %v %v", got, err)
	}
	var row records.Attachment
	if err := srv.db.Take(&row, "id = ?", got.GetAttachments()[0].GetId()).Error; err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(row.ContentEnc, good.Content) || bytes.Contains(row.FileNameEnc, []byte("later")) || row.SizeBytes != int64(len(good.Content)) {
		t.Fatalf("stored in the clear or wrongly: %+v", row)
	}
	dl, err := srv.CaseFile().DownloadAttachment(ctx, &intakev1.DownloadAttachmentRequest{CaseId: id, AttachmentId: got.GetAttachments()[1].GetId()})
	if err != nil || !bytes.Equal(dl.GetContent(), pngFile) || dl.GetAttachment().GetFileName() != "截图.png" {
		t.Fatalf("download: %v %v", dl.GetAttachment(), err)
	}
	var audited int64
	srv.db.Raw(`SELECT count(*) FROM audit_entries WHERE action = 'attachment.added' AND object_id = ? AND actor = 'agent.li'
		AND details::jsonb->>'via' = 'agent'`, id).Scan(&audited)
	if audited != 2 {
		t.Fatalf("%d attachment.added entries by agent.li, want 2", audited)
	}
}

// With its case number and lookup code, the complainant reads what was
// written to them and by them — not internal notes, not drafts, not another
// case's messages — and writes to the case; a wrong code and an unknown
// number answer the same NOT_FOUND and write nothing. The code, not the
// public site's confinement to its own submissions, opens the case.
func TestConversationByNumberAndCode(t *testing.T) {
	srv, _ := newTestServer(t)
	agent := access.WithActor(context.Background(), "agent.li")
	site := access.WithPrincipal(access.WithActor(context.Background(), "public-web"), access.Principal{ID: "public-web", Role: access.PublicSite})
	first := testRequest("conv-0001")
	first.Language = "en-GB"                    // the status page speaks it
	a, err := srv.SubmitComplaint(agent, first) // filed by an agent: the site did not submit it
	if err != nil {
		t.Fatal(err)
	}
	b, err := srv.SubmitComplaint(agent, testRequest("conv-0002"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := srv.caseRow(agent, a.GetCase().GetId())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ kind, state, body string }{
		{records.MessageNote, records.MessageCommitted, "internal: looks like fraud"},
		{records.MessageReply, records.MessageCommitted, "We have blocked the sender."},
		{records.MessageInformationRequest, records.MessageDraft, "a draft never sent"},
		{records.MessageReopenReason, records.MessageCommitted, "internal: reopened"},
	} {
		if err := srv.insertMessage(srv.db, ca, uuid.NewString(), m.kind, m.state, "agent.li", m.body); err != nil {
			t.Fatal(err)
		}
	}
	ps := srv.PublicStatus()
	if _, err := ps.AnswerCase(site, &intakev1.AnswerCaseRequest{CaseNumber: b.GetCase().GetCaseNumber(), LookupCode: b.GetLookupCode(),
		Body: "the other case's message"}); err != nil {
		t.Fatal(err)
	}
	ans, err := ps.AnswerCase(site, &intakev1.AnswerCaseRequest{CaseNumber: strings.ToLower(a.GetCase().GetCaseNumber()), LookupCode: a.GetLookupCode(),
		Body: "Here is the number that texts me."})
	if err != nil || ans.GetState() != intakev1.CaseState_CASE_STATE_RECEIVED {
		t.Fatalf("answer: %v %v", ans, err)
	}
	conv, err := ps.GetConversation(site, &intakev1.GetConversationRequest{CaseNumber: a.GetCase().GetCaseNumber(), LookupCode: a.GetLookupCode()})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, m := range conv.GetMessages() {
		seen = append(seen, m.GetKind()+": "+m.GetBody())
	}
	want := []string{"reply: We have blocked the sender.", "complainant_response: Here is the number that texts me."}
	if strings.Join(seen, "|") != strings.Join(want, "|") || conv.GetStatus().GetCaseNumber() != a.GetCase().GetCaseNumber() {
		t.Fatalf("conversation %q, want %q", seen, want)
	}
	if got := conv.GetStatus().GetLanguage(); got != "en" {
		t.Fatalf("the case's language answers %q, want en", got)
	}
	var actor string
	srv.db.Raw(`SELECT actor FROM audit_entries WHERE action = 'case.complainant_wrote' AND object_id = ?`, ca.ID).Scan(&actor)
	if actor != "complainant" {
		t.Fatalf("the answer is recorded as written by %q, want complainant", actor)
	}

	msgs, atts := srv.countRows(t, "case_messages", ca.ID), srv.countRows(t, "attachments", ca.ID)
	wrong, unknown := a.GetCase().GetCaseNumber(), "C-2099-999999"
	for _, c := range []struct{ number, code string }{{wrong, b.GetLookupCode()}, {wrong, "WRONGCODE"}, {unknown, a.GetLookupCode()}} {
		_, e1 := ps.GetConversation(site, &intakev1.GetConversationRequest{CaseNumber: c.number, LookupCode: c.code})
		_, e2 := ps.AnswerCase(site, &intakev1.AnswerCaseRequest{CaseNumber: c.number, LookupCode: c.code, Body: "let me in"})
		_, e3 := ps.AddEvidence(site, &intakev1.AddEvidenceRequest{CaseNumber: c.number, LookupCode: c.code,
			Attachments: []*intakev1.AttachmentUpload{{FileName: "x.txt", ContentType: "text/plain", Content: []byte("x")}}})
		for _, err := range []error{e1, e2, e3} {
			if err == nil || err.Error() != errNoMatch.Error() {
				t.Errorf("%s with code %s: %v, want the one NOT_FOUND", c.number, c.code, err)
			}
		}
	}
	if m, n := srv.countRows(t, "case_messages", ca.ID), srv.countRows(t, "attachments", ca.ID); m != msgs || n != atts {
		t.Fatalf("a wrong code wrote: messages %d→%d, attachments %d→%d", msgs, m, atts, n)
	}
	ev, err := ps.AddEvidence(site, &intakev1.AddEvidenceRequest{CaseNumber: a.GetCase().GetCaseNumber(), LookupCode: a.GetLookupCode(),
		Attachments: []*intakev1.AttachmentUpload{{FileName: "sms.png", ContentType: "image/png", Content: pngFile}}})
	if err != nil || len(ev.GetAttachments()) != 1 {
		t.Fatalf("evidence with the code: %v %v", ev, err)
	}
	srv.db.Raw(`SELECT actor FROM audit_entries WHERE action = 'attachment.added' AND object_id = ? AND details::jsonb->>'via' = 'status_page'`, ca.ID).Scan(&actor)
	if actor != "complainant" {
		t.Fatalf("the evidence is recorded as added by %q, want complainant", actor)
	}
}
