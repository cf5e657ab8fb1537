package escalation

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/internal/escalation/store"
)

// load reads an escalation with everything recorded around it.
func (s *Server) load(ctx context.Context, id string) (*escalationv1.Escalation, error) {
	db := s.db.WithContext(ctx)
	var e store.Escalation
	err := db.Take(&e, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Errorf(codes.NotFound, "escalation_id: escalation %s not found", id)
	} else if err != nil {
		return nil, s.dbError(err)
	}
	var filings []store.Filing
	var follow []store.FollowUp
	var steps []store.Step
	var cases []string
	var pkg store.Package
	if err := db.Where("escalation_id = ?", id).Order("attempt").Find(&filings).Error; err != nil {
		return nil, s.dbError(err)
	}
	if err := db.Omit("attachment").Where("escalation_id = ? AND status IN ?", id, []string{store.FollowUpOpen, store.FollowUpAnswered}).
		Order("created_at").Find(&follow).Error; err != nil {
		return nil, s.dbError(err)
	}
	if err := db.Where("escalation_id = ?", id).Order("done_at").Find(&steps).Error; err != nil {
		return nil, s.dbError(err)
	}
	if err := db.Model(&store.IncidentCase{}).Where("escalation_id = ?", id).Order("linked_at, case_id").Pluck("case_id", &cases).Error; err != nil {
		return nil, s.dbError(err)
	}
	if err := db.Select("sha256").Where("escalation_id = ?", id).Limit(1).Find(&pkg).Error; err != nil {
		return nil, s.dbError(err)
	}
	out := &escalationv1.Escalation{
		Id: e.ID, Kind: e.Kind, Status: e.Status, CaseId: deref(e.CaseID), DeletionRequestId: deref(e.DeletionRequestID),
		Reason: e.Reason, Regulator: e.Regulator, Adapter: e.Adapter, DueAt: ts(e.DueAt), DueRule: e.DueRule,
		DueCitation: e.DueCitation, FiledAt: ts(e.FiledAt), FilingReference: e.FilingReference,
		AcknowledgedAt: ts(e.AcknowledgedAt), AckReference: e.AckReference, SupervisorAlertedAt: ts(e.SupervisorAlertedAt),
		ClosedAt: ts(e.ClosedAt), OpenedBy: e.OpenedBy, CreatedAt: timestamppb.New(e.CreatedAt),
		OperatorClass: e.OperatorClass, LeakedDataType: e.LeakedDataType, LeakSource: e.LeakSource, CaseIds: cases,
		NotifyDecision: e.NotifyDecision, NotifyReason: e.NotifyReason, PackageSha256: pkg.SHA256, DeadlineKind: e.DeadlineKind,
		DiscoveredAt: ts(e.DiscoveredAt), Severity: e.Severity, GradedAt: ts(e.GradedAt), GradedBy: e.GradedBy,
	}
	for _, f := range filings {
		out.Filings = append(out.Filings, &escalationv1.Filing{Attempt: int32(f.Attempt), Adapter: f.Adapter, Outcome: f.Outcome,
			Reference: f.Reference, PackageSha256: f.PackageSHA256, At: timestamppb.New(f.At)})
	}
	var answered []store.FollowUp // an open question's answer is still a draft
	for _, f := range follow {
		if f.Status == store.FollowUpAnswered {
			answered = append(answered, f)
		}
	}
	answers, err := openAnswers(ctx, s.owners(), e, answered)
	if err != nil {
		return nil, s.dbError(err)
	}
	for _, f := range follow {
		fu := &escalationv1.FollowUp{Id: f.ID, Question: f.Question, DueAt: timestamppb.New(f.DueAt), Status: f.Status}
		if f.Status == store.FollowUpAnswered {
			fu.Answer, fu.AnsweredAt, fu.AttachmentSha256 = answers[0], ts(f.AnsweredAt), f.AttachmentSHA256
			answers = answers[1:]
		}
		out.FollowUps = append(out.FollowUps, fu)
	}
	for _, st := range steps {
		out.Steps = append(out.Steps, &escalationv1.Step{Step: st.Step, DoneAt: timestamppb.New(st.DoneAt), Actor: st.Actor})
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
