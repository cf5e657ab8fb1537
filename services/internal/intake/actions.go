package intake

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
	"github.com/redress/redress/workflows/complaint"
)

var actorPattern = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,64}$`)

// updateTimeout bounds how long an action waits for the workflow's answer.
const updateTimeout = 20 * time.Second

// AddNote stores an internal note. Notes are not case state: the service
// writes them directly, with their audit entry, in one transaction.
func (s *Server) AddNote(ctx context.Context, req *intakev1.AddNoteRequest) (*intakev1.AddNoteResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.Text("body", req.GetBody(), 1, 10000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := s.caseRow(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	actor := access.Actor(ctx)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.insertMessage(tx, c, id, records.MessageNote, records.MessageCommitted, actor, req.GetBody()); err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{
			Actor: actor, Action: "case.note_added", ObjectType: "case", ObjectID: c.ID,
			AfterDigest: audit.Digest(map[string]any{"note_id": id, "body_digest": s.keys.TextDigest(req.GetBody())}),
			Details:     map[string]any{"note_id": id},
		})
		return err
	})
	if err != nil {
		s.log.Error("add note", "case_id", c.ID, "err", err)
		return nil, status.Error(codes.Unavailable, "the note could not be saved; retry")
	}
	return &intakev1.AddNoteResponse{NoteId: id}, nil
}

func (s *Server) ReplyToComplainant(ctx context.Context, req *intakev1.ReplyToComplainantRequest) (*intakev1.ReplyToComplainantResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.Text("body", req.GetBody(), 1, 5000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, msgID, err := s.actWithMessage(ctx, req.GetCaseId(), complaint.UpdateReply, records.MessageReply, req.GetBody(), complaint.Action{})
	if err != nil {
		return nil, err
	}
	return &intakev1.ReplyToComplainantResponse{Case: c, ReplyId: msgID}, nil
}

func (s *Server) AcceptCase(ctx context.Context, req *intakev1.AcceptCaseRequest) (*intakev1.AcceptCaseResponse, error) {
	c, err := s.actOn(ctx, req.GetCaseId(), complaint.UpdateAccept, complaint.Action{})
	if err != nil {
		return nil, err
	}
	return &intakev1.AcceptCaseResponse{Case: c}, nil
}

func (s *Server) RejectCase(ctx context.Context, req *intakev1.RejectCaseRequest) (*intakev1.RejectCaseResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	if _, ok := intakev1.RejectionReason_name[int32(req.GetReason())]; !ok || req.GetReason() == 0 {
		e.Add("reason", "is required: the law asks for the reason of a refusal")
	}
	e.Text("text", req.GetText(), 1, 5000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, _, err := s.actWithMessage(ctx, req.GetCaseId(), complaint.UpdateReject, records.MessageRejection, req.GetText(),
		complaint.Action{ReasonCode: reasonName(req.GetReason())})
	if err != nil {
		return nil, err
	}
	return &intakev1.RejectCaseResponse{Case: c}, nil
}

func (s *Server) AssignCase(ctx context.Context, req *intakev1.AssignCaseRequest) (*intakev1.AssignCaseResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	if !actorLike(req.GetAssignee()) {
		e.Add("assignee", "is required: a user id of letters, digits and . _ @ : -")
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := s.actOn(ctx, req.GetCaseId(), complaint.UpdateAssign, complaint.Action{Assignee: req.GetAssignee()})
	if err != nil {
		return nil, err
	}
	return &intakev1.AssignCaseResponse{Case: c}, nil
}

func (s *Server) RequestInformation(ctx context.Context, req *intakev1.RequestInformationRequest) (*intakev1.RequestInformationResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.Text("question", req.GetQuestion(), 1, 5000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, _, err := s.actWithMessage(ctx, req.GetCaseId(), complaint.UpdateRequestInformation, records.MessageInformationRequest, req.GetQuestion(), complaint.Action{})
	if err != nil {
		return nil, err
	}
	return &intakev1.RequestInformationResponse{Case: c}, nil
}

func (s *Server) RecordComplainantResponse(ctx context.Context, req *intakev1.RecordComplainantResponseRequest) (*intakev1.RecordComplainantResponseResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.Text("body", req.GetBody(), 1, 10000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, _, err := s.actWithMessage(ctx, req.GetCaseId(), complaint.UpdateComplainantReplied, records.MessageComplainantResponse, req.GetBody(), complaint.Action{})
	if err != nil {
		return nil, err
	}
	return &intakev1.RecordComplainantResponseResponse{Case: c}, nil
}

func (s *Server) ResolveCase(ctx context.Context, req *intakev1.ResolveCaseRequest) (*intakev1.ResolveCaseResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.Text("feedback", req.GetFeedback(), 1, 10000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, _, err := s.actWithMessage(ctx, req.GetCaseId(), complaint.UpdateResolve, records.MessageFeedback, req.GetFeedback(), complaint.Action{})
	if err != nil {
		return nil, err
	}
	return &intakev1.ResolveCaseResponse{Case: c}, nil
}

func (s *Server) CloseCase(ctx context.Context, req *intakev1.CloseCaseRequest) (*intakev1.CloseCaseResponse, error) {
	c, err := s.actOn(ctx, req.GetCaseId(), complaint.UpdateClose, complaint.Action{})
	if err != nil {
		return nil, err
	}
	return &intakev1.CloseCaseResponse{Case: c}, nil
}

func (s *Server) ReopenCase(ctx context.Context, req *intakev1.ReopenCaseRequest) (*intakev1.ReopenCaseResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.Text("reason", req.GetReason(), 1, 5000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, _, err := s.actWithMessage(ctx, req.GetCaseId(), complaint.UpdateReopen, records.MessageReopenReason, req.GetReason(), complaint.Action{})
	if err != nil {
		return nil, err
	}
	return &intakev1.ReopenCaseResponse{Case: c}, nil
}

func (s *Server) MergeCase(ctx context.Context, req *intakev1.MergeCaseRequest) (*intakev1.MergeCaseResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.UUID("primary_case_id", req.GetPrimaryCaseId())
	if req.GetCaseId() != "" && req.GetCaseId() == req.GetPrimaryCaseId() {
		e.Add("primary_case_id", "must differ from case_id: a case cannot be merged into itself")
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	primary, err := s.caseRow(ctx, req.GetPrimaryCaseId())
	if err != nil {
		return nil, err
	}
	switch primary.State {
	case complaint.StateMerged, complaint.StateRejected, complaint.StateClosed:
		return nil, status.Errorf(codes.FailedPrecondition, "the primary case is %s: merge into an open case", primary.State)
	}
	c, err := s.actOn(ctx, req.GetCaseId(), complaint.UpdateMerge, complaint.Action{PrimaryCaseID: primary.ID})
	if err != nil {
		return nil, err
	}
	return &intakev1.MergeCaseResponse{Case: c}, nil
}

// actWithMessage stores the text as a draft, runs the update with its id, and
// discards the draft when the update is refused: no half-written record.
func (s *Server) actWithMessage(ctx context.Context, caseID, update, kind, body string, args complaint.Action) (*intakev1.Case, string, error) {
	c, err := s.caseRow(ctx, caseID)
	if err != nil {
		return nil, "", err
	}
	msgID := uuid.NewString()
	if err := s.insertMessage(s.db.WithContext(ctx), c, msgID, kind, records.MessageDraft, access.Actor(ctx), body); err != nil {
		s.log.Error("store draft message", "case_id", caseID, "err", err)
		return nil, "", status.Error(codes.Unavailable, "the text could not be saved; retry")
	}
	args.MessageID = msgID
	out, err := s.actOn(ctx, caseID, update, args)
	if err != nil {
		s.db.WithContext(context.WithoutCancel(ctx)).Model(&records.CaseMessage{}).
			Where("id = ? AND status = ?", msgID, records.MessageDraft).Update("status", records.MessageDiscarded)
		return nil, "", err
	}
	return out, msgID, nil
}

// actOn sends one human action to the case workflow as an Update and answers
// the case as recorded after it. Refusals by the workflow's validator become
// FAILED_PRECONDITION with the workflow's reason.
func (s *Server) actOn(ctx context.Context, caseID, update string, args complaint.Action) (*intakev1.Case, error) {
	var e validation.Errors
	e.UUID("case_id", caseID)
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := s.caseRow(ctx, caseID)
	if err != nil {
		return nil, err
	}
	switch c.State {
	case complaint.StateClosed, complaint.StateRejected, complaint.StateMerged:
		return nil, status.Errorf(codes.FailedPrecondition, "case %s is %s: no further actions", c.CaseNumber, c.State)
	}
	args.Actor = access.Actor(ctx)
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()

	err = s.update(ctx, caseID, update, args)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// The workflow has not started yet (the engine was down at intake):
		// start it now, then act.
		if err = s.starter.Start(ctx, caseID); err == nil {
			err = s.update(ctx, caseID, update, args)
		}
	}
	if err != nil {
		return nil, s.updateError(caseID, update, err)
	}
	return s.loadCase(ctx, caseID)
}

func (s *Server) update(ctx context.Context, caseID, update string, args complaint.Action) error {
	id := uuid.NewString()
	arg, err := s.commands.Seal(complaint.WorkflowID(caseID), update, id, args.Actor, args)
	if err != nil {
		return err
	}
	handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   complaint.WorkflowID(caseID),
		UpdateName:   update,
		UpdateID:     id,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	var snap complaint.CaseSnapshot
	return handle.Get(ctx, &snap)
}

func (s *Server) updateError(caseID, update string, err error) error {
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr) && appErr.Type() == complaint.ErrTypeCaseBusy:
		return status.Error(codes.Aborted, "another action on this case is in progress; retry")
	case errors.As(err, &appErr):
		return status.Errorf(codes.FailedPrecondition, "%s refused: %s", update, appErr.Message())
	case errors.As(err, &notFound):
		return status.Errorf(codes.FailedPrecondition, "%s refused: the case's workflow is not running", update)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the case workflow did not answer in time; retry")
	}
	s.log.Warn("case update failed", "case_id", caseID, "update", update, "err", err)
	return status.Error(codes.Unavailable, "the workflow engine is unavailable; retry")
}

func (s *Server) caseRow(ctx context.Context, caseID string) (records.Case, error) {
	var e validation.Errors
	e.UUID("case_id", caseID)
	if err := e.Err(); err != nil {
		return records.Case{}, err
	}
	var c records.Case
	err := s.db.WithContext(ctx).Select("id", "case_number", "state", "complainant_id", "submitted_by").Take(&c, "id = ?", caseID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && !visible(ctx, c) {
		return records.Case{}, caseNotFound(caseID)
	}
	if err != nil {
		return c, status.Error(codes.Unavailable, "read case failed; retry")
	}
	return c, nil
}

func (s *Server) insertMessage(tx *gorm.DB, c records.Case, id, kind, state, author, body string) error {
	sk, err := s.subjectKeyTx(tx, c.ComplainantID)
	if err != nil {
		return err
	}
	enc, err := sk.Seal("message", []byte(body))
	if err != nil {
		return err
	}
	return tx.Create(&records.CaseMessage{
		ID: id, CaseID: c.ID, Kind: kind, BodyEnc: enc, Author: author, Status: state, CreatedAt: s.now().UTC(),
	}).Error
}

func actorLike(s string) bool { return actorPattern.MatchString(s) }
