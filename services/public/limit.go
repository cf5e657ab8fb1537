package public

import (
	"net/http"

	"github.com/redress/redress/services/internal/ratelimit"
)

// Limiter allows at most N requests per client address in a sliding window
// (shared with the console's sign-in limit).
type Limiter = ratelimit.Limiter

// NewLimiter allows n requests per window per address.
var NewLimiter = ratelimit.NewLimiter

// clientAddr is the address the limits key on: the peer, or the client a
// trusted proxy (Config.TrustedProxies) names in X-Forwarded-For.
func (s *Server) clientAddr(r *http.Request) string {
	return ratelimit.ClientAddr(r, s.cfg.TrustedProxies)
}
