package deletion

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/ratelimit"
	"github.com/redress/redress/services/internal/signing"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/policy"
)

// Server implements deletionv1.DeletionServiceServer.
type Server struct {
	deletionv1.UnimplementedDeletionServiceServer
	db       *gorm.DB
	keys     *crypto.Keyring
	policy   *policy.Engine
	temporal client.Client
	starter  *Starter
	batches  *Starter
	commands *signing.Signer
	sender   notify.Sender
	log      *slog.Logger
	now      func() time.Time

	checkMapping func([]byte) error
	tester       func(context.Context, Connector) error
	codeLimits   CodeLimits
	suppression  *ratelimit.Limiter // CheckSuppression calls per caller
}

// Config holds the server's dependencies.
type Config struct {
	DB       *gorm.DB
	Keys     *crypto.Keyring
	Policy   *policy.Engine
	Temporal client.Client
	Starter  *Starter
	// Batches starts the batch workflows of bulk pipeline submissions
	// (NewBatchStarter); nil: every request gets its own workflow.
	Batches  *Starter
	Commands *signing.Signer // seals the steps sent to request workflows
	Sender   notify.Sender   // one-time codes
	Log      *slog.Logger
	Now      func() time.Time
	// CheckMapping checks a PostgreSQL connector's mapping (connectors.ParseMapping).
	CheckMapping func([]byte) error
	// Tester runs a registered connector's health check (the worker's
	// connector registry builds it); its error is the reason shown.
	Tester func(ctx context.Context, c Connector) error
	// CodeLimits bound one-time codes per identifier and per principal
	// (zero: DefaultCodeLimits).
	CodeLimits CodeLimits
}

// New builds the server.
func New(c Config) *Server {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.CodeLimits.Window <= 0 {
		c.CodeLimits = DefaultCodeLimits
	}
	return &Server{db: c.DB, keys: c.Keys, policy: c.Policy, temporal: c.Temporal, starter: c.Starter, batches: c.Batches, commands: c.Commands,
		sender: c.Sender, log: c.Log, now: c.Now, checkMapping: c.CheckMapping, tester: c.Tester, codeLimits: c.CodeLimits,
		suppression: ratelimit.NewLimiter(suppressionCalls, time.Minute)}
}

// MaxBatch bounds one SubmitDeletionBatch call.
const MaxBatch = 1000

var errKeyRace = errors.New("idempotency key taken by a concurrent submission")

// SubmitDeletion records one request durably and hands it to its workflow.
func (s *Server) SubmitDeletion(ctx context.Context, req *deletionv1.SubmitDeletionRequest) (*deletionv1.SubmitDeletionResponse, error) {
	ids, errs := s.submit(ctx, []*deletionv1.SubmitDeletionRequest{req}, "")
	if errs[0] != nil {
		return nil, errs[0]
	}
	return s.answer(ctx, ids[0])
}

func (s *Server) answer(ctx context.Context, id string) (*deletionv1.SubmitDeletionResponse, error) {
	d, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	return &deletionv1.SubmitDeletionResponse{Deletion: d}, nil
}

// SubmitDeletionBatch records many requests in one transaction (a group
// commit) and answers each item on its own: a bad item is refused alone.
func (s *Server) SubmitDeletionBatch(ctx context.Context, req *deletionv1.SubmitDeletionBatchRequest) (*deletionv1.SubmitDeletionBatchResponse, error) {
	n := len(req.GetItems())
	if n == 0 || n > MaxBatch {
		return nil, validation.Invalid("items", fmt.Sprintf("must hold 1 to %d requests", MaxBatch))
	}
	ids, errs := s.submit(ctx, req.GetItems(), "items")
	resp := &deletionv1.SubmitDeletionBatchResponse{Results: make([]*deletionv1.BatchItemResult, n)}
	for i := range n {
		r := &deletionv1.BatchItemResult{Index: int32(i), DeletionId: ids[i]}
		if errs[i] != nil {
			st := status.Convert(errs[i])
			r.ErrorCode, r.ErrorMessage, r.DeletionId = st.Code().String(), st.Message(), ""
		}
		resp.Results[i] = r
	}
	return resp, nil
}

type pending struct {
	index       int
	key         string
	fingerprint []byte
	row         Request
}

// submit validates every item, answers replays, and records the new ones in
// one transaction; it answers an id or an error per item.
func (s *Server) submit(ctx context.Context, items []*deletionv1.SubmitDeletionRequest, field string) ([]string, []error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	actor := access.Actor(ctx)
	ids := make([]string, len(items))
	errs := make([]error, len(items))
	due, err := s.deadline(now)
	if err != nil {
		for i := range errs {
			errs[i] = status.Error(codes.Internal, "no deadline rule applies")
		}
		return ids, errs
	}
	var todo []pending
	wrongSource := 0
	keys := make([]string, 0, len(items))
	for i, it := range items {
		if err := validateSubmit(it, now); err != nil {
			errs[i] = err
			continue
		}
		if it.GetAttestationReason() != "" && !access.Holds(ctx, access.DeletionAttest) {
			errs[i] = status.Errorf(codes.PermissionDenied, "%s needs %s", prefix(field, i, "attestation_reason"), access.DeletionAttest)
			continue
		}
		if err := checkSource(ctx, it.GetSource(), prefix(field, i, "source")); err != nil {
			errs[i] = err
			wrongSource++
			continue
		}
		p := pending{index: i, key: actor + "/" + it.GetIdempotencyKey(), fingerprint: s.fingerprint(it)}
		todo = append(todo, p)
		keys = append(keys, p.key)
	}
	if wrongSource > 0 {
		method, _ := grpc.Method(ctx)
		p, _ := access.PrincipalFrom(ctx)
		for range wrongSource {
			s.countRefusal(ctx, "deletion.submit_refused", method+" source_not_for_role ("+string(p.Role)+")", "")
		}
	}
	// Replays: the same key answers the same request; another request under it is refused.
	seen := map[string]Idempotency{}
	if len(keys) > 0 {
		var rows []Idempotency
		if err := s.db.WithContext(ctx).Where("key IN ?", keys).Find(&rows).Error; err != nil {
			for _, p := range todo {
				errs[p.index] = status.Error(codes.Unavailable, "idempotency check failed; retry")
			}
			return ids, errs
		}
		for _, r := range rows {
			seen[r.Key] = r
		}
	}
	var fresh []pending
	inBatch := map[string]int{}
	for _, p := range todo {
		if r, ok := seen[p.key]; ok {
			if crypto.EqualHash(r.RequestHash, p.fingerprint) {
				ids[p.index] = r.DeletionID
			} else {
				errs[p.index] = validation.Invalid(prefix(field, p.index, "idempotency_key"), "was already used for a different request")
			}
			continue
		}
		if j, dup := inBatch[p.key]; dup {
			errs[p.index] = validation.Invalid(prefix(field, p.index, "idempotency_key"), fmt.Sprintf("repeats item %d", j))
			continue
		}
		inBatch[p.key] = p.index
		fresh = append(fresh, p)
	}
	if len(fresh) == 0 {
		return ids, errs
	}
	var batch *Batch
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		batch = nil // a retried transaction starts afresh
		rows := make([]Request, len(fresh))
		idem := make([]Idempotency, len(fresh))
		entries := make([]audit.Entry, len(fresh))
		for k := range fresh {
			p := &fresh[k]
			row, err := s.newRequest(tx, items[p.index], actor, access.IsPerson(ctx), now, due)
			if err != nil {
				return err
			}
			if field != "" && s.batches != nil && batchable(row) {
				if batch == nil {
					batch = &Batch{ID: uuid.NewString(), SubmittedBy: actor, CreatedAt: now}
				}
				// The batch's workflow carries it: the record says it is in hand.
				row.BatchID, row.WorkflowStartedAt = &batch.ID, &now
				batch.Size++
			}
			p.row, rows[k] = row, row
			idem[k] = Idempotency{Key: p.key, RequestHash: p.fingerprint, Keyed: true, DeletionID: row.ID, CreatedAt: now}
			entries[k] = audit.Entry{
				Actor: actor, Action: "deletion.submitted", ObjectType: "deletion_request", ObjectID: row.ID,
				AfterDigest: audit.Digest(row.AuditView()), At: now,
				Details: map[string]any{"source": row.Source, "type": row.Type, "due_at": due.DueAt, "due_rule": due.RuleID,
					"phone": row.PhoneEnc != nil, "email": row.EmailEnc != nil},
			}
			if row.BatchID != nil {
				entries[k].Details["batch_id"] = *row.BatchID
			}
			if row.IdentityMethod == "attestation" {
				// The reason is the submitter's own statement: on the request, digested here.
				entries = append(entries, audit.Entry{Actor: actor, Action: "deletion.identity_verified", ObjectType: "deletion_request",
					ObjectID: row.ID, At: now, AfterDigest: s.keys.TextDigest(row.AttestationReason),
					Details: map[string]any{"method": "attestation", "at_submission": true}})
			}
		}
		if batch != nil {
			if err := tx.Create(batch).Error; err != nil {
				return err
			}
		}
		if err := tx.CreateInBatches(rows, 500).Error; err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(idem, 500)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(len(idem)) {
			return errKeyRace
		}
		_, err := audit.AppendAll(tx, entries)
		return err
	})
	if err != nil {
		s.log.Error("deletion submit: record", "err", err, "items", len(fresh))
		for _, p := range fresh {
			errs[p.index] = status.Error(codes.Unavailable, "the request could not be recorded; retry with the same idempotency key")
		}
		return ids, errs
	}
	for _, p := range fresh {
		ids[p.index] = p.row.ID
		if p.row.BatchID == nil {
			s.starter.Enqueue(p.row.ID)
		}
	}
	if batch != nil {
		s.batches.Enqueue(batch.ID)
	}
	return ids, errs
}

// batchable: a request of a bulk submission that its pipeline vouched for
// runs with its batch (DeletionBatchWorkflow). Only such a plan can be
// auto-approved; any other request, and any batched one whose plan turns
// out to need a person, gets its own workflow.
func batchable(r Request) bool {
	return r.Source == "pipeline" && r.IdentityMethod == "attestation" && !r.AttestedByHuman
}

// checkSource refuses a source the caller may not declare (submit audits the
// refusal): the source says who stands behind the request, and auto-approval
// trusts it. Only automation
// credentials submit PIPELINE and SELF requests (a partner's pipeline, the
// requester's own app or form); a person enters AGENT or CASE requests. A
// call without a principal (tests only) may declare any.
func checkSource(ctx context.Context, src deletionv1.Source, field string) error {
	p, ok := access.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	automation := p.Role == access.Automation
	var reason string
	switch src {
	case deletionv1.Source_SOURCE_PIPELINE, deletionv1.Source_SOURCE_SELF:
		if !automation {
			reason = "may be declared only by an automation credential; a person enters requests as AGENT or CASE"
		}
	default:
		if automation {
			reason = "an automation credential submits PIPELINE or SELF requests; AGENT and CASE are entered by a person"
		}
	}
	if reason == "" {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "%s: %s %s", field, strings.TrimPrefix(src.String(), "SOURCE_"), reason)
}

func prefix(field string, i int, name string) string {
	if field == "" {
		return name
	}
	return fmt.Sprintf("%s[%d].%s", field, i, name)
}

// deadline is the policy's answer for a personal-information request: the
// strictest applicable rule (CN: 15 working days, A1).
func (s *Server) deadline(now time.Time) (policy.Deadline, error) {
	d, err := s.policy.Decide(RequestFacts(now))
	if err != nil {
		return policy.Deadline{}, err
	}
	return d.Resolution, nil
}

// RequestFacts are what the policy decides a request's deadline on.
func RequestFacts(received time.Time) policy.Facts {
	return policy.Facts{Pack: "cn", Kind: "complaint", Category: "personal_information_leak", Channel: "api", ReceivedAt: received}
}

func (s *Server) newRequest(tx *gorm.DB, it *deletionv1.SubmitDeletionRequest, actor string, human bool, now time.Time, due policy.Deadline) (Request, error) {
	key, err := s.keys.NewSubjectKey(tx)
	if err != nil {
		return Request{}, err
	}
	row := Request{
		ID: uuid.NewString(), Type: enumName(it.GetType().String(), "REQUEST_TYPE_"),
		Source: enumName(it.GetSource().String(), "SOURCE_"), Status: wf.StatusAwaitingIdentity,
		SubjectKeyID: key.ID, Language: languageOf(it.GetLanguage()), DueAt: due.DueAt, DueRule: due.RuleID,
		SubmittedBy: actor, CreatedAt: now, UpdatedAt: now,
	}
	if r := it.GetAttestationReason(); r != "" {
		row.IdentityMethod, row.AttestationReason = "attestation", r
		if row.AttestationReasonEnc, err = key.Seal(fieldAttestation, []byte(r)); err != nil {
			return Request{}, err
		}
		row.AttestedBy, row.AttestedByHuman = actor, human
	}
	if it.GetCaseId() != "" {
		c := it.GetCaseId()
		row.CaseID = &c
	}
	if p := it.GetPhone(); p.GetNumber() != "" {
		n := crypto.NormalisePhone(p.GetNumber())
		if row.PhoneEnc, err = key.Seal("deletion.phone", []byte(p.GetNumber())); err != nil {
			return Request{}, err
		}
		row.PhoneIndex = s.keys.PhoneIndex(n)
		if p.GetHeldFrom() != nil {
			t := p.GetHeldFrom().AsTime()
			row.PhoneHeldFrom = &t
		}
		if p.GetHeldUntil() != nil {
			t := p.GetHeldUntil().AsTime()
			row.PhoneHeldUntil = &t
		}
	}
	if e := it.GetEmail(); e != "" {
		e = strings.ToLower(strings.TrimSpace(e))
		if row.EmailEnc, err = key.Seal("deletion.email", []byte(e)); err != nil {
			return Request{}, err
		}
		row.EmailIndex = s.keys.EmailIndex(e)
	}
	return row, nil
}

func languageOf(l string) string {
	if l == notify.LangEN {
		return notify.LangEN
	}
	return notify.LangZH
}

func enumName(full, prefix string) string { return strings.ToLower(strings.TrimPrefix(full, prefix)) }

// fingerprint identifies a submission's content for idempotency: a keyed
// hash, since the request holds a phone number or an email address (a plain
// hash of a phone number is reversed by trying the ~10^10 candidates).
func (s *Server) fingerprint(req *deletionv1.SubmitDeletionRequest) []byte {
	c := proto.Clone(req).(*deletionv1.SubmitDeletionRequest)
	c.IdempotencyKey = ""
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	sum := sha256.Sum256(b)
	return s.keys.Fingerprint(sum[:])
}

// RekeyIdempotency replaces the plain SHA-256 fingerprints that requests
// accepted before keyed fingerprints still carry (keyed = false) with keyed
// ones: the keyed fingerprint is the keyed hash of that same SHA-256, so
// retries of those requests are still recognised.
func RekeyIdempotency(ctx context.Context, db *gorm.DB, keys *crypto.Keyring) (int, error) {
	var rows []Idempotency
	if err := db.WithContext(ctx).Where("NOT keyed").Find(&rows).Error; err != nil {
		return 0, err
	}
	for _, r := range rows {
		err := db.WithContext(ctx).Model(&Idempotency{}).Where("key = ? AND NOT keyed", r.Key).
			Updates(map[string]any{"request_hash": keys.Fingerprint(r.RequestHash), "keyed": true}).Error
		if err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}
