package access

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// roleAuth authenticates "Bearer <role>" as a principal of that role, and
// "scoped-<role>" as one narrowed to case.read.
type roleAuth struct{}

func (roleAuth) Authenticate(_ context.Context, token string) (Principal, error) {
	if r, ok := strings.CutPrefix(token, "scoped-"); ok && ValidRole(r) {
		return Principal{ID: "scoped-" + r, Role: Role(r), Scopes: []Permission{CaseRead}}, nil
	}
	if !ValidRole(token) {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{ID: "user-" + token, Role: Role(token)}, nil
}

var (
	protoPackage = regexp.MustCompile(`(?m)^\s*package\s+([\w.]+)\s*;`)
	protoService = regexp.MustCompile(`(?s)\bservice\s+(\w+)\s*\{(.*?)\n\}`)
	protoRPC     = regexp.MustCompile(`\brpc\s+(\w+)\s*\(`)
)

// repoRPCs reads every .proto file of the repository (proto/ at the root)
// and returns the full gRPC method names of every service in them. Reading
// the sources rather than linked descriptors means a service nobody imports
// yet is still covered.
func repoRPCs(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..", "..", "proto")
	var rpcs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		pkg := protoPackage.FindStringSubmatch(src)
		if pkg == nil || !strings.HasPrefix(pkg[1], "redress.") {
			return nil // vendored imports (buf/validate, google/...)
		}
		for _, svc := range protoService.FindAllStringSubmatch(src, -1) {
			for _, m := range protoRPC.FindAllStringSubmatch(svc[2], -1) {
				rpcs = append(rpcs, "/"+pkg[1]+"."+svc[1]+"/"+m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rpcs) < 14 {
		t.Fatalf("found only %d RPCs under %s: the walk is broken", len(rpcs), root)
	}
	return rpcs
}

// Every RPC of every service in the repository must declare a permission,
// and every role must be allowed exactly what its grants say and refused
// everything else: a new RPC without an entry fails here before it ships.
func TestEveryRPCForEveryRole(t *testing.T) {
	g := Guard{Auth: roleAuth{}}
	for _, rpc := range repoRPCs(t) {
		perm, ok := Table[rpc]
		if !ok || perm == "" {
			t.Errorf("%s declares no permission in access.Table", rpc)
			continue
		}
		if perm == Public {
			t.Errorf("%s is public: only health and reflection may be", rpc)
		}
		if _, err := call(g, metadata.MD{}, rpc); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s without a credential: %v, want Unauthenticated", rpc, err)
		}
		for _, role := range Roles {
			_, err := call(g, metadata.Pairs("authorization", "Bearer "+string(role)), rpc)
			want := role.Holds(perm)
			switch {
			case want && err != nil:
				t.Errorf("%s as %s: %v, want allowed (%s)", rpc, role, err, perm)
			case !want && status.Code(err) != codes.PermissionDenied:
				t.Errorf("%s as %s: %v, want PermissionDenied (%s)", rpc, role, err, perm)
			}
		}
	}
}

// A permission no role holds makes its RPCs unusable: grant it or drop it.
func TestEveryPermissionIsGranted(t *testing.T) {
	for rpc, perm := range Table {
		if perm == Public {
			continue
		}
		held := false
		for _, r := range Roles {
			held = held || r.Holds(perm)
		}
		if !held {
			t.Errorf("%s needs %s, which no role holds (roles.go)", rpc, perm)
		}
	}
}

// Spot checks of the grants a reviewer would expect.
func TestGrants(t *testing.T) {
	checks := []struct {
		role Role
		perm Permission
		want bool
	}{
		{Agent, CaseReveal, true}, {Agent, CaseAssign, false}, {Supervisor, CaseAssign, true},
		{Admin, CaseReveal, false}, {Admin, UserAdmin, true}, {Agent, UserAdmin, false},
		{Automation, CaseSubmit, true}, {Automation, CaseReveal, false}, {Automation, CaseNote, false},
		{ComplianceOfficer, CaseTriage, false}, {Role("root"), CaseRead, false},
		{Agent, DeletionAttest, true}, {Agent, DeletionApprove, false}, {Supervisor, DeletionApprove, true},
		{Automation, DeletionApprove, false}, {Automation, DeletionCancel, false},
		{PublicSite, CaseSubmit, true}, {PublicSite, CaseLookup, true}, {PublicSite, ReportPublished, true},
		{Automation, CaseLookup, false}, {Agent, CaseLookup, false},
		{PublicSite, CaseConverse, true}, {Automation, CaseConverse, false}, {Agent, CaseConverse, false}, {PublicSite, CaseNote, false},
		{Console, IdentitySession, true}, {Console, CaseRead, false}, {Console, UserAdmin, false}, {Console, TokenOwn, false},
		{Agent, IdentitySession, false}, {Admin, IdentitySession, false}, {Automation, TokenOwn, false}, {Agent, TokenOwn, true},
		{ComplianceOfficer, GrantReview, true}, {Agent, GrantReview, false},
	}
	for _, c := range checks {
		if got := c.role.Holds(c.perm); got != c.want {
			t.Errorf("%s holds %s = %v, want %v", c.role, c.perm, got, c.want)
		}
	}
}

// The public site's account holds exactly its three permissions: it reads no
// case beyond the lookup by number and code.
func TestPublicSiteHoldsOnlyItsJob(t *testing.T) {
	want := []Permission{CaseSubmit, CaseLookup, CaseConverse, ReportPublished}
	if got := Grants[PublicSite]; !slices.Equal(got, want) {
		t.Errorf("public_site holds %v, want %v", got, want)
	}
	for _, p := range []Permission{CaseRead, CaseReveal, ReportExport, DeletionRead, EscalationRead, UserAdmin} {
		if PublicSite.Holds(p) {
			t.Errorf("public_site holds %s", p)
		}
	}
}

// Object level: past the guard, service credentials (automation, the public
// site) are confined to the cases they submitted (the intake service filters on it; the e2e tests
// TestAutomationSeesOnlyItsOwnCases and TestEveryCaseRPCHidesOthersCases
// call every case RPC); people keep what their role grants.
func TestCaseOwnerOnlyPerRole(t *testing.T) {
	for _, role := range Roles {
		ctx := WithPrincipal(context.Background(), Principal{ID: "p-" + string(role), Role: role})
		owner, only := CaseOwnerOnly(ctx)
		if want := role.IsService(); only != want || only && owner != "p-"+string(role) {
			t.Errorf("%s: confined to own cases = %v (%q), want %v", role, only, owner, want)
		}
	}
	if _, only := CaseOwnerOnly(context.Background()); only {
		t.Error("a call without a principal is confined")
	}
	// A scoped automation credential holds no more than its defaults allow.
	for _, p := range DefaultScopes(Automation) {
		if !Automation.Holds(p) {
			t.Errorf("default automation scope %s is not granted to the role", p)
		}
	}
	if slices.Contains(DefaultScopes(Automation), DeletionAttest) {
		t.Error("the default automation credential vouches for identities")
	}
}
