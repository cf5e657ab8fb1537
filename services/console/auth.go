package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
)

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Reasons IdentityService gives (google.rpc.ErrorInfo) when what a person
// typed, or what their provider said, does not sign them in.
const (
	reasonBadCredentials  = "BAD_CREDENTIALS"
	reasonAccountLocked   = "ACCOUNT_LOCKED"
	reasonNoAccount       = "NO_ACCOUNT"
	reasonIDTokenRejected = "ID_TOKEN_REJECTED"
)

// reasonOf is the ErrorInfo reason of an UNAUTHENTICATED answer ("" for
// none: the caller's own credential failed).
func reasonOf(err error) string {
	st, _ := status.FromError(err)
	if st.Code() != codes.Unauthenticated {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
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
	resp, err := s.c.Identity.SignIn(s.asConsole(r.Context()),
		&identityv1.SignInRequest{Username: r.PostFormValue("username"), Password: r.PostFormValue("password")})
	switch {
	case reasonOf(err) == reasonAccountLocked:
		s.signinForm(w, r, http.StatusUnauthorized, "signin.locked")
		return
	case reasonOf(err) == reasonBadCredentials, status.Code(err) == codes.InvalidArgument: // an empty field
		s.signinForm(w, r, http.StatusUnauthorized, "signin.failed")
		return
	case err != nil:
		s.consoleFailed(w, r, err)
		return
	}
	s.startSession(w, r, resp.GetSessionToken(), resp.GetSession().GetExpiresAt())
}

// consoleFailed answers a sign-in the console could not ask for: its own
// credential refused (REDRESS_CONSOLE_TOKEN revoked or wrong) or the
// identity service down. Logged by code only.
func (s *Server) consoleFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.c.Log.Error("console sign-in failed: check REDRESS_CONSOLE_TOKEN and the identity service", "code", status.Code(err).String())
	s.render(w, http.StatusServiceUnavailable, "message", &view{Lang: language(r)}, "error")
}

// startSession sets the session cookie (a fresh session at every sign-in:
// no fixation) and sends the browser to its queue.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, token string, expires *timestamppb.Timestamp) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires.AsTime(),
		HttpOnly: true, Secure: s.c.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: "", Path: "/signin", MaxAge: -1})
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := s.c.Identity.EndSession(v.rpc(r.Context()), &identityv1.EndSessionRequest{}); err != nil {
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
	_, err := s.c.Identity.ChangePassword(v.rpc(r.Context()),
		&identityv1.ChangePasswordRequest{OldPassword: r.PostFormValue("old"), NewPassword: r.PostFormValue("new")})
	switch {
	case reasonOf(err) == reasonBadCredentials, reasonOf(err) == reasonAccountLocked:
		s.render(w, http.StatusUnauthorized, "password", v, "signin.failed")
	case status.Code(err) == codes.InvalidArgument:
		v.Error = status.Convert(err).Message() // the password rules, naming the field
		s.render(w, http.StatusBadRequest, "password", v, "")
	case err != nil:
		s.fail(w, r, v, err)
	default:
		s.signinForm(w, r, http.StatusOK, "password_changed")
	}
}

// ownToken issues the signed-in person a 30-day API credential of their
// own, shown once (nobody else may issue one for a person).
func (s *Server) ownToken(w http.ResponseWriter, r *http.Request, v *view) {
	resp, err := s.c.Identity.IssueOwnToken(v.rpc(r.Context()),
		&identityv1.IssueOwnTokenRequest{Name: "console", TtlSeconds: int64(30 * 24 * time.Hour / time.Second)})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = resp.GetSecret()
	s.render(w, http.StatusOK, "password", v, "")
}
