// Package intake implements IntakeService: it records submissions durably,
// answers reads from the database, and carries every human action on a case
// to the case's workflow as a Temporal Update.
package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/signing"
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
	commands *signing.Signer
	commits  *committer
	log      *slog.Logger
	now      func() time.Time
	alerts   alerts.Raiser
}

// Config holds the server's dependencies.
type Config struct {
	DB       *gorm.DB
	Keys     *crypto.Keyring
	Policy   *policy.Engine
	Temporal client.Client
	Starter  *Starter        // starts the workflow of a case acted on before the worker did
	Commands *signing.Signer // seals the actions sent to case workflows
	Log      *slog.Logger
	Now      func() time.Time // defaults to time.Now
	// Alerts tells staff that a complainant wrote; nil: nobody is told.
	Alerts alerts.Raiser
}

// New builds the server.
func New(c Config) *Server {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &Server{db: c.DB, keys: c.Keys, policy: c.Policy, temporal: c.Temporal, starter: c.Starter,
		commands: c.Commands, commits: newCommitter(c.DB, c.Keys), log: c.Log, now: now, alerts: c.Alerts}
}

// Close stops the group committer; call it after the gRPC server drained.
func (s *Server) Close() { s.commits.close() }

var errKeyRace = errors.New("idempotency key taken by a concurrent submission")

// SubmitComplaint commits the case, its complainant (encrypted), deadlines,
// attachments, idempotency key and audit entry in one transaction (shared
// with the submissions arriving at the same moment: see committer), answers
// once that committed; the commit tells the worker's case starter, which
// starts the workflow (its periodic pass covers a failed start).
func (s *Server) SubmitComplaint(ctx context.Context, req *intakev1.SubmitComplaintRequest) (*intakev1.SubmitComplaintResponse, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	if err := validateSubmit(req, now, Packs); err != nil {
		return nil, err
	}
	if access.WebFormOnly(ctx) && req.GetChannel() != intakev1.Channel_CHANNEL_WEB_FORM {
		return nil, status.Error(codes.PermissionDenied, "channel: the public site submits web-form complaints only")
	}
	if access.InboundOnly(ctx) && req.GetChannel() != intakev1.Channel_CHANNEL_EMAIL && req.GetChannel() != intakev1.Channel_CHANNEL_SMS {
		return nil, status.Error(codes.PermissionDenied, "channel: the inbound gateway submits email and SMS complaints only")
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

	sub, err := s.prepare(req, facts, decision, key, fingerprint, actor, now)
	if err != nil {
		s.log.Error("submit: prepare case", "err", err)
		return nil, status.Error(codes.Internal, "the complaint could not be prepared")
	}
	if !s.commits.offer(sub) {
		return nil, status.Error(codes.ResourceExhausted, "intake is at capacity; retry with the same idempotency key after a short wait")
	}
	select {
	case err = <-sub.done:
	case <-ctx.Done():
		// The group may still commit it: a retry with the same key converges.
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if errors.Is(err, errKeyRace) {
		if resp, err := s.replay(ctx, key, fingerprint); resp != nil || err != nil {
			return resp, err
		}
	}
	if err != nil {
		s.log.Error("submit: record case", "err", err)
		return nil, status.Error(codes.Unavailable, "the complaint could not be recorded; retry with the same idempotency key")
	}
	return &intakev1.SubmitComplaintResponse{Case: s.submittedCase(ctx, sub, req), LookupCode: sub.lookupCode}, nil
}

// submittedCase is the answer to a committed submission, built from the
// rows just written (the same view GetCase gives, without reading it back).
func (s *Server) submittedCase(ctx context.Context, sub *submission, req *intakev1.SubmitComplaintRequest) *intakev1.Case {
	out := caseProto(sub.c, sub.deadlines)
	out.AllowedActions = allowedActions(ctx, sub.c.State)
	p := req.GetComplainant()
	out.Complainant = &intakev1.Complainant{
		PreferredContact: sub.comp.PreferredContact, Name: crypto.MaskName(p.GetName()),
		Phone: crypto.MaskPhone(p.GetPhone()), Email: crypto.MaskEmail(p.GetEmail()), IdNumber: crypto.MaskIDNumber(p.GetIdNumber()),
	}
	for _, a := range sub.atts {
		out.Attachments = append(out.Attachments, attachmentProto(a, a.FileName))
	}
	return out
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

// prepare builds a submission's rows and seals its personal data under a
// new subject key, outside any transaction; the committer stores them.
func (s *Server) prepare(req *intakev1.SubmitComplaintRequest, facts policy.Facts, d policy.Decision,
	key string, fingerprint []byte, actor string, now time.Time) (*submission, error) {
	sk, err := s.keys.PrepareSubjectKey()
	if err != nil {
		return nil, err
	}
	caseID := uuid.NewString()
	sub := &submission{key: sk, lookupCode: crypto.NewLookupCode(), done: make(chan error, 1), size: int64(proto.Size(req))}
	p := req.GetComplainant()
	sub.comp = records.Complainant{
		ID: uuid.NewString(), SubjectKeyID: sk.ID, PreferredContact: p.GetPreferredContact(),
		PhoneIndex: s.keys.PhoneIndex(p.GetPhone()), EmailIndex: s.keys.EmailIndex(p.GetEmail()), CreatedAt: now,
	}
	if sub.comp.PreferredContact == "" {
		sub.comp.PreferredContact = "email"
		if p.GetEmail() == "" {
			sub.comp.PreferredContact = "sms"
		}
	}
	for _, f := range []struct {
		dst   *[]byte
		field string
		value string
	}{
		{&sub.comp.NameEnc, "name", p.GetName()}, {&sub.comp.PhoneEnc, "phone", p.GetPhone()},
		{&sub.comp.EmailEnc, "email", p.GetEmail()}, {&sub.comp.IDNumberEnc, "id_number", p.GetIdNumber()},
	} {
		if *f.dst, err = sk.Seal(f.field, []byte(f.value)); err != nil {
			return nil, err
		}
	}
	codeEnc, err := sk.Seal("lookup_code", []byte(sub.lookupCode))
	if err != nil {
		return nil, err
	}
	sub.c = records.Case{
		ID: caseID, Kind: facts.Kind, Category: facts.Category, Channel: facts.Channel,
		ReferringBody: facts.ReferringBody, State: complaint.StateReceived, ComplainantID: sub.comp.ID,
		SubjectType: subjectTypeName(req.GetSubject().GetType()), SubjectValue: req.GetSubject().GetValue(),
		LeakedDataType: req.GetSubject().GetLeakedDataType(), LeakSource: req.GetSubject().GetLeakSource(),
		Description: req.GetDescription(), PolicyPack: facts.Pack, Language: languageOf(req.GetLanguage()),
		AckDueAt: d.Acknowledgement.DueAt, ResolutionDueAt: d.Resolution.DueAt, RegulatorDueAt: facts.RegulatorDueAt,
		LookupCodeEnc: codeEnc, ReceivedAt: now, UpdatedAt: now, SubmittedBy: &actor,
	}
	if err := sealCaseText(sk.SubjectKey, &sub.c); err != nil {
		return nil, err
	}
	if id := req.GetSourceMessageId(); id != "" {
		if sub.c.SourceMessageIDEnc, err = sk.Seal(records.FieldSourceMessageID, []byte(id)); err != nil {
			return nil, err
		}
	}
	sub.tokens = caseTokens(s.keys, caseID, sub.c.Description, sub.c.SubjectValue)
	for _, dl := range []policy.Deadline{d.Acknowledgement, d.Resolution} {
		row := records.Deadline{
			CaseID: caseID, Kind: dl.Kind, DueAt: dl.DueAt, RuleID: dl.RuleID, Citation: dl.Citation,
			Provisional: dl.Provisional, Pausable: dl.Pausable, Reminders: dl.Reminders, Status: "open",
		}
		if row.Reminders == nil {
			row.Reminders = []time.Time{}
		}
		sub.deadlines = append(sub.deadlines, row)
	}
	for _, a := range req.GetAttachments() {
		sum := sha256.Sum256(a.GetContent())
		enc, err := sk.Seal(fieldAttachment, a.GetContent())
		if err != nil {
			return nil, err
		}
		name, err := sk.Seal(fieldAttachmentName, []byte(a.GetFileName()))
		if err != nil {
			return nil, err
		}
		sub.atts = append(sub.atts, records.Attachment{
			ID: uuid.NewString(), CaseID: caseID, FileName: a.GetFileName(), FileNameEnc: name, ContentType: a.GetContentType(),
			SizeBytes: int64(len(a.GetContent())), SHA256: sum[:], ContentEnc: enc, CreatedAt: now,
		})
		sub.size += int64(len(enc))
	}
	sub.idem = records.IntakeIdempotency{Key: key, RequestHash: fingerprint, CaseID: caseID, CreatedAt: now}
	sub.entry = audit.Entry{
		Actor: actor, Action: "case.submitted", ObjectType: "case", ObjectID: caseID, At: now,
		Details: map[string]any{ // the committer adds case_number
			"kind": sub.c.Kind, "category": sub.c.Category, "channel": sub.c.Channel,
			"ack_rule": d.Acknowledgement.RuleID, "resolution_rule": d.Resolution.RuleID,
			"attachments": len(req.GetAttachments()),
		},
	}
	return sub, nil
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
