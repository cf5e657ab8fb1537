package calendars

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/periodic"
	"github.com/redress/redress/services/internal/signing"
	"github.com/redress/redress/services/internal/validation"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/complaint"
)

// MaxFileBytes bounds a calendar file: a year's notice is a few kilobytes.
const MaxFileBytes = 64 << 10

// updateTimeout bounds the wait for one case workflow's recomputation.
const updateTimeout = 30 * time.Second

// Server implements CalendarService.
type Server struct {
	calendarv1.UnimplementedCalendarServiceServer

	DB    *gorm.DB
	Store *Store // the calendars in force in this process
	// Temporal and Commands send the recomputation to the case workflows.
	Temporal client.Client
	Commands *signing.Signer
	Log      *slog.Logger
	// Jurisdictions a calendar may be loaded for (default: cn).
	Jurisdictions []string
	Now           func() time.Time
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) jurisdictions() []string {
	if len(s.Jurisdictions) > 0 {
		return s.Jurisdictions
	}
	return []string{"cn"}
}

// noticeDate finds the notice's date in the source ("State Council notice
// of 2025-11-04 (…)"): the console shows it, and a source without one does
// not name a notice.
var noticeDate = regexp.MustCompile(`\b(\d{4}-\d{2}-\d{2})\b`)

// check validates a file as calendar.Add does, plus what a file loaded by a
// person needs: a jurisdiction Redress counts for, a year in reach, and a
// source naming the notice with its date, published before the year ends.
func (s *Server) check(data []byte) (calendar.File, time.Time, error) {
	if len(data) == 0 {
		return calendar.File{}, time.Time{}, validation.Invalid("file", "is required")
	}
	if len(data) > MaxFileBytes {
		return calendar.File{}, time.Time{}, validation.Invalid("file", fmt.Sprintf("must be at most %d bytes", MaxFileBytes))
	}
	f, err := calendar.Parse(data)
	var fe *calendar.FieldError
	if errors.As(err, &fe) {
		field := "file"
		if fe.Field != "file" {
			field += "." + fe.Field
		}
		return calendar.File{}, time.Time{}, validation.Invalid(field, fe.Error())
	}
	if err != nil {
		return calendar.File{}, time.Time{}, validation.Invalid("file", err.Error())
	}
	var e validation.Errors
	if !slices.Contains(s.jurisdictions(), f.Jurisdiction) {
		e.Addf("file.jurisdiction", "%q: calendars are counted for %s only", f.Jurisdiction, strings.Join(s.jurisdictions(), ", "))
	}
	thisYear := calendar.DateOf(s.now(), calendar.Shanghai()).Year
	if f.Year < thisYear-1 || f.Year > thisYear+1 {
		e.Addf("file.year", "%d: must be between %d and %d (last year, this year or next)", f.Year, thisYear-1, thisYear+1)
	}
	var published time.Time
	m := noticeDate.FindStringSubmatch(f.Source)
	if m != nil {
		published, err = time.Parse(time.DateOnly, m[1])
	}
	switch {
	case m == nil || err != nil:
		e.Add("file.source", "must name the notice with its date, e.g. \"State Council notice of 2026-11-10 (国务院办公厅关于2027年部分节假日安排的通知)\"")
	case published.Year() > f.Year || published.Year() < f.Year-2:
		e.Addf("file.source", "notice date %s does not fit a calendar for %d", m[1], f.Year)
	case calendar.DateOf(s.now(), calendar.Shanghai()).Before(calendar.DateOf(published, time.UTC)):
		e.Addf("file.source", "notice date %s is in the future", m[1])
	case len([]rune(strings.TrimSpace(f.Source))) < 20:
		e.Add("file.source", "must name the notice (its issuer and title), not only its date")
	}
	if err := e.Err(); err != nil {
		return calendar.File{}, time.Time{}, err
	}
	return f, published, nil
}

// Load validates a year's calendar file and keeps it, pending a second
// administrator's confirmation.
func (s *Server) Load(ctx context.Context, req *calendarv1.LoadRequest) (*calendarv1.LoadResponse, error) {
	f, published, err := s.check(req.GetFile())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(req.GetFile())
	row := Load{
		ID: uuid.NewString(), Jurisdiction: f.Jurisdiction, Year: f.Year, Content: req.GetFile(), SHA256: sum[:],
		Source: f.Source, NoticeDate: published, LoadedBy: access.Actor(ctx), LoadedAt: s.now().UTC(), Status: StatusPending,
	}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var same int64
		if err := tx.Model(&Load{}).Where("jurisdiction = ? AND year = ? AND sha256 = ? AND status IN ?",
			f.Jurisdiction, f.Year, sum[:], []string{StatusPending, StatusConfirmed}).Count(&same).Error; err != nil {
			return err
		}
		if same > 0 {
			return status.Errorf(codes.AlreadyExists, "this file (sha256 %x) is already loaded for %s %d", sum, f.Jurisdiction, f.Year)
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{
			Actor: row.LoadedBy, Action: "calendar.loaded", ObjectType: "calendar_load", ObjectID: row.ID,
			AfterDigest: hex.EncodeToString(sum[:]),
			Details: map[string]any{"jurisdiction": f.Jurisdiction, "year": f.Year, "sha256": hex.EncodeToString(sum[:]),
				"source": f.Source, "holidays": len(f.Holidays), "makeup_workdays": len(f.MakeupWorkdays)},
			At: row.LoadedAt,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &calendarv1.LoadResponse{Load: toProto(row)}, nil
}

// decide moves a pending load to confirmed or rejected, never by its loader.
func (s *Server) decide(ctx context.Context, id, to, reason string) (Load, error) {
	var e validation.Errors
	e.UUID("load_id", id)
	if to == StatusRejected {
		e.Text("reason", reason, 1, 500)
	}
	if err := e.Err(); err != nil {
		return Load{}, err
	}
	actor := access.Actor(ctx)
	var row Load
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&row, "id = ?", id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return status.Error(codes.NotFound, "no calendar load with this id")
		}
		if err != nil {
			return err
		}
		if row.Status != StatusPending {
			return status.Errorf(codes.FailedPrecondition, "the load is already %s", row.Status)
		}
		if row.LoadedBy == actor {
			return status.Error(codes.PermissionDenied, "a calendar must be confirmed or rejected by another administrator than the one who loaded it")
		}
		now := s.now().UTC()
		row.Status, row.DecidedBy, row.DecidedAt, row.Reason = to, actor, &now, strings.TrimSpace(reason)
		if err := tx.Model(&Load{}).Where("id = ?", id).Updates(map[string]any{
			"status": row.Status, "decided_by": row.DecidedBy, "decided_at": now, "reason": row.Reason,
		}).Error; err != nil {
			return err
		}
		details := map[string]any{"jurisdiction": row.Jurisdiction, "year": row.Year, "sha256": hex.EncodeToString(row.SHA256),
			"loaded_by": row.LoadedBy}
		if row.Reason != "" {
			details["reason"] = row.Reason
		}
		_, err = audit.Append(tx, audit.Entry{
			Actor: actor, Action: "calendar." + to, ObjectType: "calendar_load", ObjectID: id, Details: details, At: now,
		})
		return err
	})
	return row, err
}

// Confirm puts a pending load in force and sends every open case whose
// deadlines depend on its year to its workflow for recomputation.
func (s *Server) Confirm(ctx context.Context, req *calendarv1.ConfirmRequest) (*calendarv1.ConfirmResponse, error) {
	row, err := s.decide(ctx, req.GetLoadId(), StatusConfirmed, "")
	if err != nil {
		return nil, err
	}
	resp := &calendarv1.ConfirmResponse{Load: toProto(row)}
	if s.Store != nil {
		if err := s.Store.Refresh(ctx); err != nil {
			s.Log.Error("calendar confirmed but not refreshed here", "load_id", row.ID, "err", err)
		}
	}
	ok, failed, err := s.Recompute(ctx, row.Jurisdiction, row.Year, access.Actor(ctx))
	if err != nil {
		s.Log.Error("calendar confirmed, open cases not recomputed", "load_id", row.ID, "err", err)
	}
	resp.Recomputed, resp.Failed = int32(ok), int32(failed)
	return resp, nil
}

// Reject refuses a pending load; it stays on record.
func (s *Server) Reject(ctx context.Context, req *calendarv1.RejectRequest) (*calendarv1.RejectResponse, error) {
	row, err := s.decide(ctx, req.GetLoadId(), StatusRejected, req.GetReason())
	if err != nil {
		return nil, err
	}
	return &calendarv1.RejectResponse{Load: toProto(row)}, nil
}

// AffectedCases lists the open cases with a running deadline whose count
// can touch year: received in or before it and due in or after it (Asia/Shanghai),
// leaving out those recomputed since a non-zero since.
func AffectedCases(ctx context.Context, db *gorm.DB, year int, since time.Time) ([]string, error) {
	var ids []string
	err := db.WithContext(ctx).Raw(`SELECT DISTINCT c.id FROM cases c JOIN deadlines d ON d.case_id = c.id
		WHERE c.state NOT IN ('closed', 'rejected', 'merged') AND d.status IN ('open', 'paused')
		  AND extract(year FROM c.received_at AT TIME ZONE 'Asia/Shanghai') <= ?
		  AND extract(year FROM d.due_at AT TIME ZONE 'Asia/Shanghai') >= ?
		  AND (?::timestamptz IS NULL OR NOT EXISTS (SELECT 1 FROM case_actions a
		       WHERE a.case_id = c.id AND a.action = ? AND a.applied_at >= ?::timestamptz))
		ORDER BY c.id`, year, year, nullTime(since), complaint.UpdateRecomputeDeadlines, nullTime(since)).Scan(&ids).Error
	return ids, err
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Sweep sends the recomputation again to every open case that a calendar in
// force should have moved but that has not been recomputed since the
// calendar's confirmation: a workflow that was busy or unreachable then, or
// a confirmation whose process stopped before it reached every case.
func (s *Server) Sweep(ctx context.Context) error {
	var loads []Load
	if err := s.DB.WithContext(ctx).Raw(`SELECT DISTINCT ON (jurisdiction, year) id, jurisdiction, year, decided_by, decided_at
		FROM calendar_loads WHERE status = ? ORDER BY jurisdiction, year, decided_at DESC, id`, StatusConfirmed).
		Scan(&loads).Error; err != nil {
		return err
	}
	for _, l := range loads {
		if l.Jurisdiction != "cn" || l.DecidedAt == nil {
			continue
		}
		ids, err := AffectedCases(ctx, s.DB, l.Year, *l.DecidedAt)
		if err != nil {
			return err
		}
		if ok, failed := s.recomputeCases(ctx, ids, l.DecidedBy); ok+failed > 0 {
			s.Log.Info("calendar sweep", "year", l.Year, "recomputed", ok, "failed", failed)
		}
	}
	return nil
}

// RunSweeps sweeps every interval until ctx ends.
func (s *Server) RunSweeps(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, s.Sweep, func(err error) { s.Log.Error("calendar sweep failed", "err", err) })
}

// Recompute sends UpdateRecomputeDeadlines to the workflow of every open case
// whose deadline depends on year, a few at a time. Each workflow recomputes
// on the calendars in force, writes and audits what moves; a case already
// recomputed changes nothing, so a second run is harmless.
func (s *Server) Recompute(ctx context.Context, jurisdiction string, year int, actor string) (ok, failed int, err error) {
	if jurisdiction != "cn" { // the only jurisdiction with cases today
		return 0, 0, nil
	}
	ids, err := AffectedCases(ctx, s.DB, year, time.Time{})
	if err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	if s.Temporal == nil || s.Commands == nil {
		return 0, len(ids), errors.New("no workflow engine or command key: open cases not recomputed")
	}
	ok, failed = s.recomputeCases(ctx, ids, actor)
	return ok, failed, nil
}

// recomputeCases sends the Update to each case, a few at a time.
func (s *Server) recomputeCases(ctx context.Context, ids []string, actor string) (ok, failed int) {
	if len(ids) == 0 || s.Temporal == nil || s.Commands == nil {
		return 0, len(ids)
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, 4)
	)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.recomputeCase(ctx, id, actor)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				s.Log.Warn("case deadlines not recomputed", "case_id", id, "err", err)
				return
			}
			ok++
		}()
	}
	wg.Wait()
	return ok, failed
}

func (s *Server) recomputeCase(ctx context.Context, caseID, actor string) error {
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	args := complaint.Action{Actor: actor, ReasonCode: "calendar_confirmed"}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		id := uuid.NewString()
		var arg any
		if arg, err = s.Commands.Seal(complaint.WorkflowID(caseID), complaint.UpdateRecomputeDeadlines, id, actor, args); err != nil {
			return err
		}
		var h client.WorkflowUpdateHandle
		h, err = s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: complaint.WorkflowID(caseID), UpdateName: complaint.UpdateRecomputeDeadlines, UpdateID: id,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			var snap complaint.CaseSnapshot
			if err = h.Get(ctx, &snap); err == nil {
				return nil
			}
		}
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != complaint.ErrTypeCaseBusy {
			return err
		}
		select { // another action on the case is being written: retry shortly
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return err
}

// List answers every load, newest first, and per year how it is counted.
func (s *Server) List(ctx context.Context, req *calendarv1.ListRequest) (*calendarv1.ListResponse, error) {
	j := req.GetJurisdiction()
	if j == "" {
		j = "cn"
	}
	var rows []Load
	if err := s.DB.WithContext(ctx).Where("jurisdiction = ?", j).
		Order("loaded_at DESC, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	resp := &calendarv1.ListResponse{}
	inForce := map[int]Load{}
	for _, r := range rows {
		resp.Loads = append(resp.Loads, toProto(r))
		if r.Status == StatusConfirmed {
			if cur, ok := inForce[r.Year]; !ok || r.DecidedAt.After(*cur.DecidedAt) {
				inForce[r.Year] = r
			}
		}
	}
	shipped, err := calendar.LoadEmbedded()
	if err != nil {
		return nil, err
	}
	thisYear := calendar.DateOf(s.now(), calendar.Shanghai()).Year
	first := thisYear - 1
	if ys := shipped.Years(j); len(ys) > 0 && ys[0] < first {
		first = ys[0]
	}
	for y := first; y <= thisYear+1; y++ {
		cy := &calendarv1.CalendarYear{Year: int32(y), Basis: calendarv1.YearBasis_YEAR_BASIS_STATUTORY}
		if r, ok := inForce[y]; ok {
			cy.Basis, cy.Source, cy.LoadId = calendarv1.YearBasis_YEAR_BASIS_LOADED, r.Source, r.ID
		} else if f, ok := shipped.Calendar(j, y); ok {
			cy.Basis, cy.Source = calendarv1.YearBasis_YEAR_BASIS_SHIPPED, f.Source
		}
		resp.Years = append(resp.Years, cy)
	}
	return resp, nil
}

func toProto(r Load) *calendarv1.CalendarLoad {
	out := &calendarv1.CalendarLoad{
		Id: r.ID, Jurisdiction: r.Jurisdiction, Year: int32(r.Year), Sha256: hex.EncodeToString(r.SHA256),
		Source: r.Source, NoticeDate: r.NoticeDate.Format(time.DateOnly), LoadedBy: r.LoadedBy,
		LoadedAt: timestamppb.New(r.LoadedAt), DecidedBy: r.DecidedBy, Reason: r.Reason,
	}
	switch r.Status {
	case StatusPending:
		out.Status = calendarv1.LoadStatus_LOAD_STATUS_PENDING
	case StatusConfirmed:
		out.Status = calendarv1.LoadStatus_LOAD_STATUS_CONFIRMED
	case StatusRejected:
		out.Status = calendarv1.LoadStatus_LOAD_STATUS_REJECTED
	}
	if r.DecidedAt != nil {
		out.DecidedAt = timestamppb.New(*r.DecidedAt)
	}
	if len(r.Content) > 0 {
		if f, err := calendar.Parse(r.Content); err == nil {
			out.Holidays, out.MakeupWorkdays = int32(len(f.Holidays)), int32(len(f.MakeupWorkdays))
		}
	}
	return out
}
