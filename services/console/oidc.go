package console

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/redress/redress/services/internal/identity"
)

const oidcCookie = "redress_oidc" // state.nonce.verifier of the sign-in under way

// oidcStart sends the browser to the provider with a fresh state, nonce and
// PKCE verifier, kept in a short-lived cookie to check on the way back.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.c.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), identity.NewVerifier()
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: "/signin", MaxAge: 600,
		HttpOnly: true, Secure: s.c.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, s.c.OIDC.AuthURL(state, nonce, verifier), http.StatusSeeOther)
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.c.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	var state, nonce, verifier string
	if c, err := r.Cookie(oidcCookie); err == nil {
		if parts := strings.Split(c.Value, "."); len(parts) == 3 {
			state, nonce, verifier = parts[0], parts[1], parts[2]
		}
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/signin", MaxAge: -1})
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(r.URL.Query().Get("state"))) != 1 {
		s.signinForm(w, r, http.StatusForbidden, "csrf")
		return
	}
	u, err := s.c.OIDC.Exchange(r.Context(), r.URL.Query().Get("code"), nonce, verifier)
	if errors.Is(err, identity.ErrNoAccount) {
		s.signinForm(w, r, http.StatusUnauthorized, "signin.no_account")
		return
	}
	if err != nil {
		s.c.Log.Warn("oidc sign-in failed", "err", err)
		s.signinForm(w, r, http.StatusUnauthorized, "signin.oidc_failed")
		return
	}
	s.startSession(w, r, u)
}
