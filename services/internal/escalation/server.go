// Package escalation implements EscalationService: escalations to
// supervisors and regulators. The service validates, writes what it alone
// owns (a new escalation row, draft follow-up texts) and carries every other
// change to the escalation's workflow as an Update; the workflow writes it.
package escalation

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/signing"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/escalation"
)

// MaxAttachment bounds a document sent with a follow-up answer.
const MaxAttachment = 2 << 20

// Config holds the service's dependencies.
type Config struct {
	DB            *gorm.DB
	Temporal      client.Client
	Starter       *Starter
	Commands      *signing.Signer // seals the actions sent to escalation workflows
	Log           *slog.Logger
	Intake        store.Intake     // the facts of cases, from intake
	Deletion      store.Deletion   // the facts of deletion requests, from deletion
	OperatorClass string           // default class of new incidents
	Now           func() time.Time // tests; time.Now when nil
}

// Server implements escalationv1.EscalationServiceServer.
type Server struct {
	escalationv1.UnimplementedEscalationServiceServer
	db       *gorm.DB
	intake   store.Intake
	deletion store.Deletion
	temporal client.Client
	starter  *Starter
	commands *signing.Signer
	log      *slog.Logger
	class    string
	now      func() time.Time
}

// New builds the server.
func New(c Config) *Server {
	s := &Server{db: c.DB, intake: c.Intake, deletion: c.Deletion, temporal: c.Temporal, starter: c.Starter, commands: c.Commands, log: c.Log, class: c.OperatorClass, now: c.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if !wf.ValidOperatorClass(s.class) {
		s.class = wf.ClassOther
	}
	return s
}

// owners are the services holding the keys of the people escalations are about.
func (s *Server) owners() Owners { return Owners{Intake: s.intake, Deletion: s.deletion} }

func (s *Server) at() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// EscalateManually opens a manual escalation of a case or a deletion request.
func (s *Server) EscalateManually(ctx context.Context, req *escalationv1.EscalateManuallyRequest) (*escalationv1.EscalateManuallyResponse, error) {
	var v validation.Errors
	switch {
	case req.CaseId == "" && req.DeletionRequestId == "":
		v.Add("case_id", "one of case_id and deletion_request_id is required")
	case req.CaseId != "" && req.DeletionRequestId != "":
		v.Add("deletion_request_id", "give either case_id or deletion_request_id, not both")
	case req.CaseId != "":
		v.UUID("case_id", req.CaseId)
	default:
		v.UUID("deletion_request_id", req.DeletionRequestId)
	}
	v.Text("reason", req.Reason, 1, 2000)
	if req.Regulator != "" && !regulatorPattern(req.Regulator) {
		v.Add("regulator", "must be 1 to 64 characters of lower-case letters, digits, '_' or '-'")
	}
	if req.IdempotencyKey != "" {
		v.IdempotencyKey("idempotency_key", req.IdempotencyKey)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	e := store.Escalation{ID: uuid.NewString(), Kind: wf.KindManual, Reason: req.Reason, Regulator: req.Regulator, CreatedAt: s.at()}
	e.DedupeKey = dedupeKey(ctx, "manual", e.ID, req.IdempotencyKey)
	e.ID = store.IDFor(e.DedupeKey) // the id Open would give the key
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if replay, err := s.replayed(tx, e.DedupeKey, wf.KindManual, req.CaseId, req.DeletionRequestId); err != nil || replay != nil {
			if replay != nil {
				e = *replay
			}
			return err
		}
		if req.CaseId != "" {
			cs, err := store.CaseFacts(ctx, s.intake, []string{req.CaseId})
			if status.Code(err) == codes.NotFound {
				return status.Errorf(codes.NotFound, "case_id: case %s not found", req.CaseId)
			} else if err != nil {
				return err
			}
			if c := cs[0]; c.State == "closed" || c.State == "merged" {
				return status.Errorf(codes.FailedPrecondition, "case_id: case %s is %s and cannot be escalated", req.CaseId, c.State)
			}
			e.CaseID = &req.CaseId
		} else {
			if _, err := s.deletion.GetDeletionFacts(ctx, &deletionv1.GetDeletionFactsRequest{RequestId: req.DeletionRequestId}); status.Code(err) == codes.NotFound {
				return status.Errorf(codes.NotFound, "deletion_request_id: deletion request %s not found", req.DeletionRequestId)
			} else if err != nil {
				return err
			}
			e.DeletionRequestID = &req.DeletionRequestId
		}
		var err error
		e, _, err = store.Create(tx, e, access.Actor(ctx), nil)
		return err
	})
	if err != nil {
		return nil, s.dbError(err)
	}
	s.startSoon(ctx, e.ID)
	out, err := s.load(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	return &escalationv1.EscalateManuallyResponse{Escalation: out}, nil
}

// dedupeKey scopes a client's idempotency key to the caller; without one,
// every call opens its own escalation.
func dedupeKey(ctx context.Context, prefix, id, clientKey string) string {
	if clientKey == "" {
		return prefix + "/" + id
	}
	return prefix + "/" + access.Actor(ctx) + "/" + clientKey
}

// replayed answers the escalation an earlier call with the same key opened,
// or ALREADY_EXISTS when that call was about something else.
func (s *Server) replayed(tx *gorm.DB, key, kind, caseID, deletionID string) (*store.Escalation, error) {
	var e store.Escalation
	err := tx.Where("dedupe_key = ?", key).Limit(1).Find(&e).Error
	if err != nil || e.ID == "" {
		return nil, err
	}
	if e.Kind != kind || deref(e.CaseID) != caseID || deref(e.DeletionRequestID) != deletionID {
		return nil, status.Errorf(codes.AlreadyExists, "idempotency_key: already used for escalation %s of another request", e.ID)
	}
	return &e, nil
}

func regulatorPattern(r string) bool {
	if len(r) == 0 || len(r) > 64 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') { //nolint:staticcheck // QF1001: the allowed set reads better than its negation
			return false
		}
	}
	return true
}

// startSoon starts the workflow now when the engine answers; otherwise the
// starter's recovery pass will.
func (s *Server) startSoon(ctx context.Context, id string) {
	if s.starter == nil {
		return
	}
	if err := s.starter.Start(ctx, id); err != nil {
		s.log.Warn("escalation workflow start deferred to recovery", "escalation_id", id, "err", err)
	}
}

// OpenIncident opens an incident by hand, with its first cases.
func (s *Server) OpenIncident(ctx context.Context, req *escalationv1.OpenIncidentRequest) (*escalationv1.OpenIncidentResponse, error) {
	var v validation.Errors
	v.Text("leaked_data_type", req.LeakedDataType, 1, 100)
	v.Text("leak_source", req.LeakSource, 1, 200)
	v.Text("reason", req.Reason, 1, 2000)
	class := req.OperatorClass
	if class == "" {
		class = s.class
	} else if !wf.ValidOperatorClass(class) {
		v.Add("operator_class", "must be critical_infrastructure, central_body or other")
	}
	s.caseIDs(&v, req.CaseIds, false)
	if req.IdempotencyKey != "" {
		v.IdempotencyKey("idempotency_key", req.IdempotencyKey)
	}
	if req.Severity != "" {
		severity(&v, req.Severity)
	}
	now := s.at()
	given := s.discoveredAt(&v, req.DiscoveredAt, req.DiscoveredAt != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	// Graded when the officer gives a severity; otherwise it waits for a
	// grade like a detected incident. Discovered when the officer says, else
	// at its earliest linked complaint, or now.
	e := store.Escalation{ID: uuid.NewString(), Kind: wf.KindIncident, Reason: req.Reason, OperatorClass: class, Severity: req.Severity,
		DueRule: wf.IncidentRuleID, DueCitation: wf.IncidentCitation, Regulator: "cac",
		LeakedDataType: strings.TrimSpace(req.LeakedDataType), LeakSource: strings.TrimSpace(req.LeakSource), CreatedAt: now}
	if req.Severity != "" {
		e.GradedAt, e.GradedBy = &now, access.Actor(ctx)
	}
	e.DedupeKey = dedupeKey(ctx, "incident/manual", e.ID, req.IdempotencyKey)
	e.ID = store.IDFor(e.DedupeKey)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if replay, err := s.replayed(tx, e.DedupeKey, wf.KindIncident, "", ""); err != nil || replay != nil {
			if replay != nil {
				e = *replay
			}
			return err
		}
		first, err := s.checkCases(tx, req.CaseIds)
		if err != nil {
			return err
		}
		discovered := now
		if first != nil && first.Before(now) {
			discovered = first.UTC()
		}
		if given != nil {
			if given.After(discovered) {
				return laterThanComplaint(discovered)
			}
			discovered = *given
		}
		e.DiscoveredAt = &discovered
		if !wf.BelowReportThreshold(e.Severity) {
			due, _ := wf.IncidentDeadline(class, discovered)
			e.DueAt = &due
		}
		e, _, err = store.Create(tx, e, access.Actor(ctx), req.CaseIds)
		return err
	})
	if err != nil {
		return nil, s.dbError(err)
	}
	s.startSoon(ctx, e.ID)
	out, err := s.load(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	return &escalationv1.OpenIncidentResponse{Escalation: out}, nil
}

func (s *Server) caseIDs(v *validation.Errors, ids []string, required bool) {
	if required && len(ids) == 0 {
		v.Add("case_ids", "at least one case id is required")
	}
	if len(ids) > 500 {
		v.Add("case_ids", "at most 500 case ids at a time")
		return
	}
	for i, id := range ids {
		v.UUID(fmt.Sprintf("case_ids[%d]", i), id)
		if slices.Index(ids, id) != i {
			v.Addf(fmt.Sprintf("case_ids[%d]", i), "repeats case %s", id)
		}
	}
}

// checkCases answers NOT_FOUND for unknown cases (intake names the first)
// and FAILED_PRECONDITION for cases already in an incident, or else the
// earliest receipt among the cases (nil for none).
func (s *Server) checkCases(tx *gorm.DB, ids []string) (*time.Time, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	first, err := store.FirstReceived(tx.Statement.Context, s.intake, ids)
	if err != nil {
		return nil, err
	}
	var linked []store.IncidentCase
	if err := tx.Where("case_id IN ?", ids).Find(&linked).Error; err != nil {
		return nil, err
	}
	if len(linked) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "case_ids: case %s already belongs to incident %s", linked[0].CaseID, linked[0].EscalationID)
	}
	return first, nil
}

// GetEscalation answers one escalation with its filings, follow-ups, steps and cases.
func (s *Server) GetEscalation(ctx context.Context, req *escalationv1.GetEscalationRequest) (*escalationv1.GetEscalationResponse, error) {
	if err := idOnly(req.EscalationId); err != nil {
		return nil, err
	}
	out, err := s.load(ctx, req.EscalationId)
	if err != nil {
		return nil, err
	}
	return &escalationv1.GetEscalationResponse{Escalation: out}, nil
}

func idOnly(id string) error {
	var v validation.Errors
	v.UUID("escalation_id", id)
	return v.Err()
}

var (
	kinds    = []string{wf.KindSLABreach, wf.KindMandatoryReport, wf.KindIncident, wf.KindRegulatorInquiry, wf.KindManual}
	statuses = []string{wf.StatusOpen, wf.StatusFiled, wf.StatusAcknowledged, wf.StatusClosed}
)

// ListEscalations lists newest first with keyset paging.
func (s *Server) ListEscalations(ctx context.Context, req *escalationv1.ListEscalationsRequest) (*escalationv1.ListEscalationsResponse, error) {
	var v validation.Errors
	for i, k := range req.Kinds {
		if !slices.Contains(kinds, k) {
			v.Addf(fmt.Sprintf("kinds[%d]", i), "must be one of %s", strings.Join(kinds, ", "))
		}
	}
	for i, st := range req.Statuses {
		if !slices.Contains(statuses, st) {
			v.Addf(fmt.Sprintf("statuses[%d]", i), "must be one of %s", strings.Join(statuses, ", "))
		}
	}
	if req.CaseId != "" {
		v.UUID("case_id", req.CaseId)
	}
	size := int(req.PageSize)
	switch {
	case size == 0:
		size = 50
	case size < 1 || size > 500:
		v.Add("page_size", "must be between 1 and 500")
	}
	var after *cursor
	if req.PageToken != "" {
		c, err := decodeCursor(req.PageToken)
		if err != nil {
			v.Add("page_token", "is not a token this service issued")
		}
		after = c
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Model(&store.Escalation{})
	if len(req.Kinds) > 0 {
		q = q.Where("kind IN ?", req.Kinds)
	}
	if len(req.Statuses) > 0 {
		q = q.Where("status IN ?", req.Statuses)
	}
	if req.CaseId != "" {
		q = q.Where("case_id = ? OR id IN (SELECT escalation_id FROM incident_cases WHERE case_id = ?)", req.CaseId, req.CaseId)
	}
	if after != nil {
		q = q.Where("(created_at, id) < (?, ?)", after.At, after.ID)
	}
	var ids []string
	if err := q.Order("created_at DESC, id DESC").Limit(size+1).Pluck("id", &ids).Error; err != nil {
		return nil, s.dbError(err)
	}
	resp := &escalationv1.ListEscalationsResponse{}
	more := len(ids) > size
	if more {
		ids = ids[:size]
	}
	for _, id := range ids {
		e, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		resp.Escalations = append(resp.Escalations, e)
	}
	if more {
		last := resp.Escalations[len(resp.Escalations)-1]
		resp.NextPageToken = encodeCursor(cursor{At: last.CreatedAt.AsTime(), ID: last.Id})
	}
	return resp, nil
}

type cursor struct {
	At time.Time
	ID string
}

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.At.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

func decodeCursor(tok string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, err
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return nil, errors.New("malformed")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, err
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id { // canonical form only: it goes to SQL
		return nil, errors.New("malformed id")
	}
	return &cursor{At: t, ID: id}, nil
}

// RecordFiling records the reference of a manual filing.
func (s *Server) RecordFiling(ctx context.Context, req *escalationv1.RecordFilingRequest) (*escalationv1.RecordFilingResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	v.Text("reference", req.Reference, 1, 200)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActRecordFiling, Reference: strings.TrimSpace(req.Reference)})
	if err != nil {
		return nil, err
	}
	return &escalationv1.RecordFilingResponse{Escalation: out}, nil
}

// RecordAcknowledgement records the regulator's acknowledgement.
func (s *Server) RecordAcknowledgement(ctx context.Context, req *escalationv1.RecordAcknowledgementRequest) (*escalationv1.RecordAcknowledgementResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	v.Text("reference", req.Reference, 1, 200)
	at := s.at()
	if req.AcknowledgedAt != nil {
		if err := req.AcknowledgedAt.CheckValid(); err != nil {
			v.Add("acknowledged_at", "is not a valid time")
		} else if req.AcknowledgedAt.AsTime().After(at.Add(time.Minute)) {
			v.Add("acknowledged_at", "must not be in the future")
		} else {
			at = req.AcknowledgedAt.AsTime().UTC()
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.row(ctx, req.EscalationId)
	if err != nil {
		return nil, err
	}
	if e.Status == wf.StatusOpen {
		return nil, status.Errorf(codes.FailedPrecondition, "escalation %s was never filed: nothing to acknowledge", e.ID)
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActAcknowledge, Reference: strings.TrimSpace(req.Reference), At: at})
	if err != nil {
		return nil, err
	}
	return &escalationv1.RecordAcknowledgementResponse{Escalation: out}, nil
}

// AddFollowUp records a regulator's question: the text is stored as a draft,
// the workflow commits it.
func (s *Server) AddFollowUp(ctx context.Context, req *escalationv1.AddFollowUpRequest) (*escalationv1.AddFollowUpResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	v.Text("question", req.Question, 1, 10000)
	if req.DueAt == nil {
		v.Add("due_at", "is required")
	} else if err := req.DueAt.CheckValid(); err != nil {
		v.Add("due_at", "is not a valid time")
	} else if !req.DueAt.AsTime().After(s.at()) {
		v.Add("due_at", "must be in the future")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.row(ctx, req.EscalationId)
	if err != nil {
		return nil, err
	}
	if e.Status == wf.StatusOpen {
		return nil, status.Errorf(codes.FailedPrecondition, "escalation %s was never filed: no follow-up possible", e.ID)
	}
	f := store.FollowUp{ID: uuid.NewString(), EscalationID: e.ID, Question: req.Question, DueAt: req.DueAt.AsTime().UTC(),
		Status: store.FollowUpDraft, CreatedBy: access.Actor(ctx), CreatedAt: s.at()}
	if err := s.db.WithContext(ctx).Create(&f).Error; err != nil {
		return nil, s.dbError(err)
	}
	out, err := s.act(ctx, e.ID, wf.Action{Type: wf.ActAddFollowUp, FollowUpID: f.ID, DueAt: f.DueAt})
	if err != nil {
		s.db.WithContext(ctx).Model(&f).Where("status = ?", store.FollowUpDraft).Update("status", store.FollowUpDiscarded)
		return nil, err
	}
	return &escalationv1.AddFollowUpResponse{Escalation: out, FollowUpId: f.ID}, nil
}

// AnswerFollowUp records the answer to a follow-up (with an optional document).
func (s *Server) AnswerFollowUp(ctx context.Context, req *escalationv1.AnswerFollowUpRequest) (*escalationv1.AnswerFollowUpResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	v.UUID("follow_up_id", req.FollowUpId)
	v.Text("answer", req.Answer, 1, 20000)
	if len(req.Attachment) > MaxAttachment {
		v.Addf("attachment", "must be at most %d bytes (got %d)", MaxAttachment, len(req.Attachment))
	}
	if len(req.Attachment) > 0 {
		v.Text("attachment_name", req.AttachmentName, 1, 255)
	} else if req.AttachmentName != "" {
		v.Add("attachment_name", "given without an attachment")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.row(ctx, req.EscalationId)
	if err != nil {
		return nil, err
	}
	upd := map[string]any{"answer": req.Answer}
	enc, err := sealAnswer(ctx, s.owners(), e, req.Answer)
	if errors.Is(err, errAnswerErased) {
		return nil, status.Error(codes.FailedPrecondition, "the person this escalation is about was erased: the answer cannot be kept under their key")
	} else if err != nil {
		return nil, s.dbError(err)
	}
	if enc != nil {
		upd["answer"], upd["answer_enc"] = "", enc
	}
	if len(req.Attachment) > 0 {
		sum := sha256.Sum256(req.Attachment)
		upd["attachment"], upd["attachment_name"], upd["attachment_sha256"] = req.Attachment, req.AttachmentName, hex.EncodeToString(sum[:])
	}
	res := s.db.WithContext(ctx).Model(&store.FollowUp{}).
		Where("id = ? AND escalation_id = ? AND status = ?", req.FollowUpId, req.EscalationId, store.FollowUpOpen).Updates(upd)
	if res.Error != nil {
		return nil, s.dbError(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "follow_up_id: follow-up %s is not an open question of this escalation", req.FollowUpId)
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActAnswerFollowUp, FollowUpID: req.FollowUpId})
	if err != nil {
		// The draft answer is never shown; clear it so nothing half-written stays.
		s.db.WithContext(ctx).Model(&store.FollowUp{}).Where("id = ? AND status = ?", req.FollowUpId, store.FollowUpOpen).
			Updates(map[string]any{"answer": "", "answer_enc": nil, "attachment": nil, "attachment_name": "", "attachment_sha256": ""})
		return nil, err
	}
	return &escalationv1.AnswerFollowUpResponse{Escalation: out}, nil
}

// RecordStep records a step of a mandatory report.
func (s *Server) RecordStep(ctx context.Context, req *escalationv1.RecordStepRequest) (*escalationv1.RecordStepResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	if !slices.Contains(wf.MandatorySteps, req.Step) {
		v.Addf("step", "must be one of %s", strings.Join(wf.MandatorySteps, ", "))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActRecordStep, Step: req.Step})
	if err != nil {
		return nil, err
	}
	return &escalationv1.RecordStepResponse{Escalation: out}, nil
}

// CloseEscalation closes an escalation.
func (s *Server) CloseEscalation(ctx context.Context, req *escalationv1.CloseEscalationRequest) (*escalationv1.CloseEscalationResponse, error) {
	if err := idOnly(req.EscalationId); err != nil {
		return nil, err
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActClose})
	if err != nil {
		return nil, err
	}
	return &escalationv1.CloseEscalationResponse{Escalation: out}, nil
}

// GetFilingPackage answers the stored filing package.
func (s *Server) GetFilingPackage(ctx context.Context, req *escalationv1.GetFilingPackageRequest) (*escalationv1.GetFilingPackageResponse, error) {
	if err := idOnly(req.EscalationId); err != nil {
		return nil, err
	}
	if _, err := s.row(ctx, req.EscalationId); err != nil {
		return nil, err
	}
	var p store.Package
	err := s.db.WithContext(ctx).Take(&p, "escalation_id = ?", req.EscalationId).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Errorf(codes.FailedPrecondition, "escalation %s has no filing package yet", req.EscalationId)
	} else if err != nil {
		return nil, s.dbError(err)
	}
	return &escalationv1.GetFilingPackageResponse{Zip: p.Zip, Sha256: p.SHA256}, nil
}

// LinkCases adds cases to an incident.
func (s *Server) LinkCases(ctx context.Context, req *escalationv1.LinkCasesRequest) (*escalationv1.LinkCasesResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	s.caseIDs(&v, req.CaseIds, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := s.checkCases(s.db.WithContext(ctx), req.CaseIds); err != nil {
		return nil, s.dbError(err)
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActLinkCases, CaseIDs: req.CaseIds})
	if err != nil {
		return nil, err
	}
	return &escalationv1.LinkCasesResponse{Escalation: out}, nil
}

// GradeIncident grades an incident's severity (and may correct its operator
// class); the deadline follows the class, and a grade below "relatively
// serious" leaves nothing to file.
func (s *Server) GradeIncident(ctx context.Context, req *escalationv1.GradeIncidentRequest) (*escalationv1.GradeIncidentResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	if req.OperatorClass != "" && !wf.ValidOperatorClass(req.OperatorClass) {
		v.Add("operator_class", "must be critical_infrastructure, central_body or other")
	}
	severity(&v, req.Severity)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActGrade, OperatorClass: req.OperatorClass, Severity: req.Severity})
	if err != nil {
		return nil, err
	}
	return &escalationv1.GradeIncidentResponse{Escalation: out}, nil
}

func severity(v *validation.Errors, sev string) {
	if !wf.ValidSeverity(sev) {
		v.Addf("severity", "must be one of %s", strings.Join(wf.Severities, ", "))
	}
}

// discoveredAt checks an officer's discovery time: required when asked,
// valid, not in the future. It answers the time, nil when absent or refused.
func (s *Server) discoveredAt(v *validation.Errors, t *timestamppb.Timestamp, required bool) *time.Time {
	switch {
	case t == nil:
		if required {
			v.Add("discovered_at", "is required")
		}
	case t.CheckValid() != nil:
		v.Add("discovered_at", "is not a valid time")
	case t.AsTime().After(s.at()):
		v.Add("discovered_at", "must not be in the future")
	default:
		d := t.AsTime().UTC().Truncate(time.Microsecond)
		return &d
	}
	return nil
}

// laterThanComplaint refuses a discovery after the first complaint about
// the leak: the operator knew of it from that complaint on.
func laterThanComplaint(first time.Time) error {
	return validation.Invalid("discovered_at", fmt.Sprintf("must not be after the first linked complaint's receipt (%s)", first.UTC().Format(time.RFC3339)))
}

// SetIncidentDiscovery sets when the operator discovered an incident; its
// workflow moves the report deadline and re-arms the duty timers.
func (s *Server) SetIncidentDiscovery(ctx context.Context, req *escalationv1.SetIncidentDiscoveryRequest) (*escalationv1.SetIncidentDiscoveryResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	d := s.discoveredAt(&v, req.DiscoveredAt, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.row(ctx, req.EscalationId)
	if err != nil {
		return nil, err
	}
	if e.Kind != wf.KindIncident {
		return nil, status.Errorf(codes.FailedPrecondition, "escalation %s is a %s, not an incident", e.ID, e.Kind)
	}
	var cases []string
	if err := s.db.WithContext(ctx).Model(&store.IncidentCase{}).Where("escalation_id = ?", e.ID).Pluck("case_id", &cases).Error; err != nil {
		return nil, s.dbError(err)
	}
	first, err := store.FirstReceived(ctx, s.intake, cases)
	if err != nil {
		return nil, s.dbError(err)
	}
	if first != nil && d.After(*first) {
		return nil, laterThanComplaint(*first)
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActSetDiscovery, DiscoveredAt: *d})
	if err != nil {
		return nil, err
	}
	return &escalationv1.SetIncidentDiscoveryResponse{Escalation: out}, nil
}

// RecordNotificationDecision records whether the individuals are notified
// (PIPL Art. 57), with the documented reason when they are not.
func (s *Server) RecordNotificationDecision(ctx context.Context, req *escalationv1.RecordNotificationDecisionRequest) (*escalationv1.RecordNotificationDecisionResponse, error) {
	var v validation.Errors
	v.UUID("escalation_id", req.EscalationId)
	switch req.Decision {
	case "notify":
		if req.Reason != "" {
			v.Text("reason", req.Reason, 0, 2000)
		}
	case "not_notify":
		v.Text("reason", req.Reason, 1, 2000)
	default:
		v.Add("decision", "must be notify or not_notify")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.row(ctx, req.EscalationId)
	if err != nil {
		return nil, err
	}
	if e.NotifyDecision != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "escalation %s already has the decision %s", e.ID, e.NotifyDecision)
	}
	out, err := s.act(ctx, req.EscalationId, wf.Action{Type: wf.ActNotifyDecision, Decision: req.Decision, Reference: req.Reason})
	if err != nil {
		return nil, err
	}
	return &escalationv1.RecordNotificationDecisionResponse{Escalation: out}, nil
}

// row reads the escalation: NOT_FOUND when unknown, FAILED_PRECONDITION when closed.
func (s *Server) row(ctx context.Context, id string) (store.Escalation, error) {
	var e store.Escalation
	err := s.db.WithContext(ctx).Take(&e, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, status.Errorf(codes.NotFound, "escalation_id: escalation %s not found", id)
	} else if err != nil {
		return e, s.dbError(err)
	}
	if e.Status == wf.StatusClosed {
		return e, status.Errorf(codes.FailedPrecondition, "escalation %s is closed", id)
	}
	return e, nil
}

// act carries an action to the escalation's workflow and answers the record after it.
func (s *Server) act(ctx context.Context, id string, a wf.Action) (*escalationv1.Escalation, error) {
	if _, err := s.row(ctx, id); err != nil {
		return nil, err
	}
	a.ID, a.Actor = uuid.NewString(), access.Actor(ctx)
	if a.At.IsZero() {
		a.At = s.at()
	}
	arg, err := s.commands.Seal(wf.WorkflowID(id), wf.UpdateAct, a.ID, a.Actor, a)
	if err != nil {
		return nil, s.updateError(id, a.Type, err)
	}
	handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: wf.WorkflowID(id), UpdateName: wf.UpdateAct, UpdateID: a.ID, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var snap wf.Snapshot
		err = handle.Get(ctx, &snap)
	}
	if err != nil {
		return nil, s.updateError(id, a.Type, err)
	}
	return s.load(ctx, id)
}

func (s *Server) updateError(id, action string, err error) error {
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr) && appErr.Type() == wf.ErrTypeInvalidInput:
		return status.Errorf(codes.InvalidArgument, "%s refused: %s", action, appErr.Message())
	case errors.As(err, &appErr):
		return status.Errorf(codes.FailedPrecondition, "%s refused: %s", action, appErr.Message())
	case errors.As(err, &notFound):
		return status.Errorf(codes.Unavailable, "%s: the escalation's workflow is not running yet; retry", action)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the escalation workflow did not answer in time; retry")
	}
	s.log.Warn("escalation update failed", "escalation_id", id, "action", action, "err", err)
	return status.Error(codes.Unavailable, "the workflow engine is unavailable; retry")
}

func (s *Server) dbError(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	s.log.Error("escalation record", "err", err)
	return status.Error(codes.Internal, "the record is unavailable")
}
