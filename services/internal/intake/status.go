package intake

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
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
	number := strings.ToUpper(strings.TrimSpace(req.GetCaseNumber()))
	code := strings.TrimSpace(req.GetLookupCode())
	var e validation.Errors
	e.Text("case_number", number, 1, 32)
	e.Text("lookup_code", code, 1, 32)
	if err := e.Err(); err != nil {
		return nil, err
	}
	db := p.s.db.WithContext(ctx)
	var c records.Case
	res := db.Select("id", "case_number", "state", "lookup_code_hash", "received_at").
		Where("case_number = ?", number).Limit(1).Find(&c)
	if res.Error != nil {
		return nil, status.Error(codes.Unavailable, "lookup failed; retry")
	}
	// The hash is computed whether or not the number exists, so the answer
	// takes the same work either way.
	expect := p.s.keys.LookupCodeHash(number, code)
	if res.RowsAffected == 0 || !crypto.EqualHash(expect, c.LookupCodeHash) {
		return nil, errNoMatch
	}
	var deadlines []records.Deadline
	if err := db.Find(&deadlines, "case_id = ?", c.ID).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "lookup failed; retry")
	}
	out := &intakev1.LookupStatusResponse{CaseNumber: c.CaseNumber, State: stateEnum(c.State), ReceivedAt: ts(c.ReceivedAt)}
	out.Acknowledgement, out.Resolution = deadlineProtos(deadlines)
	return out, nil
}
