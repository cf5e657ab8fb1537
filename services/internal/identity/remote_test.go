package identity

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
)

// A service that does not hold identity's tables authenticates its callers
// through IdentityService on a real socket: a valid credential is its
// account (scopes included), an unknown one is UNAUTHENTICATED, a revoked
// one is refused once the cache time has passed, and identity being
// unreachable is not taken for a bad credential.
func TestRemoteGuardAuthenticatesThroughIdentity(t *testing.T) {
	r := newIdentityRig(t)
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	guard := access.Guard{Auth: &Remote{Client: r.accounts, Now: clk.now}}
	call := func(bearer, method string) (access.Principal, error) {
		in := metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+bearer))
		got, err := guard.Authorize(in, method)
		if err != nil {
			return access.Principal{}, err
		}
		p, _ := access.PrincipalFrom(got)
		return p, nil
	}
	const listCases, submit = "/redress.intake.v1.IntakeService/ListCases", "/redress.intake.v1.IntakeService/SubmitComplaint"

	session := r.signIn(t, "agent.li")
	if p, err := call(session, listCases); err != nil || p.ID != "agent.li" || p.Role != access.Agent || p.Scopes != nil {
		t.Fatalf("an agent's session: %+v %v, want agent.li, agent, unscoped", p, err)
	}
	scoped, tok, err := r.store.IssueToken(ctx, "agent.li", "agent.li", "scoped", []access.Permission{access.CaseRead}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := call(scoped, listCases); err != nil || len(p.Scopes) != 1 || p.Scopes[0] != access.CaseRead {
		t.Fatalf("a scoped credential: %+v %v, want scopes [case.read]", p, err)
	}
	if _, err := call(scoped, submit); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a case.read credential submitting: %v, want PermissionDenied", err)
	}
	if _, err := call("rdt_unknown-credential", listCases); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("an unknown credential: %v, want Unauthenticated", err)
	}

	if err := r.store.RevokeToken(ctx, "agent.li", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := call(scoped, listCases); err != nil {
		t.Fatalf("revoked within the cache time: %v, want still let through (at most RemoteCacheTTL)", err)
	}
	clk.t = clk.t.Add(RemoteCacheTTL)
	if _, err := call(scoped, listCases); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("revoked, cache time passed: %v, want Unauthenticated", err)
	}

	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	down := access.Guard{Auth: &Remote{Client: identityv1.NewIdentityServiceClient(conn)}}
	in := metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+session))
	if _, err := down.Authorize(in, listCases); status.Code(err) != codes.Unavailable {
		t.Fatalf("identity unreachable: %v, want Unavailable", err)
	}
}
