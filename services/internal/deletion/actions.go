package deletion

import (
	"context"
	"crypto/hmac"
	"errors"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/deletion"
)

func equal(a, b []byte) bool { return hmac.Equal(a, b) }

// update carries a human step to the request's workflow and waits for it.
func (s *Server) update(ctx context.Context, id, name string, a wf.Action) error {
	var r Request
	if err := s.db.WithContext(ctx).Select("id", "batch_id", "workflow_started_at").Take(&r, "id = ?", id).Error; err != nil {
		return status.Error(codes.Unavailable, "the request could not be read; retry")
	}
	if r.BatchID != nil {
		// Its batch carries it from submission to certificate unattended;
		// it reaches its own workflow only if its plan needs a person.
		return status.Errorf(codes.FailedPrecondition, "%s refused: the request is being carried out with its bulk submission (batch %s) and takes no step by hand", name, *r.BatchID)
	}
	if r.WorkflowStartedAt == nil { // not started yet (or not known to be): start it now
		if err := s.starter.Start(ctx, id); err != nil {
			return status.Error(codes.Unavailable, "the request's workflow could not be reached; retry")
		}
	}
	updateID := uuid.NewString()
	arg, err := s.commands.Seal(wf.WorkflowID(id), name, updateID, a.Actor, a)
	if err != nil {
		s.log.Error("deletion update not signed", "deletion_id", id, "update", name, "err", err)
		return status.Errorf(codes.Unavailable, "%s failed; retry", name)
	}
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: wf.WorkflowID(id), UpdateName: name, UpdateID: updateID, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var snap wf.Snapshot
		err = h.Get(ctx, &snap)
	}
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr):
		return s.refuse(ctx, id, "deletion."+name+"_refused", appErr.Message(),
			status.Errorf(codes.FailedPrecondition, "%s refused: %s", name, appErr.Message()))
	case errors.As(err, &notFound):
		return status.Errorf(codes.FailedPrecondition, "%s refused: the request's workflow has ended", name)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the workflow did not answer in time; retry")
	}
	s.log.Warn("deletion update failed", "deletion_id", id, "update", name, "err", err)
	return status.Errorf(codes.Unavailable, "%s failed; retry", name)
}

// ApprovePlan approves exactly the plan the reviewer read (by its digest).
func (s *Server) ApprovePlan(ctx context.Context, req *deletionv1.ApprovePlanRequest) (*deletionv1.ApprovePlanResponse, error) {
	var e validation.Errors
	e.UUID("deletion_id", req.GetDeletionId())
	if len(req.GetPlanDigest()) != 64 {
		e.Add("plan_digest", "must be the plan_digest answered by GetPlan")
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	r, err := s.find(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	actor := access.Actor(ctx)
	if actor == r.SubmittedBy {
		return nil, s.refuse(ctx, r.ID, "deletion.approve_refused", "submitter_cannot_approve",
			status.Error(codes.PermissionDenied, "a reviewer may not approve a request they submitted"))
	}
	if actor == r.AttestedBy {
		return nil, s.refuse(ctx, r.ID, "deletion.approve_refused", "attestor_cannot_approve",
			status.Error(codes.PermissionDenied, "a reviewer may not approve a request whose requester they attested: a second person checks the plan"))
	}
	if !r.IdentityVerified() {
		return nil, s.refuse(ctx, r.ID, "deletion.approve_refused", "identity_not_verified",
			status.Error(codes.FailedPrecondition, "the requester's identifiers are not all verified: nothing is located or approved before they are"))
	}
	var p Plan
	if err := s.db.WithContext(ctx).Take(&p, "deletion_id = ?", r.ID).Error; err != nil || r.Status != wf.StatusAwaitingApproval {
		return nil, s.refuse(ctx, r.ID, "deletion.approve_refused", "no_plan_awaiting_approval",
			status.Error(codes.FailedPrecondition, "the request has no plan awaiting approval"))
	}
	if p.Digest != req.GetPlanDigest() {
		return nil, s.refuse(ctx, r.ID, "deletion.approve_refused", "plan_changed",
			status.Error(codes.FailedPrecondition, "plan_digest: the plan changed since it was reviewed; read it again"))
	}
	if err := s.update(ctx, r.ID, wf.UpdateApprove, wf.Action{Actor: actor, PlanDigest: req.GetPlanDigest()}); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	return &deletionv1.ApprovePlanResponse{Deletion: d}, nil
}

// RejectPlan refuses the request with a reason code and text (PIPL Art. 50).
func (s *Server) RejectPlan(ctx context.Context, req *deletionv1.RejectPlanRequest) (*deletionv1.RejectPlanResponse, error) {
	var e validation.Errors
	e.UUID("deletion_id", req.GetDeletionId())
	if _, ok := deletionv1.ReasonCode_name[int32(req.GetReasonCode())]; !ok || req.GetReasonCode() == deletionv1.ReasonCode_REASON_CODE_UNSPECIFIED {
		e.Add("reason_code", "is required (a code from the fixed list)")
	}
	e.Text("reason_text", req.GetReasonText(), 1, 2000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	if _, err := s.find(ctx, req.GetDeletionId()); err != nil {
		return nil, err
	}
	textID, err := s.storeReasonText(ctx, req.GetDeletionId(), req.GetReasonText())
	if err != nil {
		return nil, err
	}
	a := wf.Action{Actor: access.Actor(ctx), ReasonCode: enumName(req.GetReasonCode().String(), "REASON_CODE_"), ReasonTextID: textID}
	if err := s.update(ctx, req.GetDeletionId(), wf.UpdateReject, a); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	return &deletionv1.RejectPlanResponse{Deletion: d}, nil
}

// CancelDeletion withdraws a request before it is approved.
func (s *Server) CancelDeletion(ctx context.Context, req *deletionv1.CancelDeletionRequest) (*deletionv1.CancelDeletionResponse, error) {
	var e validation.Errors
	e.UUID("deletion_id", req.GetDeletionId())
	e.Text("reason_text", req.GetReasonText(), 0, 2000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	if _, err := s.find(ctx, req.GetDeletionId()); err != nil {
		return nil, err
	}
	textID, err := s.storeReasonText(ctx, req.GetDeletionId(), req.GetReasonText())
	if err != nil {
		return nil, err
	}
	a := wf.Action{Actor: access.Actor(ctx), ReasonCode: "withdrawn", ReasonTextID: textID}
	if err := s.update(ctx, req.GetDeletionId(), wf.UpdateCancel, a); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	return &deletionv1.CancelDeletionResponse{Deletion: d}, nil
}

// SetConnectorEnabled turns a connector on or off for new requests.
func (s *Server) SetConnectorEnabled(ctx context.Context, req *deletionv1.SetConnectorEnabledRequest) (*deletionv1.SetConnectorEnabledResponse, error) {
	var c Connector
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&c, "name = ?", req.GetName()).Error; err != nil {
			return err
		}
		before := audit.Digest(connectorProto(c))
		c.Enabled, c.UpdatedAt = req.GetEnabled(), s.now().UTC()
		if err := tx.Model(&c).Updates(map[string]any{"enabled": c.Enabled, "updated_at": c.UpdatedAt}).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "deletion.connector_enabled_set", ObjectType: "deletion_connector",
			ObjectID: c.Name, BeforeDigest: before, AfterDigest: audit.Digest(connectorProto(c)), Details: map[string]any{"enabled": c.Enabled}})
		return err
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Error(codes.NotFound, "no such connector")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "retry")
	}
	return &deletionv1.SetConnectorEnabledResponse{Connector: connectorProto(c)}, nil
}

// CompleteManualTask records that a person did a manual connector's task.
func (s *Server) CompleteManualTask(ctx context.Context, req *deletionv1.CompleteManualTaskRequest) (*deletionv1.CompleteManualTaskResponse, error) {
	var e validation.Errors
	e.UUID("deletion_id", req.GetDeletionId())
	e.Text("connector", req.GetConnector(), 1, 100)
	e.Text("note", req.GetNote(), 1, 2000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		key, err := requestKey(tx, s.keys, req.GetDeletionId())
		if err != nil {
			return err
		}
		note, err := key.Seal(fieldNote, []byte(req.GetNote()))
		if err != nil {
			return err
		}
		res := tx.Model(&ManualTask{}).Where("deletion_id = ? AND connector = ? AND status = 'open'", req.GetDeletionId(), req.GetConnector()).
			Updates(map[string]any{"status": "done", "note_enc": note, "completed_by": access.Actor(ctx), "completed_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		_, err = audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "deletion.manual_task_completed", ObjectType: "deletion_request",
			ObjectID: req.GetDeletionId(), At: now, Details: map[string]any{"connector": req.GetConnector()}, AfterDigest: s.keys.TextDigest(req.GetNote())})
		return err
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Error(codes.NotFound, "no open manual task for this request and connector")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "retry")
	}
	return &deletionv1.CompleteManualTaskResponse{}, nil
}

// storeReasonText records a reject or cancel reason text before the workflow
// is asked to act, and answers its id ("" for no text): the workflow carries
// the id, never the text. A text whose action is then refused stays unused.
func (s *Server) storeReasonText(ctx context.Context, deletionID, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	id := uuid.NewString()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		key, err := requestKey(tx, s.keys, deletionID)
		if err != nil {
			return err
		}
		enc, err := key.Seal(FieldReasonText, []byte(text))
		if err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO deletion_reason_texts (id, deletion_id, text_enc, created_by) VALUES (?, ?, ?, ?)`,
			id, deletionID, enc, access.Actor(ctx)).Error
	})
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, crypto.ErrShredded) {
		return "", status.Errorf(codes.NotFound, "deletion request %s not found", deletionID)
	}
	if err != nil {
		return "", status.Error(codes.Unavailable, "the reason could not be recorded; retry")
	}
	return id, nil
}
