package identity

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
)

// RemoteCacheTTL is how long Remote remembers a bearer's principal: a
// credential revoked or expired, or an account disabled, is still let
// through by a service that asks identity remotely for at most this long
// after identity itself refuses it.
const RemoteCacheTTL = 5 * time.Second

// remoteCacheMax bounds the remembered bearers; past it the expired ones
// are dropped, and if none has expired, all of them.
const remoteCacheMax = 10000

// Remote authenticates bearers through IdentityService's Authenticate RPC
// (an access.Authenticator), for the guards of the services that do not
// hold identity's tables. It sends the bearer being checked as the call's
// own credential, so identity answers only for a credential the caller
// already holds. Unknown bearers are not remembered.
type Remote struct {
	Client identityv1.IdentityServiceClient
	TTL    time.Duration    // 0: RemoteCacheTTL
	Now    func() time.Time // nil: time.Now

	mu    sync.Mutex
	cache map[[sha256.Size]byte]remoteEntry
}

type remoteEntry struct {
	p       access.Principal
	expires time.Time
}

func (r *Remote) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Authenticate implements access.Authenticator.
func (r *Remote) Authenticate(ctx context.Context, bearer string) (access.Principal, error) {
	key := sha256.Sum256([]byte(bearer)) // the cache holds no secret
	r.mu.Lock()
	e, ok := r.cache[key]
	r.mu.Unlock()
	if ok && r.now().Before(e.expires) {
		return e.p, nil
	}
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+bearer)), 10*time.Second)
	defer cancel()
	resp, err := r.Client.Authenticate(ctx, &identityv1.AuthenticateRequest{})
	if status.Code(err) == codes.Unauthenticated {
		return access.Principal{}, access.ErrUnauthenticated
	}
	if err != nil {
		return access.Principal{}, fmt.Errorf("identity: authenticate: %w", err)
	}
	p := access.Principal{ID: resp.GetPrincipalId(), Role: access.Role(resp.GetRole())}
	for _, sc := range resp.GetScopes() {
		p.Scopes = append(p.Scopes, access.Permission(sc))
	}
	r.remember(key, p)
	return p, nil
}

func (r *Remote) remember(key [sha256.Size]byte, p access.Principal) {
	ttl := r.TTL
	if ttl == 0 {
		ttl = RemoteCacheTTL
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil {
		r.cache = make(map[[sha256.Size]byte]remoteEntry)
	}
	if len(r.cache) >= remoteCacheMax {
		for k, e := range r.cache {
			if !now.Before(e.expires) {
				delete(r.cache, k)
			}
		}
		if len(r.cache) >= remoteCacheMax {
			clear(r.cache)
		}
	}
	r.cache[key] = remoteEntry{p: p, expires: now.Add(ttl)}
}
