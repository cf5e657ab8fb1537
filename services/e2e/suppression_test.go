package e2e

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/connectors/customertest"
)

// The operator's other systems ask the suppression list whether identifiers
// were erased, in clear over the API (the key never leaves Redress): an
// erased phone number (in any common form) and email answer true, others
// false; only a credential given deletion.suppression_check may ask; bad
// entries are named; each call is one audit entry with counts only.
func TestSuppressionCheckAnswersErasedIdentifiers(t *testing.T) {
	r := newDeletionRig(t, 10)
	const who = 4
	r.eraseWithNothingRetained("suppress-1", who)

	sync := r.scopedCredential("sync.marketing", access.Automation, []access.Permission{access.DeletionSuppressionCheck})
	plain := r.scopedCredential("partner.portal", access.Automation, nil) // the default scopes

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
