package console

import (
	"crypto/subtle"
	"net/http"
	"strings"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/identity/oidcclient"
)

const oidcCookie = "redress_oidc" // state.nonce.verifier of the sign-in under way

// oidcStart sends the browser to the provider with a fresh state, nonce and
// PKCE verifier, kept in a short-lived cookie to check on the way back.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.c.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oidcclient.NewVerifier()
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: "/signin", MaxAge: 600,
		HttpOnly: true, Secure: s.c.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, s.c.OIDC.AuthURL(state, nonce, verifier), http.StatusSeeOther)
}

// oidcCallback trades the code for the provider's ID token and asks the
// identity service to sign in with it; the service checks the token
// (signature, issuer, audience, expiry, nonce), not the console.
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
	raw, err := s.c.OIDC.Exchange(r.Context(), r.URL.Query().Get("code"), verifier)
	if err != nil {
		s.c.Log.Warn("oidc code exchange failed", "err", err)
		s.signinForm(w, r, http.StatusUnauthorized, "signin.oidc_failed")
		return
	}
	resp, err := s.c.Identity.SignInWithIDToken(s.asConsole(r.Context()), &identityv1.SignInWithIDTokenRequest{IdToken: raw, Nonce: nonce})
	switch reasonOf(err) {
	case reasonNoAccount:
		s.signinForm(w, r, http.StatusUnauthorized, "signin.no_account")
		return
	case reasonIDTokenRejected:
		s.signinForm(w, r, http.StatusUnauthorized, "signin.oidc_failed")
		return
	}
	if err != nil {
		s.consoleFailed(w, r, err)
		return
	}
	s.startSession(w, r, resp.GetSessionToken(), resp.GetSession().GetExpiresAt())
}
