package deletion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/deletion"
)

// One-time code limits.
const (
	CodeTTL             = 10 * time.Minute
	CodeMaxAttempts     = 5
	ChallengesPerWindow = 5 // per request per hour
)

// CodeLimits bound one-time codes beyond one request, within Window: codes
// sent and guesses checked per identifier (the phone or email, counted by its
// keyed index) and per principal, so that neither opening request after
// request for one number nor one credential working through many numbers
// gathers guesses.
type CodeLimits struct {
	Window                                   time.Duration
	SendsPerIdentifier, GuessesPerIdentifier int
	SendsPerPrincipal, GuessesPerPrincipal   int
}

// DefaultCodeLimits: at most ten guesses an hour at one person's code (of a
// million codes); a credential sends and checks codes for a few hundred
// requesters an hour.
var DefaultCodeLimits = CodeLimits{Window: time.Hour, SendsPerIdentifier: 5, GuessesPerIdentifier: 10,
	SendsPerPrincipal: 300, GuessesPerPrincipal: 600}

// refuse records a refused step in the audit chain (in its own transaction:
// the refusal changes nothing else) and answers err.
func (s *Server) refuse(ctx context.Context, deletionID, action, reason string, err error) error {
	s.refusal(ctx, "deletion_request", deletionID, action, map[string]any{"reason": reason})
	return err
}

// refusal writes the audit entry of a refused step; a failed write is logged.
func (s *Server) refusal(ctx context.Context, objectType, objectID, action string, details map[string]any) {
	werr := s.db.WithContext(context.WithoutCancel(ctx)).Transaction(func(tx *gorm.DB) error {
		_, e := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: action, ObjectType: objectType,
			ObjectID: objectID, At: s.now().UTC(), Details: details})
		return e
	})
	if werr != nil {
		s.log.Error("deletion: audit of a refusal failed", "object_id", objectID, "action", action, "err", werr)
	}
}

// countRefusal counts a refusal its caller can repeat at will (another
// credential's request, a code limit): audit.Count makes it one entry per
// principal and minute with the count, so a flood grows a counter, not the
// chain and the case timeline. A failed count is logged.
func (s *Server) countRefusal(ctx context.Context, action, kind, sample string) {
	actor := access.Actor(ctx)
	err := audit.Count(s.db.WithContext(context.WithoutCancel(ctx)), audit.Counted{Action: action, Actor: actor,
		ObjectType: "principal", ObjectID: actor, Kind: kind, Sample: sample, At: s.now()})
	if err != nil {
		s.log.Error("deletion: count of a refusal failed", "action", action, "err", err)
	}
}

// codeLimit tells the refusals of the code limits (spendCode, and the codes
// sent per request), which are counted rather than appended.
func codeLimit(reason string) bool {
	return reason == "identifier_limit" || reason == "principal_limit" || reason == "too_many_challenges"
}

// errRefused rolls back a transaction whose step was refused.
var errRefused = errors.New("refused")

// identifierIndex is the keyed index of the request's identifier on channel.
func identifierIndex(r Request, channel string) []byte {
	if channel == notify.ChannelSMS {
		return r.PhoneIndex
	}
	return r.EmailIndex
}

// spendCode counts one code sent or one guess checked ("send", "guess") for
// an identifier and the calling principal, in tx. When either reached its
// limit within the window it answers the refusal's audit reason and error;
// otherwise err is a database error.
func (s *Server) spendCode(ctx context.Context, tx *gorm.DB, kind string, r Request, channel string, now time.Time) (reason string, err error) {
	l, principal, identifier := s.codeLimits, access.Actor(ctx), identifierIndex(r, channel)
	// One at a time per identifier and per principal: parallel calls cannot overshoot.
	for _, k := range []string{"deletion-code-id:" + hex.EncodeToString(identifier), "deletion-code-principal:" + principal} {
		if err = tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, k).Error; err != nil {
			return "", err
		}
	}
	since := now.Add(-l.Window)
	// Events older than the window count no more: drop this identifier's and principal's.
	if err = tx.Exec(`DELETE FROM deletion_code_events WHERE (identifier_hash = ? OR principal = ?) AND at <= ?`, identifier, principal, since).Error; err != nil {
		return "", err
	}
	var byIdentifier, byPrincipal int64
	if err = tx.Raw(`SELECT count(*) FILTER (WHERE identifier_hash = ?), count(*) FILTER (WHERE principal = ?)
		FROM deletion_code_events WHERE kind = ? AND at > ? AND (identifier_hash = ? OR principal = ?)`,
		identifier, principal, kind, since, identifier, principal).Row().Scan(&byIdentifier, &byPrincipal); err != nil {
		return "", err
	}
	perIdentifier, perPrincipal, what := l.SendsPerIdentifier, l.SendsPerPrincipal, "codes sent"
	if kind == "guess" {
		perIdentifier, perPrincipal, what = l.GuessesPerIdentifier, l.GuessesPerPrincipal, "codes tried"
	}
	address := "phone number"
	if channel == notify.ChannelEmail {
		address = "email address"
	}
	minutes := int(l.Window.Minutes())
	switch {
	case byIdentifier >= int64(perIdentifier):
		return "identifier_limit", status.Errorf(codes.ResourceExhausted,
			"too many %s for this %s (over all its requests) in the last %d minutes; try again later", what, address, minutes)
	case byPrincipal >= int64(perPrincipal):
		return "principal_limit", status.Errorf(codes.ResourceExhausted,
			"too many %s by this credential in the last %d minutes; try again later", what, minutes)
	}
	return "", tx.Exec(`INSERT INTO deletion_code_events (kind, identifier_hash, principal, at) VALUES (?, ?, ?, ?)`,
		kind, identifier, principal, now).Error
}

func (s *Server) codeHash(challengeID, code string) []byte {
	return s.keys.Fingerprint([]byte("deletion-otp\x00" + challengeID + "\x00" + code))
}

// SendChallenge sends a one-time code to the request's phone or email.
func (s *Server) SendChallenge(ctx context.Context, req *deletionv1.SendChallengeRequest) (*deletionv1.SendChallengeResponse, error) {
	r, err := s.find(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	var channel string
	var sealed []byte
	switch req.GetChannel() {
	case deletionv1.Channel_CHANNEL_SMS:
		channel, sealed = notify.ChannelSMS, r.PhoneEnc
	case deletionv1.Channel_CHANNEL_EMAIL:
		channel, sealed = notify.ChannelEmail, r.EmailEnc
	default:
		return nil, validation.Invalid("channel", "must be SMS or EMAIL")
	}
	if sealed == nil {
		return nil, validation.Invalid("channel", "the request has no identifier on this channel")
	}
	if r.Status != wf.StatusAwaitingIdentity {
		return nil, s.refuse(ctx, r.ID, "deletion.challenge_refused", "not_awaiting_identity",
			status.Error(codes.FailedPrecondition, "the request is not awaiting identity verification"))
	}
	now := s.now().UTC()
	var recent int64
	if err := s.db.WithContext(ctx).Model(&Challenge{}).Where("deletion_id = ? AND created_at > ?", r.ID, now.Add(-time.Hour)).Count(&recent).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "retry")
	}
	if recent >= ChallengesPerWindow {
		s.countRefusal(ctx, "deletion.challenge_refused", "too_many_challenges", "deletion_request:"+r.ID)
		return nil, status.Error(codes.ResourceExhausted, "too many codes sent for this request; try again in an hour")
	}
	key, err := s.keys.SubjectKey(s.db.WithContext(ctx), r.SubjectKeyID)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, "the request's identifiers are no longer readable")
	}
	field := "deletion.phone"
	if channel == notify.ChannelEmail {
		field = "deletion.email"
	}
	addr, err := key.Open(field, sealed)
	if err != nil {
		return nil, status.Error(codes.Internal, "identifier unreadable")
	}
	code := newCode()
	ch := Challenge{ID: uuid.NewString(), DeletionID: r.ID, Channel: channel, MaxAttempts: CodeMaxAttempts,
		ExpiresAt: now.Add(CodeTTL), CreatedAt: now}
	ch.CodeHash = s.codeHash(ch.ID, code)
	var reason string
	var refusal error
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if reason, err = s.spendCode(ctx, tx, "send", r, channel, now); reason != "" {
			refusal = err
			return errRefused
		} else if err != nil {
			return err
		}
		if err := tx.Create(&ch).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "deletion.challenge_sent", ObjectType: "deletion_request",
			ObjectID: r.ID, At: now, Details: map[string]any{"challenge_id": ch.ID, "channel": channel, "expires_at": ch.ExpiresAt}})
		return err
	})
	if refusal != nil {
		s.countRefusal(ctx, "deletion.challenge_refused", reason, "deletion_request:"+r.ID)
		return nil, refusal
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the code could not be recorded; retry")
	}
	to := notify.Recipient{Preferred: channel}
	if channel == notify.ChannelSMS {
		to.Phone = string(addr)
	} else {
		to.Email = string(addr)
	}
	notice := notify.Notice{Kind: notify.KindReply, Language: r.Language, CaseNumber: reference(r.ID), DedupeKey: "deletion-otp/" + ch.ID,
		Body: codeText(r.Language, code)}
	if err := s.sender.Send(ctx, to, notice); err != nil {
		s.log.Warn("deletion: one-time code not sent", "deletion_id", r.ID, "channel", channel, "err", err)
		return nil, status.Error(codes.Unavailable, "the code could not be sent; retry")
	}
	return &deletionv1.SendChallengeResponse{ChallengeId: ch.ID, ExpiresAt: timestamppb.New(ch.ExpiresAt), AttemptsLeft: int32(ch.MaxAttempts)}, nil
}

// reference is the short reference told to the requester.
func reference(id string) string { return "DR-" + id[:8] }

func codeText(lang, code string) string {
	if lang == notify.LangEN {
		return fmt.Sprintf("Your verification code for your personal-information deletion request is %s. It expires in %d minutes. Do not share it.", code, int(CodeTTL.Minutes()))
	}
	return fmt.Sprintf("您的个人信息删除申请验证码为 %s，%d 分钟内有效，请勿告知他人。", code, int(CodeTTL.Minutes()))
}

func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1000000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// VerifyChallenge checks a code. Wrong, expired and exhausted codes are
// refused and audited; a match verifies that identifier in the workflow.
func (s *Server) VerifyChallenge(ctx context.Context, req *deletionv1.VerifyChallengeRequest) (*deletionv1.VerifyChallengeResponse, error) {
	var e validation.Errors
	e.UUID("challenge_id", req.GetChallengeId())
	if len(req.GetCode()) != 6 {
		e.Add("code", "must be the 6 digits sent")
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	var ch Challenge
	err := s.db.WithContext(ctx).Take(&ch, "id = ?", req.GetChallengeId()).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Error(codes.NotFound, "no such challenge")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the code could not be checked; retry")
	}
	r, err := s.find(ctx, ch.DeletionID) // the caller may see the request
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var refusal error
	var reason string
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&ch, "id = ?", req.GetChallengeId()).Error; err != nil {
			return err
		}
		switch {
		case ch.VerifiedAt != nil:
			reason, refusal = "already_used", status.Error(codes.FailedPrecondition, "code: this code was already used")
		case !now.Before(ch.ExpiresAt):
			reason, refusal = "expired", status.Error(codes.FailedPrecondition, "code: expired; ask for a new code")
		case ch.Attempts >= ch.MaxAttempts:
			reason, refusal = "too_many_attempts", status.Error(codes.ResourceExhausted, "code: too many attempts; ask for a new code")
		default:
			var err error
			if reason, err = s.spendCode(ctx, tx, "guess", r, ch.Channel, now); reason != "" {
				refusal = err
			} else if err != nil {
				return err
			}
		}
		if refusal == nil {
			ch.Attempts++
			ok := s.keys != nil && equal(ch.CodeHash, s.codeHash(ch.ID, req.GetCode()))
			updates := map[string]any{"attempts": ch.Attempts}
			if ok {
				updates["verified_at"] = now
			} else {
				left := ch.MaxAttempts - ch.Attempts
				reason = "wrong_code"
				refusal = validation.Invalid("code", fmt.Sprintf("does not match (%d attempts left)", left))
			}
			if err := tx.Model(&ch).Updates(updates).Error; err != nil {
				return err
			}
		}
		if codeLimit(reason) { // counted below; nothing changed
			return nil
		}
		action := "deletion.challenge_verified"
		if refusal != nil {
			action = "deletion.challenge_refused"
		}
		_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: action, ObjectType: "deletion_request",
			ObjectID: ch.DeletionID, At: now, Details: map[string]any{"challenge_id": ch.ID, "channel": ch.Channel, "reason": reason, "attempts": ch.Attempts}})
		return err
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Error(codes.NotFound, "no such challenge")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the code could not be checked; retry")
	}
	if refusal != nil {
		if codeLimit(reason) {
			s.countRefusal(ctx, "deletion.challenge_refused", reason, "deletion_request:"+ch.DeletionID)
		}
		return nil, refusal
	}
	if err := s.update(ctx, ch.DeletionID, wf.UpdateIdentityVerified, wf.Action{Actor: access.Actor(ctx), Method: "otp", Channel: ch.Channel}); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, ch.DeletionID)
	if err != nil {
		return nil, err
	}
	return &deletionv1.VerifyChallengeResponse{Deletion: d}, nil
}

// AttestIdentity records an agent's attestation of the requester's identity.
func (s *Server) AttestIdentity(ctx context.Context, req *deletionv1.AttestIdentityRequest) (*deletionv1.AttestIdentityResponse, error) {
	var e validation.Errors
	e.UUID("deletion_id", req.GetDeletionId())
	e.Text("reason", req.GetReason(), 10, 1000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	r, err := s.find(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	if r.Status != wf.StatusAwaitingIdentity {
		return nil, s.refuse(ctx, r.ID, "deletion.attestation_refused", "not_awaiting_identity",
			status.Error(codes.FailedPrecondition, "the request is not awaiting identity verification"))
	}
	if r.Source == "self" {
		return nil, s.refuse(ctx, r.ID, "deletion.attestation_refused", "self_verified_by_code",
			status.Error(codes.FailedPrecondition, "a SELF request is verified by a one-time code sent to the requester, not by attestation"))
	}
	actor := access.Actor(ctx)
	// The reason is the agent's own statement: kept on the request, never in
	// workflow history. Who attested is kept too: a person's attestation is
	// never auto-approved, and its author cannot approve the plan.
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		key, err := s.keys.SubjectKey(tx, r.SubjectKeyID)
		if err != nil {
			return err
		}
		reason, err := key.Seal(fieldAttestation, []byte(req.GetReason()))
		if err != nil {
			return err
		}
		if err := tx.Model(&Request{}).Where("id = ?", r.ID).Updates(map[string]any{"attestation_reason_enc": reason,
			"attested_by": actor, "attested_by_human": access.IsPerson(ctx)}).Error; err != nil {
			return err
		}
		_, err = audit.Append(tx, audit.Entry{Actor: actor, Action: "deletion.attestation_recorded", ObjectType: "deletion_request",
			ObjectID: r.ID, At: s.now().UTC(), AfterDigest: s.keys.TextDigest(req.GetReason())})
		return err
	})
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the attestation could not be recorded; retry")
	}
	if err := s.update(ctx, r.ID, wf.UpdateIdentityVerified, wf.Action{Actor: actor, Method: "attestation"}); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	return &deletionv1.AttestIdentityResponse{Deletion: d}, nil
}
