package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
)

// Gateway hands messages to intake. Its calls carry the gateway's own
// credential (set on the connection).
type Gateway struct {
	Intake  intakev1.IntakeServiceClient
	Inbound intakev1.InboundServiceClient
	Log     *slog.Logger
}

// Outcome is what became of one message.
type Outcome string

// The outcomes of a message.
const (
	Ignored  Outcome = "ignored"  // sent by a machine: opens nothing, never answered
	Answered Outcome = "answered" // added to the case it answers
	Opened   Outcome = "opened"   // opened a case
	Repeated Outcome = "repeated" // seen before: nothing new
	Refused  Outcome = "refused"  // intake refused it for good (no address to answer to, ...)
)

// HandleMail takes one raw mail. An error means intake could not be
// reached or refused for now: the mail is to be tried again; every other
// outcome is final.
func (g *Gateway) HandleMail(ctx context.Context, raw []byte) (Outcome, error) {
	m, err := ParseMail(raw)
	if err != nil {
		g.Log.Warn("inbound mail unreadable", "size", len(raw))
		return Refused, nil
	}
	if m.Automatic != "" {
		g.Log.Info("inbound mail sent by a machine: ignored", "why", m.Automatic)
		return Ignored, nil
	}
	id := m.MessageID
	if id == "" { // the mail itself is its identity
		sum := sha256.Sum256(raw)
		id = "<sha256-" + hex.EncodeToString(sum[:16]) + "@inbound>"
	}
	body := m.Text
	if body == "" {
		body = "(" + m.Subject + ")"
	}
	number := CaseNumber(m.Subject)
	if len(m.References) > 0 || number != "" {
		refs := m.References
		if len(refs) > 100 {
			refs = refs[len(refs)-100:]
		}
		resp, err := g.Inbound.ComplainantWrote(ctx, &intakev1.ComplainantWroteRequest{
			Channel: intakev1.Channel_CHANNEL_EMAIL, ExternalId: id, References: refs, CaseNumber: number,
			Sender: m.From, Body: body, Attachments: uploads(m.Attachments),
		})
		switch status.Code(err) {
		case codes.OK:
			if skipped := m.Skipped; skipped > 0 || resp.GetAttachmentsRefused() != "" {
				if resp.GetAttachmentsRefused() != "" { // the text is on the case, the files not
					skipped += len(m.Attachments)
				}
				g.Log.Info("inbound mail: attachments of an answer not kept", "case_id", resp.GetCaseId(), "skipped", skipped)
			}
			return g.done(resp.GetReplayed(), Answered, "mail", resp.GetCaseId()), nil
		case codes.NotFound: // answers no case of the sender's: a new complaint
		case codes.InvalidArgument, codes.FailedPrecondition:
			g.Log.Warn("inbound mail refused by intake", "code", status.Code(err).String())
			return Refused, nil
		default:
			return "", err
		}
	}
	req := &intakev1.SubmitComplaintRequest{
		IdempotencyKey: idempotencyKey("mail", id), Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
		Category: intakev1.Category_CATEGORY_OTHER, Channel: intakev1.Channel_CHANNEL_EMAIL,
		Complainant: &intakev1.Complainant{Name: truncate(m.Name, 100), Email: m.From, PreferredContact: "email"},
		Description: description(m.Subject, body), Language: m.Language, SourceMessageId: id,
	}
	if len(id) > 998 {
		req.SourceMessageId = ""
	}
	req.Attachments = uploads(m.Attachments)
	return g.submit(ctx, req, "mail", m.Skipped)
}

// uploads are a mail's files as intake takes them.
func uploads(as []Attachment) []*intakev1.AttachmentUpload {
	var out []*intakev1.AttachmentUpload
	for _, a := range as {
		out = append(out, &intakev1.AttachmentUpload{FileName: a.Name, ContentType: a.ContentType, Content: a.Content})
	}
	return out
}

// submit opens a case; a refusal of its attachments (a type that does not
// match its content) is retried without them rather than losing the
// complaint.
func (g *Gateway) submit(ctx context.Context, req *intakev1.SubmitComplaintRequest, via string, skipped int) (Outcome, error) {
	resp, err := g.Intake.SubmitComplaint(ctx, req)
	if status.Code(err) == codes.InvalidArgument && len(req.Attachments) > 0 && strings.Contains(err.Error(), "attachments") {
		skipped += len(req.Attachments)
		req.Attachments = nil
		req.IdempotencyKey += ".t"
		resp, err = g.Intake.SubmitComplaint(ctx, req)
	}
	switch status.Code(err) {
	case codes.OK:
	case codes.InvalidArgument, codes.PermissionDenied, codes.FailedPrecondition:
		// The field named, never its value.
		g.Log.Warn("inbound "+via+" refused by intake", "code", status.Code(err).String(), "reason", fieldOf(err))
		return Refused, nil
	default:
		return "", err
	}
	if skipped > 0 {
		g.Log.Info("inbound "+via+": attachments not kept", "case_id", resp.GetCase().GetId(), "skipped", skipped)
	}
	return g.done(resp.GetReplayed(), Opened, via, resp.GetCase().GetId()), nil
}

func (g *Gateway) done(replayed bool, o Outcome, via, caseID string) Outcome {
	if replayed {
		o = Repeated
	}
	g.Log.Info("inbound "+via, "outcome", string(o), "case_id", caseID)
	return o
}

// idempotencyKey is the submission's key for a message id: the same
// message always submits under the same key (intake's limit: 128 of
// [A-Za-z0-9._:-]).
func idempotencyKey(via, id string) string {
	sum := sha256.Sum256([]byte(id))
	return via + ":" + hex.EncodeToString(sum[:20])
}

// description is the complaint's text: the subject, then the body.
func description(subject, body string) string {
	if subject = strings.TrimSpace(subject); subject == "" || strings.Contains(body, subject) {
		return truncate(body, maxText)
	}
	return truncate(subject+"\n\n"+body, maxText)
}

// fieldOf is the first field an INVALID_ARGUMENT names ("invalid request:
// field: reason"), for the log: the reason may quote nothing personal but
// is left out all the same.
func fieldOf(err error) string {
	msg := status.Convert(err).Message()
	msg = strings.TrimPrefix(msg, "invalid request: ")
	field, _, _ := strings.Cut(msg, ":")
	if len(field) > 40 || strings.ContainsAny(field, " @+") {
		return ""
	}
	return field
}
