package escalation

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/regulator"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/escalation"
)

// DefaultBody names the regulator of escalations that name none (filed
// through the directory's default adapter).
const DefaultBody = "default"

// AcknowledgeFromRegulator records a late acknowledgement posted by the
// regulator body that the escalation was filed with (regulator.Callback);
// it travels to the workflow like an officer's.
func (s *Server) AcknowledgeFromRegulator(ctx context.Context, body, id, reference string) error {
	var v validation.Errors
	v.UUID("escalation_id", id)
	if v.Err() != nil {
		return regulator.ErrUnknownEscalation
	}
	e, err := s.row(ctx, id)
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		return regulator.ErrUnknownEscalation
	case codes.FailedPrecondition:
		return regulator.ErrNotAwaitingAck
	default:
		return err
	}
	filedWith := e.Regulator
	if filedWith == "" {
		filedWith = DefaultBody
	}
	if filedWith != body { // another body's filing: not theirs to acknowledge
		return regulator.ErrUnknownEscalation
	}
	if e.Status != wf.StatusFiled {
		return regulator.ErrNotAwaitingAck
	}
	ctx = access.WithActor(ctx, "regulator:"+body)
	_, err = s.act(ctx, id, wf.Action{Type: wf.ActAcknowledge, Reference: strings.TrimSpace(reference)})
	if status.Code(err) == codes.FailedPrecondition {
		return fmt.Errorf("%w: %v", regulator.ErrNotAwaitingAck, err)
	}
	return err
}
