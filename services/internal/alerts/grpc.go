package alerts

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/validation"
)

// Server is AlertService over the Store. People act on their own alerts
// only: every call reads and writes the authenticated principal's rows.
type Server struct {
	identityv1.UnimplementedAlertServiceServer
	Store *Store
}

var kindOf = map[identityv1.AlertKind]Kind{
	identityv1.AlertKind_ALERT_KIND_CASE_AT_RISK:           CaseAtRisk,
	identityv1.AlertKind_ALERT_KIND_CASE_OVERDUE:           CaseOverdue,
	identityv1.AlertKind_ALERT_KIND_DELETION_APPROVAL:      DeletionApproval,
	identityv1.AlertKind_ALERT_KIND_ESCALATION_DUE:         EscalationDue,
	identityv1.AlertKind_ALERT_KIND_ESCALATION_OVERDUE:     EscalationOverdue,
	identityv1.AlertKind_ALERT_KIND_CALENDAR_MISSING:       CalendarMissing,
	identityv1.AlertKind_ALERT_KIND_DEADLINE_MOVED_EARLIER: DeadlineMovedEarlier,
	identityv1.AlertKind_ALERT_KIND_COMPLAINANT_WROTE:      ComplainantWrote,
}

// ProtoKind is the message enum of k.
func ProtoKind(k Kind) identityv1.AlertKind {
	for pk, kk := range kindOf {
		if kk == k {
			return pk
		}
	}
	return identityv1.AlertKind_ALERT_KIND_UNSPECIFIED
}

func self(ctx context.Context) (string, error) {
	p, ok := access.PrincipalFrom(ctx)
	if !ok {
		return "", status.Error(codes.Unauthenticated, "no credential: alerts are the bearer's own")
	}
	return p.ID, nil
}

const maxPage = 100

// ListMyAlerts answers the bearer's console alerts, newest first.
func (s *Server) ListMyAlerts(ctx context.Context, req *identityv1.ListMyAlertsRequest) (*identityv1.ListMyAlertsResponse, error) {
	me, err := self(ctx)
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > maxPage:
		return nil, validation.Invalid("page_size", "must be between 0 and 100")
	case size == 0:
		size = 50
	}
	var before int64
	if t := req.GetPageToken(); t != "" {
		if before, err = strconv.ParseInt(t, 10, 64); err != nil || before <= 0 {
			return nil, validation.Invalid("page_token", "is not a token this service answered")
		}
	}
	as, err := s.Store.List(ctx, me, req.GetUnreadOnly(), before, size+1)
	if err != nil {
		return nil, err
	}
	res := &identityv1.ListMyAlertsResponse{}
	if len(as) > size {
		as = as[:size]
		res.NextPageToken = strconv.FormatInt(as[size-1].ID, 10)
	}
	for _, a := range as {
		m := &identityv1.Alert{Id: a.ID, Kind: ProtoKind(a.Kind), SubjectType: a.SubjectType, SubjectRef: a.SubjectRef,
			Note: a.Note, Link: a.Link, CreatedAt: timestamppb.New(a.CreatedAt), Read: a.ReadAt != nil}
		if a.DueAt != nil {
			m.DueAt = timestamppb.New(*a.DueAt)
		}
		res.Alerts = append(res.Alerts, m)
	}
	return res, nil
}

// CountUnread answers how many of the bearer's console alerts are unread.
func (s *Server) CountUnread(ctx context.Context, _ *identityv1.CountUnreadRequest) (*identityv1.CountUnreadResponse, error) {
	me, err := self(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.Store.CountUnread(ctx, me)
	return &identityv1.CountUnreadResponse{Unread: n}, err
}

// MarkRead marks the bearer's alerts read; another person's id is NOT_FOUND
// (and nothing is marked).
func (s *Server) MarkRead(ctx context.Context, req *identityv1.MarkReadRequest) (*identityv1.MarkReadResponse, error) {
	me, err := self(ctx)
	if err != nil {
		return nil, err
	}
	ids := req.GetIds()
	switch {
	case req.GetAll() && len(ids) > 0:
		return nil, validation.Invalid("ids", "must be empty when all is set")
	case !req.GetAll() && len(ids) == 0:
		return nil, validation.Invalid("ids", "is required unless all is set")
	case len(ids) > maxPage:
		return nil, validation.Invalid("ids", "at most 100 at a time")
	case req.GetAll():
		ids = nil
	}
	n, err := s.Store.MarkRead(ctx, me, ids)
	if errors.Is(err, ErrNotFound) {
		return nil, status.Error(codes.NotFound, "alert not found")
	}
	return &identityv1.MarkReadResponse{Marked: n}, err
}

func toProto(ps []Preference) []*identityv1.AlertPreference {
	out := make([]*identityv1.AlertPreference, len(ps))
	for i, p := range ps {
		out[i] = &identityv1.AlertPreference{Kind: ProtoKind(p.Kind), Console: p.Console, Email: p.Email}
	}
	return out
}

// GetPreferences answers the bearer's preferences for every kind.
func (s *Server) GetPreferences(ctx context.Context, _ *identityv1.GetPreferencesRequest) (*identityv1.GetPreferencesResponse, error) {
	me, err := self(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.Store.Preferences(ctx, me)
	return &identityv1.GetPreferencesResponse{Preferences: toProto(ps)}, err
}

// SetPreferences sets the bearer's preferences for the kinds named.
func (s *Server) SetPreferences(ctx context.Context, req *identityv1.SetPreferencesRequest) (*identityv1.SetPreferencesResponse, error) {
	me, err := self(ctx)
	if err != nil {
		return nil, err
	}
	var ps []Preference
	var bad validation.Errors
	for i, p := range req.GetPreferences() {
		k, ok := kindOf[p.GetKind()]
		if !ok {
			bad.Addf("preferences["+strconv.Itoa(i)+"].kind", "unknown kind %d", p.GetKind())
		}
		ps = append(ps, Preference{Kind: k, Console: p.GetConsole(), Email: p.GetEmail()})
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if err := s.Store.SetPreferences(ctx, me, ps); err != nil {
		return nil, err
	}
	all, err := s.Store.Preferences(ctx, me)
	return &identityv1.SetPreferencesResponse{Preferences: toProto(all)}, err
}

// RaiseAlert raises one event's alerts for the services (alerts.raise).
func (s *Server) RaiseAlert(ctx context.Context, req *identityv1.RaiseAlertRequest) (*identityv1.RaiseAlertResponse, error) {
	e := Event{Kind: kindOf[req.GetKind()], Key: req.GetEventKey(), SubjectType: req.GetSubjectType(), SubjectRef: req.GetSubjectRef(),
		Note: req.GetNote(), Link: req.GetLink(), Assignee: req.GetAssignee()}
	if req.GetDueAt() != nil {
		t := req.GetDueAt().AsTime()
		e.DueAt = &t
	}
	var bad validation.Errors
	if e.Kind == "" {
		bad.Add("kind", "is required")
	}
	bad.Text("event_key", e.Key, 1, 200)
	bad.Text("subject_ref", e.SubjectRef, 1, 100)
	bad.Text("note", e.Note, 0, 300)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	n, err := s.Store.Raise(ctx, e)
	if errors.Is(err, ErrInvalid) {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &identityv1.RaiseAlertResponse{Added: int32(n)}, err
}

// Remote raises events through a service's AlertService client (the
// deletion and escalation workers, with their own credentials).
type Remote struct {
	Client identityv1.AlertServiceClient
}

// Raise raises e through AlertService.
func (r Remote) Raise(ctx context.Context, e Event) error {
	req := &identityv1.RaiseAlertRequest{Kind: ProtoKind(e.Kind), EventKey: e.Key, SubjectType: e.SubjectType,
		SubjectRef: e.SubjectRef, Note: e.Note, Link: e.Link, Assignee: e.Assignee}
	if e.DueAt != nil {
		req.DueAt = timestamppb.New(*e.DueAt)
	}
	_, err := r.Client.RaiseAlert(ctx, req)
	return err
}

// Local raises events on the Store, for a process holding identity's tables
// (the complaint worker connects as intake's role, which includes identity).
type Local struct{ Store *Store }

// Raise raises e on the store.
func (l Local) Raise(ctx context.Context, e Event) error {
	_, err := l.Store.Raise(ctx, e)
	return err
}

// Raiser raises an event's alerts.
type Raiser interface {
	Raise(ctx context.Context, e Event) error
}
