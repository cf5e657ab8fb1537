package intake

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/answers"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
)

// CaseFacts serves CaseFactsService: the escalation service learns the
// facts of cases, finds leak complaints and has incident notices sent
// through it instead of reading intake's tables.
type CaseFacts struct {
	intakev1.UnimplementedCaseFactsServiceServer
	DB     *gorm.DB
	Keys   *crypto.Keyring
	Sender notify.Sender // incident notices to complainants
}

var _ intakev1.CaseFactsServiceServer = (*CaseFacts)(nil)

// maxFactCases bounds the case ids of one request.
const maxFactCases = 500

func validCaseIDs(v *validation.Errors, ids []string) {
	if len(ids) == 0 {
		v.Add("case_ids", "is required")
		return
	}
	if len(ids) > maxFactCases {
		v.Addf("case_ids", "at most %d case ids at a time", maxFactCases)
		return
	}
	for i, id := range ids {
		field := fmt.Sprintf("case_ids[%d]", i)
		v.UUID(field, id)
		if slices.Index(ids, id) != i {
			v.Addf(field, "repeats case %s", id)
		}
	}
}

// GetCaseFacts answers the cases' codes, dates, deadlines and evidence hashes.
func (s *CaseFacts) GetCaseFacts(ctx context.Context, req *intakev1.GetCaseFactsRequest) (*intakev1.GetCaseFactsResponse, error) {
	var v validation.Errors
	validCaseIDs(&v, req.GetCaseIds())
	if err := v.Err(); err != nil {
		return nil, err
	}
	db := s.DB.WithContext(ctx)
	var cs []records.Case
	if err := db.Select("id", "case_number", "kind", "category", "channel", "referring_body", "state", "subject_type",
		"leaked_data_type", "leak_source", "policy_pack", "received_at", "overdue").
		Where("id IN ?", req.CaseIds).Order("received_at, id").Find(&cs).Error; err != nil {
		return nil, err
	}
	if err := allFound(req.CaseIds, cs); err != nil {
		return nil, err
	}
	var ds []records.Deadline
	if err := db.Where("case_id IN ?", req.CaseIds).Order("case_id, kind").Find(&ds).Error; err != nil {
		return nil, err
	}
	var atts []records.Attachment
	if err := db.Select("id", "case_id", "content_type", "size_bytes", "sha256").
		Where("case_id IN ?", req.CaseIds).Order("created_at, id").Find(&atts).Error; err != nil {
		return nil, err
	}
	out := make([]*intakev1.CaseFacts, len(cs))
	for i, c := range cs {
		f := &intakev1.CaseFacts{CaseId: c.ID, CaseNumber: c.CaseNumber, Kind: c.Kind, Category: c.Category, Channel: c.Channel,
			ReferringBody: c.ReferringBody, State: c.State, SubjectType: c.SubjectType, LeakedDataType: c.LeakedDataType,
			LeakSource: c.LeakSource, PolicyPack: c.PolicyPack, ReceivedAt: ts(c.ReceivedAt), Overdue: c.Overdue}
		for _, d := range ds {
			if d.CaseID == c.ID {
				f.Deadlines = append(f.Deadlines, &intakev1.CaseDeadline{Kind: d.Kind, DueAt: ts(d.DueAt), RuleId: d.RuleID,
					Citation: d.Citation, Status: d.Status, BreachedAt: optTS(d.BreachedAt)})
			}
		}
		for _, a := range atts {
			if a.CaseID == c.ID {
				f.Evidence = append(f.Evidence, &intakev1.CaseEvidence{AttachmentId: a.ID, ContentType: a.ContentType,
					SizeBytes: a.SizeBytes, Sha256: hex.EncodeToString(a.SHA256)})
			}
		}
		out[i] = f
	}
	return &intakev1.GetCaseFactsResponse{Cases: out}, nil
}

func optTS(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// allFound answers NOT_FOUND naming the first requested case missing.
func allFound(ids []string, cs []records.Case) error {
	for i, id := range ids {
		if !slices.ContainsFunc(cs, func(c records.Case) bool { return strings.EqualFold(c.ID, id) }) {
			return status.Errorf(codes.NotFound, "case_ids[%d]: case %s not found", i, id)
		}
	}
	return nil
}

// ListLeakComplaints pages through the leak complaints received after a time.
func (s *CaseFacts) ListLeakComplaints(ctx context.Context, req *intakev1.ListLeakComplaintsRequest) (*intakev1.ListLeakComplaintsResponse, error) {
	var v validation.Errors
	if req.GetReceivedAfter() == nil {
		v.Add("received_after", "is required")
	} else if err := req.ReceivedAfter.CheckValid(); err != nil {
		v.Add("received_after", "must be a valid time")
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = 500
	case size < 0 || size > 1000:
		v.Add("page_size", "must be between 1 and 1000")
	}
	var after leakCursor
	if req.GetCursor() != "" {
		var err error
		if after, err = parseLeakCursor(req.Cursor); err != nil {
			v.Add("cursor", "must be a next_cursor this service answered")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	q := s.DB.WithContext(ctx).Model(&records.Case{}).Select("id", "leaked_data_type", "leak_source", "received_at").
		Where("leaked_data_type <> '' AND leak_source <> '' AND state <> 'merged' AND received_at > ?", req.ReceivedAfter.AsTime())
	if after.id != "" {
		q = q.Where("(received_at, id) > (?, ?)", after.at, after.id)
	}
	var cs []records.Case
	if err := q.Order("received_at, id").Limit(size + 1).Find(&cs).Error; err != nil {
		return nil, err
	}
	out := &intakev1.ListLeakComplaintsResponse{}
	if len(cs) > size {
		cs = cs[:size]
		last := cs[size-1]
		out.NextCursor = last.ReceivedAt.UTC().Format(time.RFC3339Nano) + "|" + last.ID
	}
	for _, c := range cs {
		out.Complaints = append(out.Complaints, &intakev1.LeakComplaint{CaseId: c.ID, LeakedDataType: c.LeakedDataType,
			LeakSource: c.LeakSource, ReceivedAt: ts(c.ReceivedAt)})
	}
	return out, nil
}

type leakCursor struct {
	at time.Time
	id string
}

func parseLeakCursor(s string) (leakCursor, error) {
	at, id, ok := strings.Cut(s, "|")
	if !ok || uuid.Validate(id) != nil {
		return leakCursor{}, errors.New("bad cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	return leakCursor{at: t, id: id}, err
}

// noticeKeyPattern is an idempotency key that may carry '/' (a notice's
// key names what it is about, as "incident/<id>").
var noticeKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._:/-]{8,128}$`)

// NotifyComplainants sends the incident notice to each case's complainant,
// once per case under the key: the notifications row is claimed first and
// marked sent, with its audit entry, once the send succeeded.
func (s *CaseFacts) NotifyComplainants(ctx context.Context, req *intakev1.NotifyComplainantsRequest) (*intakev1.NotifyComplainantsResponse, error) {
	var v validation.Errors
	if !noticeKeyPattern.MatchString(req.GetIdempotencyKey()) {
		v.Add("idempotency_key", "must be 8 to 128 characters of letters, digits, '.', '_', ':', '/' or '-'")
	}
	v.UUID("escalation_id", req.GetEscalationId())
	validCaseIDs(&v, req.GetCaseIds())
	v.Text("body", req.GetBody(), 1, 8000)
	v.Text("citation", req.GetCitation(), 0, 500)
	if err := v.Err(); err != nil {
		return nil, err
	}
	db := s.DB.WithContext(ctx)
	var cs []records.Case
	if err := db.Select("id", "case_number", "complainant_id", "language").Where("id IN ?", req.CaseIds).Order("id").Find(&cs).Error; err != nil {
		return nil, err
	}
	if err := allFound(req.CaseIds, cs); err != nil {
		return nil, err
	}
	if s.Sender == nil {
		return nil, status.Error(codes.Unavailable, "notices cannot be sent: no sender configured")
	}
	sent := int32(0)
	for _, c := range cs {
		key := req.IdempotencyKey + "/" + c.ID
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&records.Notification{ID: uuid.NewString(), CaseID: c.ID,
			Kind: "incident", DedupeKey: key, Status: "pending", CreatedAt: time.Now().UTC()}).Error; err != nil {
			return nil, err
		}
		var n records.Notification
		if err := db.Take(&n, "dedupe_key = ?", key).Error; err != nil {
			return nil, err
		}
		if n.Status == "sent" {
			continue
		}
		to, err := s.recipient(db, c.ComplainantID)
		if err != nil {
			return nil, err
		}
		notice := notify.Notice{Kind: "reply", Language: c.Language, CaseNumber: c.CaseNumber, DedupeKey: key, Citation: req.Citation, Body: req.Body}
		if err := s.Sender.Send(ctx, to, notice); err != nil && !errors.Is(err, notify.ErrPermanent) {
			return nil, status.Errorf(codes.Unavailable, "notice for case %s not sent yet", c.ID)
		}
		now := time.Now().UTC()
		if err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&records.Notification{}).Where("id = ?", n.ID).
				Updates(map[string]any{"status": "sent", "sent_at": now, "channel": to.Channel(), "attempts": gorm.Expr("attempts + 1")}).Error; err != nil {
				return err
			}
			_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "case.incident_notice_sent", ObjectType: "case",
				ObjectID: c.ID, Details: map[string]any{"escalation_id": req.EscalationId, "channel": to.Channel()}, At: now})
			return err
		}); err != nil {
			return nil, err
		}
		sent++
	}
	return &intakev1.NotifyComplainantsResponse{Sent: sent}, nil
}

// recipient opens the complainant's contact details (none once erased).
func (s *CaseFacts) recipient(db *gorm.DB, complainantID string) (notify.Recipient, error) {
	var c records.Complainant
	if err := db.Take(&c, "id = ?", complainantID).Error; err != nil {
		return notify.Recipient{}, err
	}
	key, err := s.Keys.SubjectKey(db, c.SubjectKeyID)
	if errors.Is(err, crypto.ErrShredded) { // nobody left to notify
		return notify.Recipient{}, nil
	}
	if err != nil {
		return notify.Recipient{}, err
	}
	open := func(field string, v []byte) string {
		b, _ := key.Open(field, v)
		return string(b)
	}
	return notify.Recipient{Email: open("email", c.EmailEnc), Phone: open("phone", c.PhoneEnc), Preferred: c.PreferredContact}, nil
}

// caseKey is the subject key of the case's complainant (crypto.ErrShredded
// once erased); an unknown case answers NOT_FOUND.
func (s *CaseFacts) caseKey(db *gorm.DB, caseID string) (crypto.SubjectKey, error) {
	var ids []string
	if err := db.Table("cases").Joins("JOIN complainants p ON p.id = cases.complainant_id").
		Where("cases.id = ?", caseID).Pluck("p.subject_key_id", &ids).Error; err != nil {
		return crypto.SubjectKey{}, err
	}
	if len(ids) != 1 {
		return crypto.SubjectKey{}, status.Errorf(codes.NotFound, "case_id: case %s not found", caseID)
	}
	return s.Keys.SubjectKey(db, ids[0])
}

// SealCaseAnswer seals a follow-up answer under the case's complainant's key.
func (s *CaseFacts) SealCaseAnswer(ctx context.Context, req *intakev1.SealCaseAnswerRequest) (*intakev1.SealCaseAnswerResponse, error) {
	enc, err := answers.Seal("case_id", req.GetCaseId(), req.GetAnswer(), func() (crypto.SubjectKey, error) {
		return s.caseKey(s.DB.WithContext(ctx), req.GetCaseId())
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.SealCaseAnswerResponse{Sealed: enc}, nil
}

// OpenCaseAnswers opens answers sealed by SealCaseAnswer for the case.
func (s *CaseFacts) OpenCaseAnswers(ctx context.Context, req *intakev1.OpenCaseAnswersRequest) (*intakev1.OpenCaseAnswersResponse, error) {
	opened, err := answers.Open("case_id", req.GetCaseId(), req.GetSealed(), func() (crypto.SubjectKey, error) {
		return s.caseKey(s.DB.WithContext(ctx), req.GetCaseId())
	})
	if err != nil {
		return nil, err
	}
	out := make([]*intakev1.OpenedAnswer, len(opened))
	for i, a := range opened {
		out[i] = &intakev1.OpenedAnswer{Text: a.Text, Erased: a.Erased, Unreadable: a.Unreadable}
	}
	return &intakev1.OpenCaseAnswersResponse{Answers: out}, nil
}
