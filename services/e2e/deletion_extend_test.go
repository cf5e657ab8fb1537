package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// testExtensionPolicy is the cn pack plus a test rule (not law) that sets a
// PI request's deadline at 5 working days and allows 5 more: no real pack
// of Redress allows extending a PI request, so the e2e tests use this one.
func testExtensionPolicy(t *testing.T) func(*deletionRig, *deletion.Config) {
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	rule := policy.Rule{ID: "test/X5", Deadline: policy.KindResolution, Unit: policy.WorkingDays, Amount: 5,
		Citations: []policy.Citation{{Text: "test policy (not law)"}}, Enabled: true, Confidence: "unverified",
		Match:     policy.Match{Categories: []string{"personal_information_leak"}},
		Extension: policy.Extension{Unit: policy.WorkingDays, Amount: 5}}
	return func(_ *deletionRig, c *deletion.Config) { c.Policy = policy.New(cals, policy.WithRules("cn", rule)) }
}

// A supervisor extends a request under a policy that allows it: the workflow
// records the new due date (audited with old and new), the requester gets
// the notice by email with the reason, and a second extension is refused.
func TestDeletionDeadlineExtension(t *testing.T) {
	r := newDeletionRig(t, 3, testExtensionPolicy(t))
	const who = 2
	resp, err := r.api.SubmitDeletion(r.as("agent.li"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: "extend-e2e-0002", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(who), Language: "en",
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(who), HeldFrom: timestamppb.New(time.Now().AddDate(-1, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	d := resp.GetDeletion()
	if d.GetDueRule() != "test/X5" {
		t.Fatalf("due rule %s, want the test rule", d.GetDueRule())
	}
	oldDue := d.GetDueAt().AsTime()
	sup := r.as("supervisor.wang")

	_, err = r.api.ExtendDeadline(sup, &deletionv1.ExtendDeadlineRequest{DeletionId: d.GetId(), ReasonText: "three archives"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "reason_code") {
		t.Fatalf("missing reason code: %v", err)
	}
	ext, err := r.api.ExtendDeadline(sup, &deletionv1.ExtendDeadlineRequest{DeletionId: d.GetId(),
		ReasonCode: deletionv1.ExtensionReason_EXTENSION_REASON_COMPLEXITY, ReasonText: "Three archive systems must be searched by hand."})
	if err != nil {
		t.Fatal(err)
	}
	got := ext.GetDeletion()
	newDue := got.GetDueAt().AsTime()
	if !got.GetOriginalDueAt().AsTime().Equal(oldDue) || !newDue.After(oldDue.Add(5*24*time.Hour-time.Hour)) ||
		got.GetExtensionReason() != deletionv1.ExtensionReason_EXTENSION_REASON_COMPLEXITY || got.GetExtensionReasonText() == "" {
		t.Fatalf("after extension: due %v (was %v), original %v, reason %v %q", newDue, oldDue, got.GetOriginalDueAt().AsTime(), got.GetExtensionReason(), got.GetExtensionReasonText())
	}

	// The requester is told the new date and why.
	// A period that ends at midnight reads as 24:00 of its last day.
	shown := i18n.LegalTime(i18n.EN, newDue)
	msg := r.smtp.WaitFor(t, 30*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, "need more time") })
	if len(msg.To) != 1 || msg.To[0] != customertest.Email(who) || !strings.Contains(msg.Body, shown) ||
		!strings.Contains(msg.Body, "Three archive systems") || !strings.Contains(msg.Body, "complex") {
		t.Fatalf("notice to %v:\n%s\n(want new due %s)", msg.To, msg.Body, shown)
	}

	// Audited by the workflow's activity, with old and new due dates.
	var details []string
	r.db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.deadline_extended'", d.GetId()).Pluck("details", &details)
	if len(details) != 1 {
		t.Fatalf("%d deadline_extended entries", len(details))
	}
	var a struct {
		Old, New   time.Time
		ReasonCode string `json:"reason_code"`
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(details[0]), &raw)
	a.Old, _ = time.Parse(time.RFC3339Nano, raw["old_due_at"].(string))
	a.New, _ = time.Parse(time.RFC3339Nano, raw["new_due_at"].(string))
	if !a.Old.Equal(oldDue) || !a.New.Equal(newDue) || raw["reason_code"] != "complexity" || strings.Contains(details[0], "archive") {
		t.Fatalf("audit details %s", details[0])
	}

	_, err = r.api.ExtendDeadline(sup, &deletionv1.ExtendDeadlineRequest{DeletionId: d.GetId(),
		ReasonCode: deletionv1.ExtensionReason_EXTENSION_REASON_OTHER, ReasonText: "again"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "already extended once") {
		t.Fatalf("second extension: %v", err)
	}
}
