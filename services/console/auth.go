package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/redress/redress/services/internal/identity"
)

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signinPage shows the form with a fresh double-submit CSRF token: the same
// random value in a cookie and in the form (there is no session yet).
func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.signinForm(w, r, http.StatusOK, "")
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request, code int, errKey string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: tok, Path: "/signin", MaxAge: 3600,
		HttpOnly: true, Secure: s.c.SecureCookies, SameSite: http.SameSiteStrictMode})
	s.render(w, code, "signin", &view{Lang: language(r), CSRF: tok, SSO: s.c.OIDC != nil}, errKey)
}

// signin checks a password. Each check costs a 64 MiB argon2id hash, so
// attempts are limited per client address before anything is hashed.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if !s.c.SigninLimit.Allow(s.clientAddr(r)) {
		w.Header().Set("Retry-After", "60")
		s.signinForm(w, r, http.StatusTooManyRequests, "signin.too_many")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(preCSRFCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.signinForm(w, r, http.StatusForbidden, "csrf")
		return
	}
	u, err := s.c.Identity.SignIn(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"))
	switch {
	case errors.Is(err, identity.ErrLocked):
		s.signinForm(w, r, http.StatusUnauthorized, "signin.locked")
		return
	case errors.Is(err, identity.ErrBadCredentials):
		s.signinForm(w, r, http.StatusUnauthorized, "signin.failed")
		return
	case err != nil:
		s.fail(w, r, &view{Lang: language(r)}, err)
		return
	}
	s.startSession(w, r, u)
}

// startSession issues a new session (a fresh id at every sign-in: no
// fixation) and sends the browser to its queue.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u identity.User) {
	sess, err := s.c.Identity.NewSession(r.Context(), u)
	if err != nil {
		s.fail(w, r, &view{Lang: language(r)}, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.c.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: "", Path: "/signin", MaxAge: -1})
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.c.Identity.EndSession(r.Context(), v.session.Token); err != nil {
		s.fail(w, r, v, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.c.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, v *view) {
	s.render(w, http.StatusOK, "password", v, "")
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, v *view) {
	if !s.c.SigninLimit.Allow(s.clientAddr(r)) { // the old password is hashed too
		w.Header().Set("Retry-After", "60")
		s.render(w, http.StatusTooManyRequests, "password", v, "signin.too_many")
		return
	}
	err := s.c.Identity.ChangePassword(r.Context(), v.User.Username, r.PostFormValue("old"), r.PostFormValue("new"))
	switch {
	case errors.Is(err, identity.ErrBadCredentials), errors.Is(err, identity.ErrLocked):
		s.render(w, http.StatusUnauthorized, "password", v, "signin.failed")
	case err != nil:
		v.Error = err.Error() // the store's messages are about the password rules
		s.render(w, http.StatusBadRequest, "password", v, "")
	default:
		s.signinForm(w, r, http.StatusOK, "password_changed")
	}
}

// ownToken issues the signed-in person a 30-day API credential of their
// own, shown once (nobody else may issue one for a person).
func (s *Server) ownToken(w http.ResponseWriter, r *http.Request, v *view) {
	secret, _, err := s.c.Identity.IssueToken(r.Context(), v.User.Username, v.User.Username, "console", nil, 30*24*time.Hour)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = secret
	s.render(w, http.StatusOK, "password", v, "")
}
