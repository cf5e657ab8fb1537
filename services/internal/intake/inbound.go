package intake

import (
	"context"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
)

// complainantWrote adds what the complainant wrote (by mail, by SMS, on the
// status page) to the case. While the case awaits the complainant it is the
// answer asked for: the workflow records it and the clock resumes. Otherwise
// it is kept, with its audit entry, as a message from the complainant for the
// agent to read; the state does not change. via names the channel ("email",
// "sms", "status_page"); the message's id is answered.
func (s *Server) complainantWrote(ctx context.Context, caseID, via, body string) (*intakev1.Case, string, error) {
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
