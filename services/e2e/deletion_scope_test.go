package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
)

func emailOnly(key string, who int) *deletionv1.SubmitDeletionRequest {
	return &deletionv1.SubmitDeletionRequest{IdempotencyKey: key, Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(who), Language: "en"}
}

// One-time codes are limited per identifier across requests, not only per
// request: a sixth code to the same address within the hour is refused, and
// so is the eleventh guess, even the right one. (Reproduced: anyone with
// deletion.submit could open request after request for one number and
// gather guesses across them.)
func TestDeletionCodesLimitedPerIdentifier(t *testing.T) {
	r := newDeletionRig(t, 4)
	agent := r.credential("agent.li", access.Agent)
	var ids []string
	for i := range 3 {
		d, err := r.api.SubmitDeletion(agent, emailOnly(fmt.Sprintf("same-address-%d", i), 1))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.GetDeletion().GetId())
	}
	send := func(id string) (*deletionv1.SendChallengeResponse, error) {
		return r.api.SendChallenge(agent, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_EMAIL})
	}
	// Five codes to the address over two requests (each under its own limit).
	var challenges []string
	for _, id := range []string{ids[0], ids[0], ids[0], ids[1], ids[1]} {
		ch, err := send(id)
		if err != nil {
			t.Fatal(err)
		}
		challenges = append(challenges, ch.GetChallengeId())
	}
	_, err := send(ids[2])
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "email") {
		t.Fatalf("a sixth code to the same address: %v, want ResourceExhausted", err)
	}
	// Counted, not appended: a caller can repeat it at will.
	if n, samples := r.counted("agent.li", "deletion.challenge_refused", "identifier_limit"); n != 1 || !strings.Contains(samples, ids[2]) {
		t.Fatalf("the refused code is counted %d times (samples %s), want once naming the request", n, samples)
	}
	// Ten wrong guesses over two challenges; the eleventh is refused before it is checked.
	for _, ch := range []string{challenges[0], challenges[3]} {
		wrong := notCode(r.codeOf(ch))
		for range 5 {
			if _, err := r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: ch, Code: wrong}); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("a wrong code: %v", err)
			}
		}
	}
	_, err = r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: challenges[1], Code: r.codeOf(challenges[1])})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "email") {
		t.Fatalf("an eleventh guess at the same address: %v, want ResourceExhausted", err)
	}
	if n, _ := r.counted("agent.li", "deletion.challenge_refused", "identifier_limit"); n != 2 {
		t.Fatalf("the refused guess: %d limit refusals counted, want 2", n)
	}
	// The identifier is counted by its keyed index, never stored in clear.
	var clear int64
	r.db.Table("deletion_code_events").Where("encode(identifier_hash, 'escape') LIKE ?", "%example.com%").Count(&clear)
	if clear != 0 {
		t.Fatal("the address is stored in clear in the code limits")
	}
}

// One credential's codes and guesses are limited too, across addresses.
func TestDeletionCodesLimitedPerPrincipal(t *testing.T) {
	r := newDeletionRig(t, 6, func(_ *deletionRig, c *deletion.Config) {
		c.CodeLimits = deletion.CodeLimits{Window: time.Hour, SendsPerIdentifier: 5, GuessesPerIdentifier: 10,
			SendsPerPrincipal: 3, GuessesPerPrincipal: 4}
	})
	agent := r.credential("agent.li", access.Agent)
	other := r.credential("agent.sun", access.Agent)
	var ids, challenges []string
	for who := range 4 {
		d, err := r.api.SubmitDeletion(agent, emailOnly(fmt.Sprintf("address-%d", who), who+1))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.GetDeletion().GetId())
	}
	for _, id := range ids[:3] {
		ch, err := r.api.SendChallenge(agent, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_EMAIL})
		if err != nil {
			t.Fatal(err)
		}
		challenges = append(challenges, ch.GetChallengeId())
	}
	fourth := &deletionv1.SendChallengeRequest{DeletionId: ids[3], Channel: deletionv1.Channel_CHANNEL_EMAIL}
	if _, err := r.api.SendChallenge(agent, fourth); status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("a fourth code from one credential: %v, want ResourceExhausted", err)
	}
	if _, err := r.api.SendChallenge(other, fourth); err != nil {
		t.Fatalf("another credential's code: %v", err)
	}
	for i, ch := range []string{challenges[0], challenges[0], challenges[1], challenges[2]} {
		if _, err := r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: ch, Code: notCode(r.codeOf(ch))}); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	_, err := r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: challenges[2], Code: r.codeOf(challenges[2])})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("a fifth guess from one credential: %v, want ResourceExhausted", err)
	}
	if _, err := r.api.VerifyChallenge(other, &deletionv1.VerifyChallengeRequest{ChallengeId: challenges[2], Code: r.codeOf(challenges[2])}); err != nil {
		t.Fatalf("another credential's guess: %v", err)
	}
}

// An automation credential sees and acts only on the requests it submitted;
// people with the permission see them all. (Reproduced: a second partner
// account listed, attested and sent codes for the first one's requests.)
func TestDeletionAutomationSeesOnlyItsOwn(t *testing.T) {
	r := newDeletionRig(t, 4)
	first := r.credential("partner.one", access.Automation)
	second := r.credential("partner.two", access.Automation)
	agent := r.credential("agent.li", access.Agent)

	d, err := r.api.SubmitDeletion(first, erasure("partner-one-1", 1, deletionv1.Source_SOURCE_PIPELINE, ""))
	if err != nil {
		t.Fatal(err)
	}
	id := d.GetDeletion().GetId()
	ch, err := r.api.SendChallenge(first, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_EMAIL})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := r.api.SubmitDeletion(second, erasure("partner-two-1", 2, deletionv1.Source_SOURCE_PIPELINE, ""))
	if err != nil {
		t.Fatal(err)
	}

	refused := func(what string, err error) {
		t.Helper()
		if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "another") {
			t.Errorf("the second partner's %s of the first's request: %v, want PermissionDenied", what, err)
		}
	}
	_, err = r.api.GetDeletion(second, &deletionv1.GetDeletionRequest{DeletionId: id})
	refused("GetDeletion", err)
	_, err = r.api.GetPlan(second, &deletionv1.GetPlanRequest{DeletionId: id})
	refused("GetPlan", err)
	_, err = r.api.GetEvidence(second, &deletionv1.GetEvidenceRequest{DeletionId: id})
	refused("GetEvidence", err)
	_, err = r.api.AttestIdentity(second, &deletionv1.AttestIdentityRequest{DeletionId: id, Reason: "we checked this person ourselves"})
	refused("AttestIdentity", err)
	_, err = r.api.SendChallenge(second, &deletionv1.SendChallengeRequest{DeletionId: id, Channel: deletionv1.Channel_CHANNEL_EMAIL})
	refused("SendChallenge", err)
	_, err = r.api.VerifyChallenge(second, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(), Code: r.codeOf(ch.GetChallengeId())})
	refused("VerifyChallenge", err)
	// Counted per credential and minute, not one chain entry each.
	if r.audited(id, "access.refused") != 0 {
		t.Errorf("%d refusals on the request's own record, want them counted instead", r.audited(id, "access.refused"))
	}
	if n, samples := r.counted("partner.two", "access.refused", "not_submitter"); n != 6 || !strings.Contains(samples, id) {
		t.Errorf("%d refusals counted (samples %s), want 6 naming the request", n, samples)
	}
	list, err := r.api.ListDeletions(second, &deletionv1.ListDeletionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetDeletions()) != 1 || list.GetDeletions()[0].GetId() != mine.GetDeletion().GetId() {
		t.Errorf("the second partner lists %v, want only its own request", list.GetDeletions())
	}
	if got, err := r.api.GetDeletion(second, &deletionv1.GetDeletionRequest{DeletionId: mine.GetDeletion().GetId()}); err != nil || got.GetDeletion().GetId() == "" {
		t.Errorf("the second partner reading its own request: %v", err)
	}

	// The owner and people with the permission still see and act on it.
	if _, err := r.api.GetDeletion(first, &deletionv1.GetDeletionRequest{DeletionId: id}); err != nil {
		t.Errorf("the owner reading its request: %v", err)
	}
	all, err := r.api.ListDeletions(agent, &deletionv1.ListDeletionsRequest{})
	if err != nil || len(all.GetDeletions()) != 2 {
		t.Errorf("an agent lists %d requests (%v), want both", len(all.GetDeletions()), err)
	}
	if _, err := r.api.VerifyChallenge(first, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(), Code: r.codeOf(ch.GetChallengeId())}); err != nil {
		t.Errorf("the owner verifying its code: %v", err)
	}
}
