package intake

import (
	"context"
	"testing"

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
