package intake

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/records"
)

// What a complainant writes while the case does not await them is kept as
// their message, sealed and audited; the case's state does not move.
func TestComplainantWroteOutsideAnInformationRequest(t *testing.T) {
	srv, _ := newTestServer(t)
	ctx := access.WithActor(context.Background(), "mail-gateway")
	sub, err := srv.SubmitComplaint(ctx, testRequest("wrote-0001"))
	if err != nil {
		t.Fatal(err)
	}
	c, id, err := srv.complainantWrote(ctx, sub.GetCase().GetId(), "email", "Another SMS came this morning.")
	if err != nil {
		t.Fatal(err)
	}
	if c.GetState() != sub.GetCase().GetState() {
		t.Fatalf("state moved from %v to %v", sub.GetCase().GetState(), c.GetState())
	}
	var m records.CaseMessage
	if err := srv.db.Take(&m, "id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	if m.Kind != records.MessageComplainantResponse || m.Status != records.MessageCommitted || len(m.BodyEnc) == 0 {
		t.Fatalf("message stored as %+v", m)
	}
	var audited int64
	srv.db.Raw(`SELECT count(*) FROM audit_entries WHERE action = 'case.complainant_wrote' AND object_id = ? AND details::jsonb->>'via' = 'email'`,
		c.GetId()).Scan(&audited)
	if audited != 1 {
		t.Fatalf("%d audit entries, want 1", audited)
	}
}

// The inbound gateway adds a mail or SMS to the case it answers — a notice
// of ours it references, or the case number when the sender is the case's
// complainant — once per message; anything else is not its case.
func TestInboundFindsTheAnsweredCaseOnce(t *testing.T) {
	srv, _ := newTestServer(t)
	sub, err := srv.SubmitComplaint(access.WithActor(context.Background(), "public-web"), testRequest("inbound-0001"))
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	gw := access.WithPrincipal(context.Background(), access.Principal{ID: "svc.inbound", Role: access.InboundGateway})
	in := srv.Inbound()
	mail := func(id, sender, number string, refs ...string) (*intakev1.ComplainantWroteResponse, error) {
		return in.ComplainantWrote(gw, &intakev1.ComplainantWroteRequest{Channel: intakev1.Channel_CHANNEL_EMAIL,
			ExternalId: id, Sender: sender, CaseNumber: number, References: refs, Body: "One more SMS today."})
	}
	got, err := mail("<a1@example.com>", "Wang@Example.com", c.GetCaseNumber())
	if err != nil || got.GetCaseId() != c.GetId() || got.GetReplayed() {
		t.Fatalf("by case number from the complainant: %v, %v", got, err)
	}
	again, err := mail("<a1@example.com>", "wang@example.com", c.GetCaseNumber())
	if err != nil || !again.GetReplayed() || again.GetMessageId() != got.GetMessageId() {
		t.Fatalf("the same mail again: %v, %v", again, err)
	}
	if _, err := mail("<a2@example.com>", "someone@example.org", c.GetCaseNumber()); status.Code(err) != codes.NotFound {
		t.Fatalf("case number from another sender: %v, want NotFound", err)
	}
	// A reply to our acknowledgement finds the case whoever sends it.
	if err := srv.db.Create(&records.Notification{ID: uuid.NewString(), CaseID: c.GetId(), Kind: "acknowledgement",
		DedupeKey: c.GetId() + "/acknowledgement", Status: "sent", CreatedAt: time.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	byRef, err := mail("<a3@example.com>", "other@example.org", "", "<x@elsewhere>", "<"+c.GetId()+"/acknowledgement@redress>")
	if err != nil || byRef.GetCaseId() != c.GetId() {
		t.Fatalf("by reference: %v, %v", byRef, err)
	}
	sms := func(id, phone string) (*intakev1.ComplainantWroteResponse, error) {
		return in.ComplainantWrote(gw, &intakev1.ComplainantWroteRequest{Channel: intakev1.Channel_CHANNEL_SMS,
			ExternalId: id, Sender: phone, CaseNumber: c.GetCaseNumber(), Body: "still coming"})
	}
	if got, err := sms("sms-1", "+8613800138000"); err != nil || got.GetCaseId() != c.GetId() {
		t.Fatalf("SMS from the complainant's phone: %v, %v", got, err)
	}
	if _, err := sms("sms-2", "+8613900139000"); status.Code(err) != codes.NotFound {
		t.Fatalf("SMS from another phone: %v, want NotFound", err)
	}
	var n int64
	srv.db.Model(&records.CaseMessage{}).Where("case_id = ? AND kind = ?", c.GetId(), records.MessageComplainantResponse).Count(&n)
	if n != 3 {
		t.Fatalf("%d complainant messages, want 3", n)
	}
	if _, err := in.ComplainantWrote(gw, &intakev1.ComplainantWroteRequest{Channel: intakev1.Channel_CHANNEL_API,
		ExternalId: "x", Sender: "a@b.c", Body: "x"}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "channel") {
		t.Fatalf("channel api: %v", err)
	}
}

// The gateway's account submits mail and SMS complaints only, and a mail's
// Message-ID is kept sealed with the case.
func TestInboundGatewaySubmitsMailAndSMSOnly(t *testing.T) {
	srv, _ := newTestServer(t)
	gw := access.WithPrincipal(context.Background(), access.Principal{ID: "svc.inbound", Role: access.InboundGateway})
	if _, err := srv.SubmitComplaint(gw, testRequest("inbound-api-1")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("API channel from the gateway: %v, want PermissionDenied", err)
	}
	req := testRequest("inbound-mail-1")
	req.Channel, req.SourceMessageId = intakev1.Channel_CHANNEL_EMAIL, "<first@example.com>"
	sub, err := srv.SubmitComplaint(gw, req)
	if err != nil {
		t.Fatal(err)
	}
	var c records.Case
	if err := srv.db.Take(&c, "id = ?", sub.GetCase().GetId()).Error; err != nil {
		t.Fatal(err)
	}
	if len(c.SourceMessageIDEnc) == 0 || strings.Contains(string(c.SourceMessageIDEnc), "first@example.com") {
		t.Fatalf("source Message-ID stored as %q", c.SourceMessageIDEnc)
	}
	req = testRequest("inbound-sms-1")
	req.Channel, req.SourceMessageId = intakev1.Channel_CHANNEL_SMS, "<first@example.com>"
	if _, err := srv.SubmitComplaint(gw, req); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "source_message_id") {
		t.Fatalf("source_message_id on an SMS: %v", err)
	}
}

// When the complainant writes, the case's assignee is alerted, the
// supervisors while it has none: the case number and a link, never the text.
func TestComplainantWroteAlertsTheAssignee(t *testing.T) {
	srv, _ := newTestServer(t)
	store := &alerts.Store{DB: srv.db, Log: srv.log}
	srv.alerts = alerts.Local{Store: store}
	ids := &identity.Store{DB: srv.db, Log: srv.log}
	for u, r := range map[string]access.Role{"agent.li": access.Agent, "agent.wu": access.Agent, "sup.wang": access.Supervisor} {
		if _, err := ids.AddUser(context.Background(), "test", identity.NewUser{Username: u, Role: r, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := access.WithActor(context.Background(), "mail-gateway")
	sub, err := srv.SubmitComplaint(ctx, testRequest("wrote-alert-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	const text = "My neighbour Zhang San got the same SMS."
	if _, _, err := srv.complainantWrote(ctx, c.GetId(), "email", text); err != nil {
		t.Fatal(err)
	}
	if err := srv.db.Model(&records.Case{}).Where("id = ?", c.GetId()).Update("assignee", "agent.li").Error; err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.complainantWrote(ctx, c.GetId(), "sms", text); err != nil {
		t.Fatal(err)
	}
	var got []alerts.Alert
	srv.db.Order("id").Find(&got, "kind = ?", alerts.ComplainantWrote)
	if len(got) != 2 || got[0].Recipient != "sup.wang" || got[1].Recipient != "agent.li" {
		t.Fatalf("alerts %+v, want sup.wang (unassigned) then agent.li", got)
	}
	for _, a := range got {
		if a.SubjectRef != c.GetCaseNumber() || a.Link != "/cases/"+c.GetId() || strings.Contains(a.Note, "Zhang") {
			t.Fatalf("alert %+v: want the case number and link, never the text", a)
		}
	}
}

// Files mailed with an answer are added to its case as addAttachments adds
// them; a refused set adds none of its files and the text is kept all the
// same, the refusal answered beside it. An SMS carries no files.
func TestInboundAddsAMailsAttachments(t *testing.T) {
	srv, _ := newTestServer(t)
	sub, err := srv.SubmitComplaint(access.WithActor(context.Background(), "public-web"), testRequest("inbound-att-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	gw := access.WithPrincipal(context.Background(), access.Principal{ID: "svc.inbound", Role: access.InboundGateway})
	mail := func(id string, files ...*intakev1.AttachmentUpload) *intakev1.ComplainantWroteResponse {
		t.Helper()
		res, err := srv.Inbound().ComplainantWrote(gw, &intakev1.ComplainantWroteRequest{Channel: intakev1.Channel_CHANNEL_EMAIL,
			ExternalId: id, Sender: "wang@example.com", CaseNumber: c.GetCaseNumber(), Body: "The SMS is attached.", Attachments: files})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	count := func(model any, where string) (n int64) {
		srv.db.Model(model).Where("case_id = ?", c.GetId()).Where(where).Count(&n)
		return n
	}
	before := count(&records.Attachment{}, "true")
	ok := mail("<att1@example.com>", &intakev1.AttachmentUpload{FileName: "sms.txt", ContentType: "text/plain", Content: []byte("Your parcel...")})
	if len(ok.GetAttachments()) != 1 || ok.GetAttachmentsRefused() != "" || count(&records.Attachment{}, "true") != before+1 {
		t.Fatalf("a good file: %v", ok)
	}
	var via string
	srv.db.Raw(`SELECT details::jsonb->>'via' FROM audit_entries WHERE action = 'attachment.added' AND details::jsonb->>'attachment_id' = ?`,
		ok.GetAttachments()[0].GetId()).Scan(&via)
	if via != "email" {
		t.Fatalf("attachment added via %q, want email", via)
	}
	bad := mail("<att2@example.com>",
		&intakev1.AttachmentUpload{FileName: "fine.txt", ContentType: "text/plain", Content: []byte("fine")},
		&intakev1.AttachmentUpload{FileName: "photo.png", ContentType: "image/png", Content: []byte("not a png")})
	if len(bad.GetAttachments()) != 0 || !strings.Contains(bad.GetAttachmentsRefused(), "attachments[1].content") {
		t.Fatalf("a refused set: %v", bad)
	}
	if n := count(&records.Attachment{}, "true"); n != before+1 {
		t.Fatalf("%d attachments after a refused set, want %d", n, before+1)
	}
	if n := count(&records.CaseMessage{}, "id = '"+bad.GetMessageId()+"'"); n != 1 {
		t.Fatal("the text of a mail whose files were refused is lost")
	}
	_, err = srv.Inbound().ComplainantWrote(gw, &intakev1.ComplainantWroteRequest{Channel: intakev1.Channel_CHANNEL_SMS,
		ExternalId: "sms-att", Sender: "+8613800138000", CaseNumber: c.GetCaseNumber(), Body: "x",
		Attachments: []*intakev1.AttachmentUpload{{FileName: "a.txt", ContentType: "text/plain", Content: []byte("a")}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "attachments") {
		t.Fatalf("an SMS with files: %v", err)
	}
}
