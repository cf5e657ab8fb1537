package access_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

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

// An agent approving a deletion plan (a reviewer's permission) is refused
// and the attempt is in the audit chain, naming the request; a call without
// a valid credential is refused and writes nothing.
func TestRefusedCallIsAudited(t *testing.T) {
	db := pgtest.Open(t)
	g := access.Guard{Auth: oneAgent{}, Refused: access.AuditRefusals(db, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	info := &grpc.UnaryServerInfo{FullMethod: "/redress.deletion.v1.DeletionService/ApprovePlan"}
	handler := func(ctx context.Context, req any) (any, error) { t.Fatal("handler reached"); return nil, nil }
	call := func(token string) error {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
		_, err := g.Unary(ctx, &deletionv1.ApprovePlanRequest{DeletionId: "del-42", PlanDigest: "abc"}, info, handler)
		return err
	}
	if err := call("agent-token"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("agent approving: %v, want PERMISSION_DENIED", err)
	}
	if err := call("forged"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("forged credential: %v, want UNAUTHENTICATED", err)
	}
	entries, err := audit.ForObject(context.Background(), db, "deletion", "del-42")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d audit entries for the request, want 1 (the agent's refusal only)", len(entries))
	}
	e := entries[0]
	if e.Actor != "agent.li" || e.Action != "access.refused" || e.Details["permission"] != string(access.DeletionApprove) {
		t.Fatalf("entry %+v", e)
	}
}
