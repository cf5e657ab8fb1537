package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/identity"
	wf "github.com/redress/redress/workflows/deletion"
)

// The operator's other systems ask the suppression list whether identifiers
// were erased, in clear over the API (the key never leaves Redress): an
// erased phone number (in any common form) and email answer true, others
// false; only a credential given deletion.suppression_check may ask; bad
// entries are named; each call is one audit entry with counts only.
func TestSuppressionCheckAnswersErasedIdentifiers(t *testing.T) {
	r := newDeletionRig(t, 10)
	const who = 4
	if _, err := r.customer.Exec(`DELETE FROM call_logs WHERE caller = $1 AND started_at > now() - interval '6 months'`, customertest.Phone(who)); err != nil {
		t.Fatal(err)
	}
	d, err := r.api.SubmitDeletion(r.as("pipeline.crm"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: "suppress-1",
		Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: deletionv1.Source_SOURCE_PIPELINE, Email: customertest.Email(who),
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(who), HeldFrom: timestamppb.New(time.Now().AddDate(-3, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.api.AttestIdentity(r.as("agent.li"), &deletionv1.AttestIdentityRequest{DeletionId: d.GetDeletion().GetId(),
		Reason: "identity checked by the CRM login"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(d.GetDeletion().GetId(), wf.StatusCompleted)

	issue := func(username string, scopes []access.Permission) context.Context {
		if _, err := r.identity.AddUser(r.ctx, "test", identity.NewUser{Username: username, Role: access.Automation}); err != nil {
			t.Fatal(err)
		}
		secret, _, err := r.identity.IssueToken(r.ctx, "test", username, username, scopes, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return metadata.AppendToOutgoingContext(r.ctx, "authorization", "Bearer "+secret)
	}
	sync := issue("sync.marketing", []access.Permission{access.DeletionSuppressionCheck})
	plain := issue("partner.portal", nil) // an automation credential with the default scopes

	ask := &deletionv1.CheckSuppressionRequest{
		Phones: []string{"+86 " + customertest.Phone(who)[:3] + " " + customertest.Phone(who)[3:], customertest.Phone(who), "+86" + customertest.Phone(5)},
		Emails: []string{strings.ToUpper(customertest.Email(who)), customertest.Email(5)},
	}
	got, err := r.api.CheckSuppression(sync, ask)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false}; !slices.Equal(got.GetPhonesSuppressed(), want) {
		t.Fatalf("phones: %v, want %v", got.GetPhonesSuppressed(), want)
	}
	if want := []bool{true, false}; !slices.Equal(got.GetEmailsSuppressed(), want) {
		t.Fatalf("emails: %v, want %v", got.GetEmailsSuppressed(), want)
	}
	if _, err := r.api.CheckSuppression(plain, ask); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("without deletion.suppression_check: %v", err)
	}
	_, err = r.api.CheckSuppression(sync, &deletionv1.CheckSuppressionRequest{Phones: []string{"12"}, Emails: []string{"not mail"}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "phones") || !strings.Contains(err.Error(), "emails") {
		t.Fatalf("bad entries: %v", err)
	}
	if _, err := r.api.CheckSuppression(sync, &deletionv1.CheckSuppressionRequest{Phones: make([]string, 1001)}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("1001 entries: %v", err)
	}
	var details []string
	if err := r.db.Table("audit_entries").Where("action = 'deletion.suppression_checked'").Pluck("details::text", &details).Error; err != nil {
		t.Fatal(err)
	}
	if len(details) != 1 || !strings.Contains(details[0], `"suppressed":3`) || strings.Contains(details[0], customertest.Phone(who)) {
		t.Fatalf("audit of the check: %v", details)
	}
}
