package access

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestUndeclaredRPCIsRefused(t *testing.T) {
	called := false
	g := Guard{Auth: roleAuth{}, TrustActorHeader: true}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer admin"))
	_, err := g.Unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/redress.x.v1.X/Sneaky"},
		func(ctx context.Context, req any) (any, error) { called = true; return nil, nil })
	if status.Code(err) != codes.PermissionDenied || called {
		t.Fatalf("undeclared RPC: %v (handler called: %v)", err, called)
	}
}

func call(g Guard, md metadata.MD, method string) (string, error) {
	var actor string
	ctx := metadata.NewIncomingContext(context.Background(), md)
	_, err := g.Unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method},
		func(ctx context.Context, req any) (any, error) { actor = Actor(ctx); return nil, nil })
	return actor, err
}

// The self-declared actor header is honoured only by a guard built for tests.
func TestActorHeaderOnlyWhenTrusted(t *testing.T) {
	method := "/redress.intake.v1.IntakeService/GetCase"
	trusted := Guard{TrustActorHeader: true}
	if a, err := call(trusted, metadata.Pairs("x-redress-actor", "agent.li"), method); err != nil || a != "agent.li" {
		t.Fatalf("actor = %q, %v", a, err)
	}
	if _, err := call(trusted, metadata.Pairs("x-redress-actor", "bad actor\n"), method); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("malformed actor: %v", err)
	}
	production := Guard{Auth: roleAuth{}}
	if _, err := call(production, metadata.Pairs("x-redress-actor", "agent.li"), method); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("actor header without trust: %v", err)
	}
	if _, err := call(Guard{}, metadata.Pairs("authorization", "Bearer agent"), method); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("zero guard: %v", err)
	}
}

func TestBearerCredentials(t *testing.T) {
	g := Guard{Auth: roleAuth{}}
	method := "/redress.intake.v1.IntakeService/SubmitComplaint"
	if a, err := call(g, metadata.Pairs("authorization", "Bearer agent"), method); err != nil || a != "user-agent" {
		t.Fatalf("agent: %q %v", a, err)
	}
	for _, bad := range []string{"Bearer nobody", "Basic YWdlbnQ6eA==", "Bearer "} {
		if _, err := call(g, metadata.Pairs("authorization", bad), method); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// A scoped credential holds only its scopes, even when its role holds more.
	if _, err := call(g, metadata.Pairs("authorization", "Bearer scoped-agent"), method); status.Code(err) != codes.PermissionDenied {
		t.Errorf("scoped credential outside its scope: %v", err)
	}
	if _, err := call(g, metadata.Pairs("authorization", "Bearer scoped-agent"), "/redress.intake.v1.IntakeService/GetCase"); err != nil {
		t.Errorf("scoped credential inside its scope: %v", err)
	}
}

// Who is a service account (sees only its own objects) and who is a person
// (whose word a second person checks); the test-only header caller is
// neither.
func TestIsAutomationIsPerson(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		ctx                context.Context
		automation, person bool
	}{
		{WithPrincipal(ctx, Principal{ID: "pipeline.crm", Role: Automation}), true, false},
		{WithPrincipal(ctx, Principal{ID: "public-web", Role: PublicSite}), true, false},
		{WithPrincipal(ctx, Principal{ID: "agent.li", Role: Agent}), false, true},
		{WithPrincipal(ctx, Principal{ID: "admin", Role: Admin}), false, true},
		{WithPrincipal(ctx, Principal{ID: "console", Role: Console}), true, false}, // a service account: confined to its own objects
		{WithActor(ctx, "api"), false, false},
	} {
		if IsAutomation(c.ctx) != c.automation || IsPerson(c.ctx) != c.person {
			t.Errorf("%s: automation %v person %v", Actor(c.ctx), IsAutomation(c.ctx), IsPerson(c.ctx))
		}
	}
}

// Erasing a person's data held by intake is the deletion service's alone,
// and that is all its role may do.
func TestIntakeEraseOnlyForTheDeletionService(t *testing.T) {
	for _, r := range Roles {
		if r.Holds(IntakeErase) != (r == DeletionService) {
			t.Errorf("role %s holds intake.erase: %v", r, r.Holds(IntakeErase))
		}
	}
	if g := Grants[DeletionService]; !slices.Equal(g, []Permission{IntakeErase, AlertsRaise}) {
		t.Errorf("deletion_service holds %v, want only intake.erase and alerts.raise", g)
	}
	for m, p := range Table {
		if p == IntakeErase && !strings.HasPrefix(m, "/redress.intake.v1.ErasureService/") {
			t.Errorf("%s needs intake.erase", m)
		}
	}
}

// Case facts and incident notices through intake are the escalation
// service's alone, and that is all its role may do.
func TestIntakeCaseFactsOnlyForTheEscalationService(t *testing.T) {
	for _, r := range Roles {
		if r.Holds(IntakeCaseFacts) != (r == EscalationService) {
			t.Errorf("role %s holds intake.case_facts: %v", r, r.Holds(IntakeCaseFacts))
		}
	}
	if g := Grants[EscalationService]; !slices.Equal(g, []Permission{IntakeCaseFacts, DeletionFacts, AlertsRaise}) {
		t.Errorf("escalation_service holds %v, want only intake.case_facts, deletion.facts and alerts.raise", g)
	}
	for _, r := range Roles {
		if r.Holds(DeletionFacts) != (r == EscalationService) {
			t.Errorf("role %s holds deletion.facts: %v", r, r.Holds(DeletionFacts))
		}
	}
	for _, m := range []string{"GetDeletionFacts", "SealRequestAnswer", "OpenRequestAnswers"} {
		if Table["/redress.deletion.v1.DeletionFactsService/"+m] != DeletionFacts {
			t.Errorf("DeletionFactsService/%s does not need deletion.facts", m)
		}
	}
	for _, m := range []string{"GetCaseFacts", "ListLeakComplaints", "NotifyComplainants", "SealCaseAnswer", "OpenCaseAnswers"} {
		if Table["/redress.intake.v1.CaseFactsService/"+m] != IntakeCaseFacts {
			t.Errorf("CaseFactsService/%s does not need intake.case_facts", m)
		}
	}
}

// Raising alerts is for the deletion and escalation services; reading and
// marking one's own alerts is for people, never for a service account.
func TestAlertPermissions(t *testing.T) {
	for _, r := range Roles {
		if r.Holds(AlertsRaise) != (r == DeletionService || r == EscalationService) {
			t.Errorf("role %s holds alerts.raise: %v", r, r.Holds(AlertsRaise))
		}
		if r.Holds(AlertsOwn) != !r.IsService() {
			t.Errorf("role %s holds alerts.own: %v", r, r.Holds(AlertsOwn))
		}
	}
	for m, p := range Table {
		if (p == AlertsRaise || p == AlertsOwn) != strings.HasPrefix(m, "/redress.identity.v1.AlertService/") {
			t.Errorf("%s needs %s", m, p)
		}
	}
}
