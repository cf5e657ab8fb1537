package deletion_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/workflows/policy"
)

// extendableRule is a test policy, not law: no real pack of Redress allows
// extending a PI request (cn/A1's 15 working days are an upper bound), so
// the allowance is exercised with this rule, stricter than A1.
var extendableRule = policy.Rule{ID: "test/X5", Deadline: policy.KindResolution, Unit: policy.WorkingDays, Amount: 5,
	Citations: []policy.Citation{{Text: "test policy (not law)"}}, Enabled: true, Confidence: "unverified",
	Match:     policy.Match{Categories: []string{"personal_information_leak"}},
	Extension: policy.Extension{Unit: policy.WorkingDays, Amount: 5}}

func extServer(t *testing.T, now *time.Time, opts ...policy.Option) (*deletion.Server, *gorm.DB, context.Context) {
	srv, db := testServer(t, deletion.Config{Now: func() time.Time { return *now }}, opts...)
	return srv, db, access.WithActor(context.Background(), "supervisor.wang")
}

func extend(srv *deletion.Server, ctx context.Context, id string, code deletionv1.ExtensionReason) error {
	_, err := srv.ExtendDeadline(ctx, &deletionv1.ExtendDeadlineRequest{DeletionId: id, ReasonCode: code, ReasonText: "Three archive systems to search by hand."})
	return err
}

func extendRefusals(t *testing.T, db *gorm.DB, id string) int64 {
	var n int64
	if err := db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.extend_refused'", id).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Under the cn policy nothing extends a PI request: the refusal names the
// rule and its source, and is audited.
func TestExtendRefusedUnderCNRule(t *testing.T) {
	now := time.Now()
	srv, db, ctx := extServer(t, &now)
	resp, err := srv.SubmitDeletion(ctx, item("ext-cn-0001"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	err = extend(srv, ctx, id, deletionv1.ExtensionReason_EXTENSION_REASON_COMPLEXITY)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "cn/A1") || !strings.Contains(err.Error(), "allows no extension") {
		t.Fatalf("cn extension: %v", err)
	}
	if extendRefusals(t, db, id) != 1 {
		t.Fatal("refusal not audited")
	}
}

// Bad input names the field; an extended, answered or overdue request is
// refused before the workflow is asked (and each refusal audited).
func TestExtendValidatesAndRefuses(t *testing.T) {
	now := time.Now()
	srv, db, ctx := extServer(t, &now, policy.WithRules("cn", extendableRule))
	resp, err := srv.SubmitDeletion(ctx, item("ext-val-0001"))
	if err != nil {
		t.Fatal(err)
	}
	d := resp.GetDeletion()
	if d.GetDueRule() != "test/X5" {
		t.Fatalf("due rule %s, want the test rule", d.GetDueRule())
	}
	id := d.GetId()

	err = extend(srv, ctx, id, deletionv1.ExtensionReason_EXTENSION_REASON_UNSPECIFIED)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "reason_code") {
		t.Fatalf("no reason code: %v", err)
	}
	_, err = srv.ExtendDeadline(ctx, &deletionv1.ExtendDeadlineRequest{DeletionId: id, ReasonCode: deletionv1.ExtensionReason_EXTENSION_REASON_OTHER})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "reason_text") {
		t.Fatalf("no reason text: %v", err)
	}
	err = extend(srv, ctx, "not-a-uuid", deletionv1.ExtensionReason_EXTENSION_REASON_OTHER)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "deletion_id") {
		t.Fatalf("bad id: %v", err)
	}

	// After the due date.
	later := d.GetDueAt().AsTime().Add(time.Minute)
	now = later
	err = extend(srv, ctx, id, deletionv1.ExtensionReason_EXTENSION_REASON_COMPLEXITY)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "has passed") {
		t.Fatalf("after due: %v", err)
	}
	now = time.Now()

	// Answered.
	if err := db.Exec("UPDATE deletion_requests SET status = 'completed' WHERE id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	err = extend(srv, ctx, id, deletionv1.ExtensionReason_EXTENSION_REASON_COMPLEXITY)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "completed") {
		t.Fatalf("answered: %v", err)
	}

	// Already extended once (as the workflow records it).
	if err := db.Exec(`UPDATE deletion_requests SET status = 'awaiting_approval', original_due_at = due_at, due_at = due_at + interval '7 days',
		extended_at = now(), extension_reason_code = 'complexity' WHERE id = ?`, id).Error; err != nil {
		t.Fatal(err)
	}
	err = extend(srv, ctx, id, deletionv1.ExtensionReason_EXTENSION_REASON_COMPLEXITY)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "already extended once") {
		t.Fatalf("twice: %v", err)
	}
	if n := extendRefusals(t, db, id); n != 3 {
		t.Fatalf("%d refusals audited, want 3", n)
	}
	got, err := srv.GetDeletion(ctx, &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetDeletion().GetOriginalDueAt() == nil || got.GetDeletion().GetExtensionReason() != deletionv1.ExtensionReason_EXTENSION_REASON_COMPLEXITY {
		t.Fatalf("extension not shown: %+v", got.GetDeletion())
	}

	// The database keeps it to one later due date.
	err = db.Exec(`UPDATE deletion_requests SET due_at = original_due_at - interval '1 day' WHERE id = ?`, id).Error
	if err == nil || !strings.Contains(err.Error(), "deletion_requests_extended_once") {
		t.Fatalf("an earlier extended due date was stored: %v", err)
	}
}
