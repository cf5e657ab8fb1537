package deletion_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/notify"
	"gorm.io/gorm"
)

// capture is a notify.Sender that keeps what it was asked to send.
type capture struct {
	mu   sync.Mutex
	sent []notify.Notice
	to   []notify.Recipient
}

func (c *capture) Send(_ context.Context, to notify.Recipient, n notify.Notice) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent, c.to = append(c.sent, n), append(c.to, to)
	return nil
}

var sixDigits = regexp.MustCompile(`\d{6}`)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func challengeServer(t *testing.T) (*deletion.Server, *capture, *clock, *gorm.DB, context.Context) {
	snd, clk := &capture{}, &clock{t: time.Now()}
	srv, db := testServer(t, deletion.Config{Sender: snd, Now: clk.now})
	return srv, snd, clk, db, access.WithActor(context.Background(), "agent.li")
}

func refusals(db *gorm.DB, id, reason string) int64 {
	var n int64
	db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.challenge_refused' AND details LIKE ?", id, "%"+reason+"%").Count(&n)
	return n
}

func TestChallengeExpiryAndAttempts(t *testing.T) {
	srv, snd, clk, db, ctx := challengeServer(t)
	resp, err := srv.SubmitDeletion(ctx, item("otp-00000001"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	if _, err := srv.SendChallenge(ctx, &deletionv1.SendChallengeRequest{DeletionId: id}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no channel: %v", err)
	}
	ch, err := srv.SendChallenge(ctx, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_SMS})
	if err != nil {
		t.Fatal(err)
	}
	if len(snd.sent) != 1 || snd.to[0].Phone != "+8613900000001" || snd.to[0].Channel() != notify.ChannelSMS {
		t.Fatalf("sent %v to %v", snd.sent, snd.to)
	}
	code := sixDigits.FindString(snd.sent[0].Body)
	wrong := "123456"
	if code == wrong {
		wrong = "654321"
	}
	// Wrong codes until the attempts run out; then even the right code is refused.
	for i := range deletion.CodeMaxAttempts {
		_, err := srv.VerifyChallenge(ctx, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(), Code: wrong})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := srv.VerifyChallenge(ctx, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(), Code: code}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("after too many attempts: %v", err)
	}
	if refusals(db, id, "wrong_code") != int64(deletion.CodeMaxAttempts) || refusals(db, id, "too_many_attempts") != 1 {
		t.Fatal("refusals not audited")
	}
	// A fresh code expires.
	ch2, err := srv.SendChallenge(ctx, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_EMAIL})
	if err != nil {
		t.Fatal(err)
	}
	code2 := sixDigits.FindString(snd.sent[1].Body)
	clk.t = clk.t.Add(deletion.CodeTTL + time.Second)
	if _, err := srv.VerifyChallenge(ctx, &deletionv1.VerifyChallengeRequest{ChallengeId: ch2.GetChallengeId(), Code: code2}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("expired code: %v", err)
	}
	if refusals(db, id, "expired") != 1 {
		t.Fatal("expired code not audited")
	}
	// Codes are rate-limited per request.
	var last error
	for range deletion.ChallengesPerWindow {
		_, last = srv.SendChallenge(ctx, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_EMAIL})
	}
	if status.Code(last) != codes.ResourceExhausted {
		t.Fatalf("sixth code in an hour: %v", last)
	}
}
