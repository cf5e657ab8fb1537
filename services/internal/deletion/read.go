package deletion

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/deletion"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func checkID(field, id string) error {
	var e validation.Errors
	e.UUID(field, id)
	return e.Err()
}

// find reads a request the caller may see: an automation credential only
// its own (refused and audited otherwise), a person with the permission any.
func (s *Server) find(ctx context.Context, id string) (Request, error) {
	if err := checkID("deletion_id", id); err != nil {
		return Request{}, err
	}
	var r Request
	err := s.db.WithContext(ctx).Take(&r, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, status.Error(codes.NotFound, "no such deletion request")
	}
	if err != nil {
		return r, status.Error(codes.Unavailable, "the request could not be read; retry")
	}
	if access.IsAutomation(ctx) && r.SubmittedBy != access.Actor(ctx) {
		method, _ := grpc.Method(ctx)
		s.countRefusal(ctx, "access.refused", method+" not_submitter", "deletion_request:"+r.ID)
		return Request{}, status.Error(codes.PermissionDenied,
			"deletion_id: the request was submitted by another credential; an automation credential sees and acts only on its own requests")
	}
	return r, nil
}

func (s *Server) load(ctx context.Context, id string) (*deletionv1.Deletion, error) {
	r, err := s.find(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.toProto(r), nil
}

// toProto shows identifiers masked; a shredded key shows none.
func (s *Server) toProto(r Request) *deletionv1.Deletion {
	d := &deletionv1.Deletion{
		Id: r.ID, Type: deletionv1.RequestType(deletionv1.RequestType_value["REQUEST_TYPE_"+strings.ToUpper(r.Type)]),
		Source: deletionv1.Source(deletionv1.Source_value["SOURCE_"+strings.ToUpper(r.Source)]), Status: r.Status,
		PhoneVerified: r.PhoneVerifiedAt != nil, EmailVerified: r.EmailVerifiedAt != nil, IdentityMethod: r.IdentityMethod,
		DueAt: ts(r.DueAt), DueRule: r.DueRule, PlanDigest: r.PlanDigest, ApprovedBy: r.ApprovedBy,
		ReasonCode: deletionv1.ReasonCode(deletionv1.ReasonCode_value["REASON_CODE_"+strings.ToUpper(r.ReasonCode)]),
		CreatedAt:  ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt), RestrictedUntil: tsPtr(r.RestrictedUntil), Language: r.Language,
	}
	if r.CaseID != nil {
		d.CaseId = *r.CaseID
	}
	key, keyErr := s.keys.SubjectKey(s.db, r.SubjectKeyID)
	d.ReasonText = OpenText(key, keyErr, FieldReasonText, r.ReasonTextEnc)
	if r.OriginalDueAt != nil {
		d.OriginalDueAt = tsPtr(r.OriginalDueAt)
		d.ExtensionReason = deletionv1.ExtensionReason(deletionv1.ExtensionReason_value["EXTENSION_REASON_"+strings.ToUpper(r.ExtensionReasonCode)])
		d.ExtensionReasonText = s.extensionText(r)
	}
	if key, err := s.keys.SubjectKey(s.db, r.SubjectKeyID); err == nil {
		if p, err := key.Open("deletion.phone", r.PhoneEnc); err == nil && r.PhoneEnc != nil {
			d.MaskedPhone = crypto.MaskPhone(string(p))
		}
		if e, err := key.Open("deletion.email", r.EmailEnc); err == nil && r.EmailEnc != nil {
			d.MaskedEmail = crypto.MaskEmail(string(e))
		}
	}
	return d
}

// GetDeletion answers one request.
func (s *Server) GetDeletion(ctx context.Context, req *deletionv1.GetDeletionRequest) (*deletionv1.GetDeletionResponse, error) {
	d, err := s.load(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	return &deletionv1.GetDeletionResponse{Deletion: d}, nil
}

var statuses = []string{wf.StatusAwaitingIdentity, wf.StatusLocating, wf.StatusAwaitingApproval, wf.StatusExecuting,
	wf.StatusVerifying, wf.StatusRestricted, wf.StatusCompleted, wf.StatusRejected, wf.StatusCancelled, wf.StatusFailed}

// ListDeletions pages through requests, oldest first, with filters.
func (s *Server) ListDeletions(ctx context.Context, req *deletionv1.ListDeletionsRequest) (*deletionv1.ListDeletionsResponse, error) {
	var e validation.Errors
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50
	}
	if size < 0 || size > 500 {
		e.Add("page_size", "must be between 1 and 500")
	}
	if st := req.GetStatus(); st != "" && !contains(statuses, st) {
		e.Add("status", "must be one of "+strings.Join(statuses, ", "))
	}
	if req.GetCaseId() != "" {
		e.UUID("case_id", req.GetCaseId())
	}
	var after time.Time
	var afterID string
	if tok := req.GetPageToken(); tok != "" {
		var err error
		after, afterID, err = decodeToken(tok)
		if err != nil {
			e.Add("page_token", "is not a token returned by ListDeletions")
		}
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Model(&Request{}).Order("created_at, id").Limit(size + 1)
	if st := req.GetStatus(); st != "" {
		q = q.Where("status = ?", st)
	}
	if src := req.GetSource(); src != deletionv1.Source_SOURCE_UNSPECIFIED {
		q = q.Where("source = ?", enumName(src.String(), "SOURCE_"))
	}
	if c := req.GetCaseId(); c != "" {
		q = q.Where("case_id = ?", c)
	}
	if access.IsAutomation(ctx) {
		q = q.Where("submitted_by = ?", access.Actor(ctx))
	}
	if afterID != "" {
		q = q.Where("(created_at, id) > (?, ?)", after, afterID)
	}
	var rows []Request
	if err := q.Find(&rows).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "the list could not be read; retry")
	}
	resp := &deletionv1.ListDeletionsResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		resp.NextPageToken = encodeToken(last.CreatedAt, last.ID)
	}
	for _, r := range rows {
		resp.Deletions = append(resp.Deletions, s.toProto(r))
	}
	return resp, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func encodeToken(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeToken(tok string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", err
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, "", errors.New("bad token")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, "", err
	}
	return t, id, checkID("page_token", id)
}

// GetPlan answers the plan the workflow built.
func (s *Server) GetPlan(ctx context.Context, req *deletionv1.GetPlanRequest) (*deletionv1.GetPlanResponse, error) {
	if _, err := s.find(ctx, req.GetDeletionId()); err != nil {
		return nil, err
	}
	var p Plan
	err := s.db.WithContext(ctx).Take(&p, "deletion_id = ?", req.GetDeletionId()).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Error(codes.FailedPrecondition, "no plan yet: the request has not been located")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the plan could not be read; retry")
	}
	var items []wf.PlanItem
	if err := json.Unmarshal([]byte(p.Items), &items); err != nil {
		return nil, status.Error(codes.Internal, "stored plan unreadable")
	}
	resp := &deletionv1.GetPlanResponse{PlanDigest: p.Digest, AutoApproved: p.AutoApproved}
	for _, it := range items {
		resp.Items = append(resp.Items, &deletionv1.PlanItem{Connector: it.Connector, Target: it.Target, Action: it.Action, Count: it.Count, RestrictUntil: tsPtr(it.RestrictUntil)})
	}
	return resp, nil
}

// GetEvidence answers the evidence per connector and the certificate.
func (s *Server) GetEvidence(ctx context.Context, req *deletionv1.GetEvidenceRequest) (*deletionv1.GetEvidenceResponse, error) {
	r, err := s.find(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	var ev []Evidence
	if err := s.db.WithContext(ctx).Where("deletion_id = ?", r.ID).Order("connector").Find(&ev).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "evidence could not be read; retry")
	}
	resp := &deletionv1.GetEvidenceResponse{ApprovedBy: r.ApprovedBy, ApprovedAt: tsPtr(r.ApprovedAt)}
	for _, e := range ev {
		resp.Connectors = append(resp.Connectors, &deletionv1.ConnectorEvidence{Connector: e.Connector, Found: e.Found, Action: e.Action,
			Affected: e.Affected, Remaining: e.Remaining, BeforeDigest: e.BeforeDigest, AfterDigest: e.AfterDigest, Receipt: e.Receipt})
	}
	var c Certificate
	if err := s.db.WithContext(ctx).Take(&c, "deletion_id = ?", r.ID).Error; err == nil {
		resp.Certificate, resp.CertificateDigest = c.Body, c.Digest
	}
	return resp, nil
}

// ListConnectors answers the registry.
func (s *Server) ListConnectors(ctx context.Context, _ *deletionv1.ListConnectorsRequest) (*deletionv1.ListConnectorsResponse, error) {
	var rows []Connector
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "connectors could not be read; retry")
	}
	resp := &deletionv1.ListConnectorsResponse{}
	for _, c := range rows {
		resp.Connectors = append(resp.Connectors, connectorProto(c))
	}
	return resp, nil
}

func connectorProto(c Connector) *deletionv1.Connector {
	return &deletionv1.Connector{Name: c.Name, Kind: c.Kind, Enabled: c.Enabled, MaxConcurrency: int32(c.MaxConcurrency)}
}
