package intake

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
)

// A complaint taken at a counter in English keeps its channel and the
// complainant's language; one that names no language is answered in Chinese.
func TestCounterCaseKeepsItsLanguage(t *testing.T) {
	srv, _ := newTestServer(t)
	ctx := access.WithActor(context.Background(), "intake-test")
	req := testRequest("counter-0001")
	req.Channel, req.Language = intakev1.Channel_CHANNEL_COUNTER, "en-GB"
	resp, err := srv.SubmitComplaint(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := srv.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: resp.GetCase().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.GetCase(); c.GetChannel() != intakev1.Channel_CHANNEL_COUNTER || c.GetLanguage() != "en" {
		t.Fatalf("stored channel %v language %q, want counter and en", c.GetChannel(), c.GetLanguage())
	}
	resp, err = srv.SubmitComplaint(ctx, testRequest("counter-0002"))
	if err != nil {
		t.Fatal(err)
	}
	if l := resp.GetCase().GetLanguage(); l != "zh" {
		t.Fatalf("no language given: answered in %q, want zh", l)
	}
}

// An agent sets the language a complainant speaks: stored, audited with
// before and after; the same language again writes nothing; a language
// Redress does not write in is refused naming the field, changing nothing.
func TestSetCaseLanguage(t *testing.T) {
	srv, _ := newTestServer(t)
	ctx := access.WithActor(context.Background(), "agent.li")
	sub, err := srv.SubmitComplaint(ctx, testRequest("language-0001"))
	if err != nil {
		t.Fatal(err)
	}
	id := sub.GetCase().GetId()
	audited := func() (n int64) {
		srv.db.Raw(`SELECT count(*) FROM audit_entries WHERE action = 'case.language_set' AND object_id = ? AND actor = 'agent.li'
			AND details::jsonb->>'from' = 'zh' AND details::jsonb->>'to' = 'en'`, id).Scan(&n)
		return n
	}
	for range 2 {
		got, err := srv.SetCaseLanguage(ctx, &intakev1.SetCaseLanguageRequest{CaseId: id, Language: "en-US"})
		if err != nil || got.GetCase().GetLanguage() != "en" {
			t.Fatalf("set en: %v %v", got, err)
		}
	}
	if n := audited(); n != 1 {
		t.Fatalf("%d audit entries, want 1", n)
	}
	for _, bad := range []string{"fr", ""} {
		_, err := srv.SetCaseLanguage(ctx, &intakev1.SetCaseLanguageRequest{CaseId: id, Language: bad})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "language") {
			t.Fatalf("language %q: %v, want INVALID_ARGUMENT naming language", bad, err)
		}
	}
	got, err := srv.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: id})
	if err != nil || got.GetCase().GetLanguage() != "en" {
		t.Fatalf("after refusals: %v %v", got.GetCase().GetLanguage(), err)
	}
}
