// Package intake implements IntakeService: it records submissions durably,
// answers reads from the database, and carries every human action on a case
// to the case's workflow as a Temporal Update.
package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/policy"
)

// Packs are the policy packs a submission may name.
var Packs = []string{"cn"}

// Server implements intakev1.IntakeServiceServer.
type Server struct {
	intakev1.UnimplementedIntakeServiceServer
	db       *gorm.DB
	keys     *crypto.Keyring
	policy   *policy.Engine
	temporal client.Client
	starter  *Starter
	log      *slog.Logger
	now      func() time.Time
}

// Config holds the server's dependencies.
type Config struct {
	DB       *gorm.DB
	Keys     *crypto.Keyring
	Policy   *policy.Engine
	Temporal client.Client
	Starter  *Starter
	Log      *slog.Logger
	Now      func() time.Time // defaults to time.Now
}

// New builds the server.
func New(c Config) *Server {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &Server{db: c.DB, keys: c.Keys, policy: c.Policy, temporal: c.Temporal, starter: c.Starter, log: c.Log, now: now}
}

var errKeyRace = errors.New("idempotency key taken by a concurrent submission")

// SubmitComplaint commits the case, its complainant (encrypted), deadlines,
// attachments, idempotency key and audit entry in one transaction, answers,
// and hands the case to the starter; the recovery loop covers a failed start.
func (s *Server) SubmitComplaint(ctx context.Context, req *intakev1.SubmitComplaintRequest) (*intakev1.SubmitComplaintResponse, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	if err := validateSubmit(req, now, Packs); err != nil {
		return nil, err
	}
	actor := access.Actor(ctx)
	key := actor + "/" + req.GetIdempotencyKey()
	fingerprint := s.requestFingerprint(req)

	if resp, err := s.replay(ctx, key, fingerprint); resp != nil || err != nil {
		return resp, err
	}
	facts := factsOf(req, now)
	decision, err := s.policy.Decide(facts)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid request: %v", err)
	}

	caseID := uuid.NewString()
	lookupCode := crypto.NewLookupCode()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.insertCase(tx, req, facts, decision, caseID, lookupCode, now)
		if err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&records.IntakeIdempotency{
			Key: key, RequestHash: fingerprint, CaseID: caseID, CreatedAt: now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errKeyRace
		}
		_, err = audit.Append(tx, audit.Entry{
			Actor: actor, Action: "case.submitted", ObjectType: "case", ObjectID: caseID,
			AfterDigest: audit.Digest(c.AuditView()), At: now,
			Details: map[string]any{
				"case_number": c.CaseNumber, "kind": c.Kind, "category": c.Category, "channel": c.Channel,
				"ack_rule": decision.Acknowledgement.RuleID, "resolution_rule": decision.Resolution.RuleID,
				"attachments": len(req.GetAttachments()),
			},
		})
		return err
	})
	if errors.Is(err, errKeyRace) {
		if resp, err := s.replay(ctx, key, fingerprint); resp != nil || err != nil {
			return resp, err
		}
	}
	if err != nil {
		s.log.Error("submit: record case", "err", err)
		return nil, status.Error(codes.Unavailable, "the complaint could not be recorded; retry with the same idempotency key")
	}
	s.starter.Enqueue(caseID)

	got, err := s.loadCase(ctx, caseID)
	if err != nil {
		return nil, err
	}
	return &intakev1.SubmitComplaintResponse{Case: got, LookupCode: lookupCode}, nil
}

// replay answers an idempotency key seen before: the same request gets the
// same case; a different request under the same key is refused.
func (s *Server) replay(ctx context.Context, key string, fingerprint []byte) (*intakev1.SubmitComplaintResponse, error) {
	var seen records.IntakeIdempotency
	err := s.db.WithContext(ctx).Where("key = ?", key).Take(&seen).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "idempotency check failed; retry")
	}
	if !crypto.EqualHash(seen.RequestHash, fingerprint) {
		return nil, status.Error(codes.InvalidArgument,
			"invalid request: idempotency_key: was already used for a different submission")
	}
	got, err := s.loadCase(ctx, seen.CaseID)
	if err != nil {
		return nil, err
	}
	code, err := s.lookupCode(ctx, seen.CaseID)
	if err != nil {
		return nil, err
	}
	s.starter.Enqueue(seen.CaseID) // harmless if already started
	return &intakev1.SubmitComplaintResponse{Case: got, LookupCode: code, Replayed: true}, nil
}

// requestFingerprint is a keyed hash of the request, so equal retries are
// recognised without keeping a plain hash of personal data.
func (s *Server) requestFingerprint(req *intakev1.SubmitComplaintRequest) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	sum := sha256.Sum256(b)
	return s.keys.Fingerprint(sum[:])
}

func factsOf(req *intakev1.SubmitComplaintRequest, now time.Time) policy.Facts {
	f := policy.Facts{
		Pack: req.GetPolicyPack(), Kind: kindName(req.GetKind()), Category: categoryName(req.GetCategory()),
		Channel: channelName(req.GetChannel()), ReferringBody: bodyName(req.GetReferringBody()), ReceivedAt: now,
	}
	if f.Pack == "" {
		f.Pack = "cn"
	}
	if req.RegulatorDueAt != nil {
		t := req.RegulatorDueAt.AsTime()
		f.RegulatorDueAt = &t
	}
	return f
}

func (s *Server) insertCase(tx *gorm.DB, req *intakev1.SubmitComplaintRequest, facts policy.Facts,
	d policy.Decision, caseID, lookupCode string, now time.Time) (records.Case, error) {
	sk, err := s.keys.NewSubjectKey(tx)
	if err != nil {
		return records.Case{}, err
	}
	p := req.GetComplainant()
	comp := records.Complainant{
		ID: uuid.NewString(), SubjectKeyID: sk.ID, PreferredContact: p.GetPreferredContact(),
		PhoneIndex: s.keys.PhoneIndex(p.GetPhone()), EmailIndex: s.keys.EmailIndex(p.GetEmail()), CreatedAt: now,
	}
	if comp.PreferredContact == "" {
		comp.PreferredContact = "email"
		if p.GetEmail() == "" {
			comp.PreferredContact = "sms"
		}
	}
	for _, f := range []struct {
		dst   *[]byte
		field string
		value string
	}{
		{&comp.NameEnc, "name", p.GetName()}, {&comp.PhoneEnc, "phone", p.GetPhone()},
		{&comp.EmailEnc, "email", p.GetEmail()}, {&comp.IDNumberEnc, "id_number", p.GetIdNumber()},
	} {
		if *f.dst, err = sk.Seal(f.field, []byte(f.value)); err != nil {
			return records.Case{}, err
		}
	}
	if err := tx.Create(&comp).Error; err != nil {
		return records.Case{}, err
	}

	var seq int64
	if err := tx.Raw("SELECT nextval('case_number_seq')").Scan(&seq).Error; err != nil {
		return records.Case{}, err
	}
	codeEnc, err := sk.Seal("lookup_code", []byte(lookupCode))
	if err != nil {
		return records.Case{}, err
	}
	caseNumber := fmt.Sprintf("C-%d-%06d", now.In(policy.Shanghai()).Year(), seq)
	c := records.Case{
		ID: caseID, CaseNumber: caseNumber, Kind: facts.Kind, Category: facts.Category, Channel: facts.Channel,
		ReferringBody: facts.ReferringBody, State: complaint.StateReceived, ComplainantID: comp.ID,
		SubjectType: subjectTypeName(req.GetSubject().GetType()), SubjectValue: req.GetSubject().GetValue(),
		LeakedDataType: req.GetSubject().GetLeakedDataType(), LeakSource: req.GetSubject().GetLeakSource(),
		Description: req.GetDescription(), PolicyPack: facts.Pack,
		AckDueAt: d.Acknowledgement.DueAt, ResolutionDueAt: d.Resolution.DueAt, RegulatorDueAt: facts.RegulatorDueAt,
		LookupCodeHash: s.keys.LookupCodeHash(caseNumber, lookupCode), LookupCodeEnc: codeEnc,
		ReceivedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(&c).Error; err != nil {
		return records.Case{}, err
	}
	for _, dl := range []policy.Deadline{d.Acknowledgement, d.Resolution} {
		row := records.Deadline{
			CaseID: caseID, Kind: dl.Kind, DueAt: dl.DueAt, RuleID: dl.RuleID, Citation: dl.Citation,
			Provisional: dl.Provisional, Pausable: dl.Pausable, Reminders: dl.Reminders, Status: "open",
		}
		if row.Reminders == nil {
			row.Reminders = []time.Time{}
		}
		if err := tx.Create(&row).Error; err != nil {
			return records.Case{}, err
		}
	}
	for _, a := range req.GetAttachments() {
		sum := sha256.Sum256(a.GetContent())
		enc, err := sk.Seal("attachment", a.GetContent())
		if err != nil {
			return records.Case{}, err
		}
		if err := tx.Create(&records.Attachment{
			ID: uuid.NewString(), CaseID: caseID, FileName: a.GetFileName(), ContentType: a.GetContentType(),
			SizeBytes: int64(len(a.GetContent())), SHA256: sum[:], ContentEnc: enc, CreatedAt: now,
		}).Error; err != nil {
			return records.Case{}, err
		}
	}
	return c, nil
}

func (s *Server) lookupCode(ctx context.Context, caseID string) (string, error) {
	var c records.Case
	if err := s.db.WithContext(ctx).Select("id", "complainant_id", "lookup_code_enc").Take(&c, "id = ?", caseID).Error; err != nil {
		return "", status.Error(codes.Unavailable, "read case failed; retry")
	}
	sk, err := s.subjectKey(ctx, c.ComplainantID)
	if err != nil {
		return "", nil // shredded subject: the code is gone with the key
	}
	code, err := sk.Open("lookup_code", c.LookupCodeEnc)
	if err != nil {
		return "", nil
	}
	return string(code), nil
}

func (s *Server) subjectKey(ctx context.Context, complainantID string) (crypto.SubjectKey, error) {
	return s.subjectKeyTx(s.db.WithContext(ctx), complainantID)
}

func (s *Server) subjectKeyTx(tx *gorm.DB, complainantID string) (crypto.SubjectKey, error) {
	var comp records.Complainant
	if err := tx.Select("id", "subject_key_id").Take(&comp, "id = ?", complainantID).Error; err != nil {
		return crypto.SubjectKey{}, err
	}
	return s.keys.SubjectKey(tx, comp.SubjectKeyID)
}
