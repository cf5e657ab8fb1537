package deletion

import (
	"context"
	"crypto/rand"
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

// refuse records a refused step in the audit chain (in its own transaction:
// the refusal changes nothing else) and answers err.
func (s *Server) refuse(ctx context.Context, deletionID, action, reason string, err error) error {
	werr := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, e := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: action, ObjectType: "deletion_request",
			ObjectID: deletionID, At: s.now().UTC(), Details: map[string]any{"reason": reason}})
		return e
	})
	if werr != nil {
		s.log.Error("deletion: audit of a refusal failed", "deletion_id", deletionID, "action", action, "err", werr)
	}
	return err
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
		return nil, s.refuse(ctx, r.ID, "deletion.challenge_refused", "too_many_challenges",
			status.Error(codes.ResourceExhausted, "too many codes sent for this request; try again in an hour"))
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
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&ch).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "deletion.challenge_sent", ObjectType: "deletion_request",
			ObjectID: r.ID, At: now, Details: map[string]any{"challenge_id": ch.ID, "channel": channel, "expires_at": ch.ExpiresAt}})
		return err
	})
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
	now := s.now().UTC()
	var ch Challenge
	var refusal error
	var reason string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
	actor := access.Actor(ctx)
	// The reason is the agent's own statement: kept on the request, never in workflow history.
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&Request{}).Where("id = ?", r.ID).Update("attestation_reason", req.GetReason()).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{Actor: actor, Action: "deletion.attestation_recorded", ObjectType: "deletion_request",
			ObjectID: r.ID, At: s.now().UTC(), AfterDigest: audit.Digest(req.GetReason())})
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
