package intake

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
)

// PublicStatus implements PublicStatusService on the intake service's
// record and keys: the public pages look a case up through it and hold
// neither themselves.
type PublicStatus struct {
	intakev1.UnimplementedPublicStatusServiceServer
	s *Server
}

// PublicStatus returns the status lookup served beside IntakeService.
func (s *Server) PublicStatus() *PublicStatus { return &PublicStatus{s: s} }

// errNoMatch is the one answer to a wrong code and to an unknown number.
var errNoMatch = status.Error(codes.NotFound, "no case matches this case number and lookup code")

// LookupStatus answers the state and deadlines of the case, only for the
// right case number and lookup code, and nothing personal.
func (p *PublicStatus) LookupStatus(ctx context.Context, req *intakev1.LookupStatusRequest) (*intakev1.LookupStatusResponse, error) {
	c, err := p.match(ctx, req.GetCaseNumber(), req.GetLookupCode())
	if err != nil {
		return nil, err
	}
	return p.statusOf(ctx, c)
}

// match is the case of this number when code is its lookup code; else the
// one NOT_FOUND.
func (p *PublicStatus) match(ctx context.Context, number, code string) (records.Case, error) {
	number = strings.ToUpper(strings.TrimSpace(number))
	code = strings.TrimSpace(code)
	var e validation.Errors
	e.Text("case_number", number, 1, 32)
	e.Text("lookup_code", code, 1, 32)
	if err := e.Err(); err != nil {
		return records.Case{}, err
	}
	var c records.Case
	res := p.s.db.WithContext(ctx).Select("id", "case_number", "state", "complainant_id", "lookup_code_hash", "received_at", "language").
		Where("case_number = ?", number).Limit(1).Find(&c)
	if res.Error != nil {
		return c, status.Error(codes.Unavailable, "lookup failed; retry")
	}
	// The hash is computed whether or not the number exists, so the answer
	// takes the same work either way.
	expect := p.s.keys.LookupCodeHash(number, code)
	if res.RowsAffected == 0 || !crypto.EqualHash(expect, c.LookupCodeHash) {
		return records.Case{}, errNoMatch
	}
	return c, nil
}

func (p *PublicStatus) statusOf(ctx context.Context, c records.Case) (*intakev1.LookupStatusResponse, error) {
	var deadlines []records.Deadline
	if err := p.s.db.WithContext(ctx).Find(&deadlines, "case_id = ?", c.ID).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "lookup failed; retry")
	}
	out := &intakev1.LookupStatusResponse{CaseNumber: c.CaseNumber, State: stateEnum(c.State), ReceivedAt: ts(c.ReceivedAt),
		Language: c.Language}
	out.Acknowledgement, out.Resolution = deadlineProtos(deadlines)
	return out, nil
}

// toComplainant are the kinds of message written to the complainant or by
// them: never internal notes or reopening reasons.
var toComplainant = []string{records.MessageReply, records.MessageInformationRequest, records.MessageFeedback,
	records.MessageRejection, records.MessageComplainantResponse}

// GetConversation answers the case's status and the messages between the
// operator and the complainant, oldest first.
func (p *PublicStatus) GetConversation(ctx context.Context, req *intakev1.GetConversationRequest) (*intakev1.GetConversationResponse, error) {
	c, err := p.match(ctx, req.GetCaseNumber(), req.GetLookupCode())
	if err != nil {
		return nil, err
	}
	st, err := p.statusOf(ctx, c)
	if err != nil {
		return nil, err
	}
	out := &intakev1.GetConversationResponse{Status: st}
	dbc := p.s.db.WithContext(ctx)
	var rows []records.CaseMessage
	if err := dbc.Where("case_id = ? AND status = ? AND kind IN ?", c.ID, records.MessageCommitted, toComplainant).
		Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "lookup failed; retry")
	}
	if len(rows) == 0 {
		return out, nil
	}
	sk, err := p.s.subjectKeyTx(dbc, c.ComplainantID)
	switch {
	case errors.Is(err, crypto.ErrShredded):
		out.Erased = true
		return out, nil
	case err != nil:
		return nil, status.Error(codes.Unavailable, "lookup failed; retry")
	}
	for _, m := range rows {
		out.Messages = append(out.Messages, &intakev1.ConversationMessage{Kind: m.Kind, CreatedAt: ts(m.CreatedAt),
			Body: openText(sk, true, "message", m.BodyEnc)})
	}
	return out, nil
}

// AnswerCase keeps what the complainant wrote on the status page; while the
// case awaits them it answers the information request and the clock
// resumes (complainantWrote).
func (p *PublicStatus) AnswerCase(ctx context.Context, req *intakev1.AnswerCaseRequest) (*intakev1.AnswerCaseResponse, error) {
	c, err := p.match(ctx, req.GetCaseNumber(), req.GetLookupCode())
	if err != nil {
		return nil, err
	}
	var e validation.Errors
	e.Text("body", req.GetBody(), 1, maxDescription)
	if err := e.Err(); err != nil {
		return nil, err
	}
	out, _, err := p.s.complainantWrote(access.ForComplainant(ctx), c.ID, "status_page", req.GetBody())
	if err != nil {
		return nil, err
	}
	return &intakev1.AnswerCaseResponse{State: out.GetState()}, nil
}

// AddEvidence adds the complainant's files to the case (addAttachments).
func (p *PublicStatus) AddEvidence(ctx context.Context, req *intakev1.AddEvidenceRequest) (*intakev1.AddEvidenceResponse, error) {
	c, err := p.match(ctx, req.GetCaseNumber(), req.GetLookupCode())
	if err != nil {
		return nil, err
	}
	atts, err := p.s.addAttachments(access.ForComplainant(ctx), c.ID, "status_page", req.GetAttachments())
	if err != nil {
		return nil, err
	}
	return &intakev1.AddEvidenceResponse{Attachments: atts}, nil
}
