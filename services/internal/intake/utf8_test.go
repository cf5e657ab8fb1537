package intake

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/redress/redress/services/internal/access"
)

// The public site hands intake a form's file names as the browser sent them.
// One that is not UTF-8 is refused at validation, naming the field, instead of
// failing the group commit it would have joined (and its neighbours' first try).
func TestSubmitRefusesInvalidUTF8(t *testing.T) {
	srv, _ := newTestServer(t)
	ctx := access.WithActor(context.Background(), "public-web")
	req := testRequest("utf8-test-0001")
	req.Attachments[0].FileName = "scan\xff\xfe.txt"
	_, err := srv.SubmitComplaint(ctx, req)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "attachments[0].file_name: must be valid UTF-8") {
		t.Fatalf("file name not UTF-8: %v", err)
	}
	req = testRequest("utf8-test-0002")
	req.Complainant.PreferredContact = "sms\xc3"
	if _, err := srv.SubmitComplaint(ctx, req); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "complainant.preferred_contact: must be valid UTF-8") {
		t.Fatalf("preferred contact not UTF-8: %v", err)
	}
	if _, err := srv.SubmitComplaint(ctx, testRequest("utf8-test-0003")); err != nil {
		t.Fatalf("a valid submission after them: %v", err)
	}
}
