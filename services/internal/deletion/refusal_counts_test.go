package deletion_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
)

// A partner credential asking again and again for another partner's request
// is refused each time, and counted: after a flush the chain holds one
// access.refused entry with the count, not one entry per call.
func TestRepeatedRefusalsAreCounted(t *testing.T) {
	srv, _, _, db, base := challengeServer(t)
	as := func(p access.Principal) context.Context { return access.WithActor(access.WithPrincipal(base, p), p.ID) }
	first := as(access.Principal{ID: "pipeline.one", Role: access.Automation})
	second := as(access.Principal{ID: "pipeline.two", Role: access.Automation})
	resp, err := srv.SubmitDeletion(first, item("count-00000001"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	var before int64
	db.Table("audit_entries").Count(&before)
	for range 50 {
		if _, err := srv.GetDeletion(second, &deletionv1.GetDeletionRequest{DeletionId: id}); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("another partner's request: %v, want PermissionDenied", err)
		}
	}
	if _, err := audit.FlushCounts(context.Background(), db, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var after int64
	db.Table("audit_entries").Count(&after)
	var counts []int64
	db.Raw(`SELECT (details::jsonb ->> 'count')::bigint FROM audit_entries
		WHERE action = 'access.refused' AND actor = 'pipeline.two' AND object_type = 'principal' AND object_id = 'pipeline.two'`).Scan(&counts)
	if after-before != 1 || len(counts) != 1 || counts[0] != 50 {
		t.Fatalf("50 refusals: %d new chain entries, counts %v; want 1 entry with count 50", after-before, counts)
	}
}
