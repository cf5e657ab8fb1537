package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
	"github.com/redress/redress/workflows/complaint"
)

// complainantWrote adds what the complainant wrote (by mail, by SMS, on the
// status page) to the case. While the case awaits the complainant it is the
// answer asked for: the workflow records it and the clock resumes. Otherwise
// it is kept, with its audit entry, as a message from the complainant for the
// agent to read; the state does not change. Either way the case's assignee
// (the supervisors while it has none) is alerted. via names the channel
// ("email", "sms", "status_page"); the message's id is answered.
func (s *Server) complainantWrote(ctx context.Context, caseID, via, body string) (*intakev1.Case, string, error) {
	out, id, err := s.keepComplainantMessage(ctx, caseID, via, body)
	if err == nil {
		s.alertWrote(ctx, caseID, via, id)
	}
	return out, id, err
}

// alertWrote tells the case's assignee, or the supervisors, that the
// complainant wrote: the case number, the channel and a link, never the
// text. The message is kept already: a failed alert is logged, not
// answered (a retry of the message would add it twice).
func (s *Server) alertWrote(ctx context.Context, caseID, via, messageID string) {
	if s.alerts == nil {
		return
	}
	var c records.Case
	err := s.db.WithContext(ctx).Select("id", "case_number", "assignee").Take(&c, "id = ?", caseID).Error
	if err == nil {
		err = s.alerts.Raise(ctx, alerts.Event{Kind: alerts.ComplainantWrote, Key: "case/" + caseID + "/wrote/" + messageID,
			SubjectType: "case", SubjectRef: c.CaseNumber, Note: "the complainant wrote (" + via + ")",
			Link: "/cases/" + caseID, Assignee: c.Assignee})
	}
	if err != nil {
		s.log.Error("alert: complainant wrote", "case_id", caseID, "err", err)
	}
}

func (s *Server) keepComplainantMessage(ctx context.Context, caseID, via, body string) (*intakev1.Case, string, error) {
	c, err := s.caseRow(ctx, caseID)
	if err != nil {
		return nil, "", err
	}
	if complaint.State(c.State).Allowed(complaint.UpdateComplainantReplied) {
		return s.actWithMessage(ctx, caseID, complaint.UpdateComplainantReplied, records.MessageComplainantResponse, body, complaint.Action{})
	}
	id := uuid.NewString()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.insertMessage(tx, c, id, records.MessageComplainantResponse, records.MessageCommitted, access.Actor(ctx), body); err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{
			Actor: access.Actor(ctx), Action: "case.complainant_wrote", ObjectType: "case", ObjectID: c.ID,
			AfterDigest: audit.Digest(map[string]any{"message_id": id, "body_digest": s.keys.TextDigest(body)}),
			Details:     map[string]any{"message_id": id, "via": via, "state": c.State},
		})
		return err
	})
	if err != nil {
		s.log.Error("store complainant message", "case_id", c.ID, "err", err)
		return nil, "", status.Error(codes.Unavailable, "the message could not be saved; retry")
	}
	out, err := s.loadCase(ctx, caseID)
	return out, id, err
}

// Inbound implements intakev1.InboundServiceServer: what complainants send
// by mail and SMS, as the inbound gateway receives it.
type Inbound struct {
	intakev1.UnimplementedInboundServiceServer
	s *Server
}

// Inbound is the server's InboundService.
func (s *Server) Inbound() *Inbound { return &Inbound{s: s} }

// ourMessageIDDomain is the right-hand side of the Message-IDs of our
// notices (notify.MessageID): the left-hand side is the notice's dedupe key.
const ourMessageIDDomain = "@redress>"

// ComplainantWrote adds a mail or SMS to the case it answers (see the
// proto). The message is recorded before its key: a failure between the two
// may, on the gateway's retry, add it a second time, never lose it.
func (in *Inbound) ComplainantWrote(ctx context.Context, req *intakev1.ComplainantWroteRequest) (*intakev1.ComplainantWroteResponse, error) {
	if err := validateWrote(req); err != nil {
		return nil, err
	}
	via := channelName(req.GetChannel())
	key := in.s.keys.Fingerprint([]byte(via + "\x00" + req.GetExternalId()))
	dbc := in.s.db.WithContext(ctx)
	var seen records.InboundMessage
	switch err := dbc.Take(&seen, "key = ?", key).Error; {
	case err == nil:
		var c records.Case
		if err := dbc.Select("id", "case_number").Take(&c, "id = ?", seen.CaseID).Error; err != nil {
			return nil, status.Error(codes.Unavailable, "read case failed; retry")
		}
		return &intakev1.ComplainantWroteResponse{CaseId: c.ID, CaseNumber: c.CaseNumber, MessageId: seen.MessageID, Replayed: true}, nil
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return nil, status.Error(codes.Unavailable, "inbound check failed; retry")
	}
	c, err := in.s.answeredCase(ctx, req)
	if err != nil {
		return nil, err
	}
	// The gateway's account sees only the cases it submitted; the case
	// found here it may write to.
	found := withCaseFound(ctx)
	_, id, err := in.s.complainantWrote(found, c.ID, via, req.GetBody())
	if err != nil {
		return nil, err
	}
	res := &intakev1.ComplainantWroteResponse{CaseId: c.ID, CaseNumber: c.CaseNumber, MessageId: id}
	if files := req.GetAttachments(); len(files) > 0 {
		// The text is kept whatever becomes of the files: a refused set
		// (none of it added) is answered beside it. A failure to store
		// them is answered, so the gateway sends the mail again.
		atts, err := in.s.addAttachments(found, c.ID, via, files)
		switch status.Code(err) {
		case codes.OK:
			res.Attachments = atts
		case codes.InvalidArgument, codes.FailedPrecondition:
			res.AttachmentsRefused = status.Convert(err).Message()
		default:
			return nil, err
		}
	}
	row := records.InboundMessage{Key: key, CaseID: c.ID, MessageID: id, ReceivedAt: in.s.now().UTC()}
	if err := dbc.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		in.s.log.Error("record inbound message", "case_id", c.ID, "err", err)
	}
	return res, nil
}

// validateWrote checks the message; its attachments are checked when they
// are added, so that a bad file does not refuse the text.
func validateWrote(req *intakev1.ComplainantWroteRequest) error {
	var e validation.Errors
	text := &intakev1.ComplainantWroteRequest{Channel: req.GetChannel(), ExternalId: req.GetExternalId(),
		References: req.GetReferences(), CaseNumber: req.GetCaseNumber(), Sender: req.GetSender(), Body: req.GetBody()}
	if e.UTF8(text); !e.Empty() {
		return e.Err()
	}
	if req.GetChannel() == intakev1.Channel_CHANNEL_SMS && len(req.GetAttachments()) > 0 {
		e.Add("attachments", "an SMS carries none")
	}
	email := req.GetChannel() == intakev1.Channel_CHANNEL_EMAIL
	switch {
	case !email && req.GetChannel() != intakev1.Channel_CHANNEL_SMS:
		e.Add("channel", "must be email or sms")
	case email:
		e.Email("sender", req.GetSender())
	default:
		e.Phone("sender", req.GetSender())
	}
	if req.GetSender() == "" {
		e.Add("sender", "is required")
	}
	e.Text("external_id", req.GetExternalId(), 1, 998)
	if len(req.GetReferences()) > 100 {
		e.Add("references", "at most 100")
	}
	for i, r := range req.GetReferences() {
		e.Text(fmt.Sprintf("references[%d]", i), r, 1, 998)
	}
	e.Text("case_number", req.GetCaseNumber(), 0, 32)
	e.Text("body", req.GetBody(), 1, maxDescription)
	return e.Err()
}

// answeredCase is the case a message answers: the case of a notice of ours
// it references (only its recipient knows that id), else the case it names
// when the sender is that case's complainant. NOT_FOUND otherwise.
func (s *Server) answeredCase(ctx context.Context, req *intakev1.ComplainantWroteRequest) (records.Case, error) {
	dbc := s.db.WithContext(ctx)
	var keys []string
	for _, r := range req.GetReferences() {
		if k, ok := strings.CutSuffix(r, ourMessageIDDomain); ok && strings.HasPrefix(k, "<") {
			keys = append(keys, k[1:])
		}
	}
	var c records.Case
	if len(keys) > 0 {
		err := dbc.Select("cases.id", "cases.case_number").Joins("JOIN notifications n ON n.case_id = cases.id").
			Where("n.dedupe_key IN ?", keys).Order("n.created_at DESC").Limit(1).Take(&c).Error
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return c, status.Error(codes.Unavailable, "read case failed; retry")
		}
	}
	if number := strings.ToUpper(strings.TrimSpace(req.GetCaseNumber())); number != "" {
		index, column := s.keys.EmailIndex(req.GetSender()), "complainants.email_index"
		if req.GetChannel() == intakev1.Channel_CHANNEL_SMS {
			index, column = s.keys.PhoneIndex(req.GetSender()), "complainants.phone_index"
		}
		err := dbc.Select("cases.id", "cases.case_number").Joins("JOIN complainants ON complainants.id = cases.complainant_id").
			Where("cases.case_number = ? AND "+column+" = ?", number, index).Take(&c).Error
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return c, status.Error(codes.Unavailable, "read case failed; retry")
		}
	}
	return c, status.Error(codes.NotFound, "no case of this sender answers to the message")
}

type caseFoundKey struct{}

// withCaseFound marks ctx as acting on a case InboundService found for the
// message: visible lets the gateway's account write to it.
func withCaseFound(ctx context.Context) context.Context {
	return context.WithValue(ctx, caseFoundKey{}, true)
}

func caseFound(ctx context.Context) bool {
	found, _ := ctx.Value(caseFoundKey{}).(bool)
	return found
}
