package access_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/pgtest"
)

type oneAgent struct{}

func (oneAgent) Authenticate(ctx context.Context, bearer string) (access.Principal, error) {
	if bearer != "agent-token" {
		return access.Principal{}, access.ErrUnauthenticated
	}
	return access.Principal{ID: "agent.li", Role: access.Agent}, nil
}

// An agent approving deletion plans (a reviewer's permission) is refused,
// and the attempts are in the audit chain as one entry per principal and
// minute with their count and the first requests named, written when the
// minute's counts are flushed: a hundred refused calls do not make a hundred
// chain entries. A call without a valid credential is refused and writes nothing.
func TestRefusedCallsAreAuditedAggregated(t *testing.T) {
	db := pgtest.Open(t)
	g := access.Guard{Auth: oneAgent{}, Refused: access.AuditRefusals(db, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	info := &grpc.UnaryServerInfo{FullMethod: "/redress.deletion.v1.DeletionService/ApprovePlan"}
	handler := func(ctx context.Context, req any) (any, error) { t.Fatal("handler reached"); return nil, nil }
	call := func(token, id string) error {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
		_, err := g.Unary(ctx, &deletionv1.ApprovePlanRequest{DeletionId: id, PlanDigest: "abc"}, info, handler)
		return err
	}
	const calls = 100
	for i := range calls {
		if err := call("agent-token", fmt.Sprintf("del-%d", i)); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("agent approving: %v, want PERMISSION_DENIED", err)
		}
	}
	if err := call("forged", "del-x"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("forged credential: %v, want UNAUTHENTICATED", err)
	}
	head := func() (seq int64) {
		if err := db.Raw("SELECT seq FROM audit_head").Scan(&seq).Error; err != nil {
			t.Fatal(err)
		}
		return seq
	}
	if n := head(); n != 0 {
		t.Fatalf("%d refused calls made %d chain entries before the minute was flushed, want 0", calls, n)
	}
	if _, err := audit.FlushCounts(context.Background(), db, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.ForObject(context.Background(), db, "principal", "agent.li")
	if err != nil {
		t.Fatal(err)
	}
	// The calls may straddle a minute boundary: one entry per minute.
	if len(entries) < 1 || len(entries) > 2 || head() != int64(len(entries)) {
		t.Fatalf("%d entries for the agent (head %d), want one per minute", len(entries), head())
	}
	total := 0.0
	for _, e := range entries {
		if e.Actor != "agent.li" || e.Action != "access.refused" {
			t.Fatalf("entry %+v", e)
		}
		total += e.Details["count"].(float64)
	}
	if total != calls {
		t.Fatalf("counted %v refusals, want %d", total, calls)
	}
	e := entries[0]
	by, _ := e.Details["by"].(map[string]any)
	samples, _ := e.Details["samples"].([]any)
	if by["/redress.deletion.v1.DeletionService/ApprovePlan needs "+string(access.DeletionApprove)+" (agent)"] == nil ||
		len(samples) == 0 || samples[0] != "deletion:del-0" || len(samples) > 10 {
		t.Fatalf("details %v", e.Details)
	}
	if res, err := audit.Verify(context.Background(), db, audit.VerifyOptions{}); err != nil || !res.OK {
		t.Fatalf("chain: %+v %v", res, err)
	}
	// Nothing is written twice.
	if n, err := audit.FlushCounts(context.Background(), db, time.Now().Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("second flush wrote %d entries (%v)", n, err)
	}
}
