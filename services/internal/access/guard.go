package access

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Principal is an authenticated caller: a person or a service account.
type Principal struct {
	ID     string       // username; goes into audit entries
	Role   Role         //
	Scopes []Permission // narrows Role for a scoped credential; nil = all the role holds
}

// Can reports whether the principal holds p.
func (p Principal) Can(perm Permission) bool {
	if perm == Public || perm == Authenticated { // scopes narrow what a credential does to others' objects
		return true
	}
	if !p.Role.Holds(perm) {
		return false
	}
	return p.Scopes == nil || slices.Contains(p.Scopes, perm)
}

// ErrUnauthenticated is what an Authenticator answers for an unknown,
// expired, revoked or disabled credential.
var ErrUnauthenticated = errors.New("credential not valid")

// Authenticator turns a bearer credential into a principal (the identity
// package implements it against the database).
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (Principal, error)
}

// Guard authenticates every RPC and checks Table against the caller's
// role. The zero Guard refuses every non-public RPC.
type Guard struct {
	Auth Authenticator
	// TrustActorHeader lets a call without a bearer credential through as
	// its self-declared "x-redress-actor" (default "api"), holding every
	// permission. For tests of the services' behaviour only: no
	// configuration of the binary turns it on.
	TrustActorHeader bool
	// Refused, when set, is told of every call an authenticated principal
	// made without the permission it needs (see AuditRefusals). Calls
	// without a valid credential are not recorded: anyone can make those.
	Refused RefusalFunc
}

// RefusalFunc records a refused call; req is the request message (nil for
// streams).
type RefusalFunc func(ctx context.Context, p Principal, method string, perm Permission, req any)

type principalKey struct{}

// WithPrincipal returns a context carrying p (for in-process callers).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated principal of the call.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Holds reports whether the caller of an RPC the guard let through holds
// perm as well, for a request field that needs more than the RPC does. A
// call without a principal came through TrustActorHeader (tests only), which
// holds every permission.
func Holds(ctx context.Context, perm Permission) bool {
	p, ok := PrincipalFrom(ctx)
	return !ok || p.Can(perm)
}

var actorPattern = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,64}$`)

// Authorize authenticates the call and checks its permission for method.
func (g Guard) Authorize(ctx context.Context, method string) (context.Context, error) {
	return g.authorize(ctx, method, nil)
}

func (g Guard) authorize(ctx context.Context, method string, req any) (context.Context, error) {
	perm, ok := Table[method]
	if !ok {
		return nil, status.Errorf(codes.PermissionDenied, "%s declares no permission: refused", method)
	}
	if perm == Public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var p Principal
	switch auth := md.Get("authorization"); {
	case len(auth) > 0 && g.Auth != nil:
		token, found := strings.CutPrefix(auth[0], "Bearer ")
		if !found || token == "" {
			return nil, status.Error(codes.Unauthenticated, "authorization: expected a Bearer credential")
		}
		var err error
		if p, err = g.Auth.Authenticate(ctx, token); err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				return nil, status.Error(codes.Unauthenticated, "credential not valid")
			}
			return nil, status.Error(codes.Unavailable, "authentication unavailable")
		}
	case g.TrustActorHeader:
		actor := "api" // as before authentication existed
		if v := md.Get("x-redress-actor"); len(v) > 0 {
			if !actorPattern.MatchString(v[0]) {
				return nil, status.Error(codes.Unauthenticated, "x-redress-actor: not a valid principal id")
			}
			actor = v[0]
		}
		return WithActor(ctx, actor), nil
	default:
		return nil, status.Error(codes.Unauthenticated, "no credential: send authorization: Bearer <token>")
	}
	if !p.Can(perm) {
		if g.Refused != nil {
			g.Refused(ctx, p, method, perm, req)
		}
		return nil, status.Errorf(codes.PermissionDenied, "%s needs %s", method, perm)
	}
	return WithActor(WithPrincipal(ctx, p), p.ID), nil
}

// Unary enforces the guard on unary RPCs.
func (g Guard) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := g.authorize(ctx, info.FullMethod, req)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream enforces the guard on streaming RPCs.
func (g Guard) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := g.Authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}
