package identity

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/validation"
)

// Reasons (google.rpc.ErrorInfo, domain ErrorDomain) of the UNAUTHENTICATED
// answers to a sign-in or a password change: what the person typed or the
// provider said, as opposed to the caller's own credential, which fails
// without a reason.
const (
	ErrorDomain           = "identity.redress"
	ReasonBadCredentials  = "BAD_CREDENTIALS"
	ReasonAccountLocked   = "ACCOUNT_LOCKED"
	ReasonNoAccount       = "NO_ACCOUNT"
	ReasonIDTokenRejected = "ID_TOKEN_REJECTED"
)

// Limits of what a request may carry (an argon2id hash is costly enough
// without a megabyte to hash; an ID token is a few kilobytes).
const (
	maxPasswordBytes = 1024
	maxIDTokenBytes  = 16 << 10
	maxNonceBytes    = 256
	ownTokenTTL      = 30 * 24 * time.Hour
)

// Server is IdentityService over the Store, which stays the only code that
// touches accounts, sessions, credentials and grants: this file maps
// messages, checks fields and turns the store's errors into status codes.
type Server struct {
	identityv1.UnimplementedIdentityServiceServer
	Store *Store
	// OIDC checks ID tokens for SignInWithIDToken; nil: single sign-on is
	// not configured (FAILED_PRECONDITION).
	OIDC *OIDC
	Log  *slog.Logger // nil: slog.Default()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// bearer is the call's credential, which the guard has checked.
func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 {
		t, _ := strings.CutPrefix(v[0], "Bearer ")
		return t
	}
	return ""
}

// self is the account the call acts on when it acts on its own: the
// authenticated principal (a call without one has no account).
func self(ctx context.Context) (string, error) {
	p, ok := access.PrincipalFrom(ctx)
	if !ok {
		return "", status.Error(codes.Unauthenticated, "no credential: this call acts on the bearer's own account")
	}
	return p.ID, nil
}

func (s *Server) SignIn(ctx context.Context, req *identityv1.SignInRequest) (*identityv1.SignInResponse, error) {
	var e validation.Errors
	e.Text("username", req.GetUsername(), 1, 64)
	secret(&e, "password", req.GetPassword())
	if err := e.Err(); err != nil {
		return nil, err
	}
	u, err := s.Store.SignIn(ctx, req.GetUsername(), req.GetPassword())
	if err != nil {
		return nil, s.status(err)
	}
	token, sess, user, err := s.session(ctx, u)
	if err != nil {
		return nil, err
	}
	return &identityv1.SignInResponse{SessionToken: token, Session: sess, User: user}, nil
}

func (s *Server) SignInWithIDToken(ctx context.Context, req *identityv1.SignInWithIDTokenRequest) (*identityv1.SignInWithIDTokenResponse, error) {
	var e validation.Errors
	bounded(&e, "id_token", req.GetIdToken(), maxIDTokenBytes)
	bounded(&e, "nonce", req.GetNonce(), maxNonceBytes)
	if err := e.Err(); err != nil {
		return nil, err
	}
	if s.OIDC == nil {
		return nil, status.Error(codes.FailedPrecondition, "single sign-on is not configured (REDRESS_OIDC_ISSUER)")
	}
	u, err := s.OIDC.SignIn(ctx, req.GetIdToken(), req.GetNonce())
	if err != nil {
		return nil, s.status(err)
	}
	token, sess, user, err := s.session(ctx, u)
	if err != nil {
		return nil, err
	}
	return &identityv1.SignInWithIDTokenResponse{SessionToken: token, Session: sess, User: user}, nil
}

// session starts a session for a person who proved who they are.
func (s *Server) session(ctx context.Context, u User) (string, *identityv1.Session, *identityv1.User, error) {
	sess, err := s.Store.NewSession(ctx, u)
	if err != nil {
		return "", nil, nil, s.status(err)
	}
	return sess.Token, sessionMsg(sess), userMsg(u), nil
}

func (s *Server) WhoAmI(ctx context.Context, _ *identityv1.WhoAmIRequest) (*identityv1.WhoAmIResponse, error) {
	token := bearer(ctx)
	if strings.HasPrefix(token, sessionPrefix) {
		sess, err := s.Store.SessionFor(ctx, token)
		if err != nil {
			return nil, s.status(err)
		}
		return &identityv1.WhoAmIResponse{User: userMsg(sess.User), Session: sessionMsg(sess)}, nil
	}
	name, err := self(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.User(ctx, name)
	if err != nil {
		return nil, s.status(err)
	}
	return &identityv1.WhoAmIResponse{User: userMsg(u)}, nil
}

// Authenticate answers the principal the guard found for the bearer (the
// guard has already refused an invalid one), so it tells the caller nothing
// the bearer does not already give it.
func (s *Server) Authenticate(ctx context.Context, _ *identityv1.AuthenticateRequest) (*identityv1.AuthenticateResponse, error) {
	p, ok := access.PrincipalFrom(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no credential: send authorization: Bearer <token>")
	}
	resp := &identityv1.AuthenticateResponse{PrincipalId: p.ID, Role: string(p.Role)}
	for _, sc := range p.Scopes {
		resp.Scopes = append(resp.Scopes, string(sc))
	}
	return resp, nil
}

func (s *Server) EndSession(ctx context.Context, _ *identityv1.EndSessionRequest) (*identityv1.EndSessionResponse, error) {
	token := bearer(ctx)
	if !strings.HasPrefix(token, sessionPrefix) {
		return nil, status.Error(codes.FailedPrecondition, "the bearer is not a session: revoke an API credential instead")
	}
	if err := s.Store.EndSession(ctx, token); err != nil {
		return nil, s.status(err)
	}
	return &identityv1.EndSessionResponse{}, nil
}

func (s *Server) ChangePassword(ctx context.Context, req *identityv1.ChangePasswordRequest) (*identityv1.ChangePasswordResponse, error) {
	var e validation.Errors
	secret(&e, "old_password", req.GetOldPassword())
	secret(&e, "new_password", req.GetNewPassword())
	if err := e.Err(); err != nil {
		return nil, err
	}
	name, err := self(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Store.ChangePassword(ctx, name, req.GetOldPassword(), req.GetNewPassword()); err != nil {
		var inv *Invalid
		if errors.As(err, &inv) && inv.Field == "password" {
			inv.Field = "new_password" // the rules are about the new one
		}
		return nil, s.status(err)
	}
	return &identityv1.ChangePasswordResponse{}, nil
}

func (s *Server) IssueOwnToken(ctx context.Context, req *identityv1.IssueOwnTokenRequest) (*identityv1.IssueOwnTokenResponse, error) {
	var e validation.Errors
	e.Text("name", req.GetName(), 0, 100)
	ttl := tokenTTL(&e, req.GetTtlSeconds())
	if err := e.Err(); err != nil {
		return nil, err
	}
	name, err := self(ctx)
	if err != nil {
		return nil, err
	}
	secret, t, err := s.Store.IssueToken(ctx, name, name, orDefault(req.GetName(), "own"), nil, ttl)
	if err != nil {
		return nil, s.status(err)
	}
	return &identityv1.IssueOwnTokenResponse{Secret: secret, Token: tokenMsg(t)}, nil
}

func (s *Server) ListUsers(ctx context.Context, _ *identityv1.ListUsersRequest) (*identityv1.ListUsersResponse, error) {
	users, err := s.Store.Users(ctx)
	if err != nil {
		return nil, s.status(err)
	}
	out := &identityv1.ListUsersResponse{}
	for _, u := range users {
		ts, err := s.Store.Tokens(ctx, u.Username)
		if err != nil {
			return nil, s.status(err)
		}
		m := userMsg(u)
		for _, t := range ts {
			m.Tokens = append(m.Tokens, tokenMsg(t))
		}
		out.Users = append(out.Users, m)
	}
	return out, nil
}

func (s *Server) CreateAccount(ctx context.Context, req *identityv1.CreateAccountRequest) (*identityv1.CreateAccountResponse, error) {
	var e validation.Errors
	username(&e, "username", req.GetUsername())
	role(&e, req.GetRole())
	e.Text("display_name", req.GetDisplayName(), 0, 200)
	if req.GetPassword() != "" {
		secret(&e, "password", req.GetPassword())
	}
	e.Email("email", req.GetEmail())
	if err := e.Err(); err != nil {
		return nil, err
	}
	u, g, err := s.Store.CreateAccount(ctx, access.Actor(ctx), NewUser{Username: req.GetUsername(), DisplayName: req.GetDisplayName(),
		Role: access.Role(req.GetRole()), Password: req.GetPassword(), Email: req.GetEmail()})
	if err != nil {
		return nil, s.status(err)
	}
	return &identityv1.CreateAccountResponse{User: userMsg(u), PendingGrant: grantMsg(g)}, nil
}

func (s *Server) SetRole(ctx context.Context, req *identityv1.SetRoleRequest) (*identityv1.SetRoleResponse, error) {
	var e validation.Errors
	username(&e, "username", req.GetUsername())
	role(&e, req.GetRole())
	if err := e.Err(); err != nil {
		return nil, err
	}
	g, err := s.Store.SetRole(ctx, access.Actor(ctx), req.GetUsername(), access.Role(req.GetRole()))
	if err != nil {
		return nil, s.status(err)
	}
	return &identityv1.SetRoleResponse{PendingGrant: grantMsg(g)}, nil
}

func (s *Server) RequestSSOLink(ctx context.Context, req *identityv1.RequestSSOLinkRequest) (*identityv1.RequestSSOLinkResponse, error) {
	var e validation.Errors
	username(&e, "username", req.GetUsername())
	e.Text("oidc_issuer", req.GetOidcIssuer(), 0, 512)
	e.Text("oidc_subject", req.GetOidcSubject(), 0, 255)
	if err := e.Err(); err != nil {
		return nil, err
	}
	g, err := s.Store.RequestSSO(ctx, access.Actor(ctx), req.GetUsername(), req.GetEmail(), req.GetOidcIssuer(), req.GetOidcSubject())
	if err != nil {
		return nil, s.status(err)
	}
	return &identityv1.RequestSSOLinkResponse{PendingGrant: grantMsg(g)}, nil
}

func (s *Server) SetDisabled(ctx context.Context, req *identityv1.SetDisabledRequest) (*identityv1.SetDisabledResponse, error) {
	if err := validUsername("username", req.GetUsername()); err != nil {
		return nil, err
	}
	actor := access.Actor(ctx)
	if req.GetDisabled() && req.GetUsername() == actor {
		return nil, validation.Invalid("username", "you cannot disable your own account")
	}
	if err := s.Store.SetDisabled(ctx, actor, req.GetUsername(), req.GetDisabled()); err != nil {
		return nil, s.status(err)
	}
	return &identityv1.SetDisabledResponse{}, nil
}

func (s *Server) IssueToken(ctx context.Context, req *identityv1.IssueTokenRequest) (*identityv1.IssueTokenResponse, error) {
	var e validation.Errors
	username(&e, "username", req.GetUsername())
	e.Text("name", req.GetName(), 0, 100)
	ttl := tokenTTL(&e, req.GetTtlSeconds())
	var scopes []access.Permission
	for _, sc := range req.GetScopes() {
		scopes = append(scopes, access.Permission(sc))
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	secret, t, err := s.Store.IssueToken(ctx, access.Actor(ctx), req.GetUsername(), req.GetName(), scopes, ttl)
	if err != nil {
		return nil, s.status(err)
	}
	return &identityv1.IssueTokenResponse{Secret: secret, Token: tokenMsg(t)}, nil
}

func (s *Server) RevokeToken(ctx context.Context, req *identityv1.RevokeTokenRequest) (*identityv1.RevokeTokenResponse, error) {
	id, err := parseID("token_id", req.GetTokenId())
	if err != nil {
		return nil, err
	}
	if err := s.Store.RevokeToken(ctx, access.Actor(ctx), id); err != nil {
		return nil, s.status(err)
	}
	return &identityv1.RevokeTokenResponse{}, nil
}

func (s *Server) ListPendingGrants(ctx context.Context, _ *identityv1.ListPendingGrantsRequest) (*identityv1.ListPendingGrantsResponse, error) {
	gs, err := s.Store.PendingGrants(ctx)
	if err != nil {
		return nil, s.status(err)
	}
	out := &identityv1.ListPendingGrantsResponse{}
	for _, g := range gs {
		m := grantMsg(&g)
		m.MayConfirm = s.Store.MayConfirm(ctx, access.Actor(ctx), g)
		out.Grants = append(out.Grants, m)
	}
	return out, nil
}

func (s *Server) ConfirmGrant(ctx context.Context, req *identityv1.ConfirmGrantRequest) (*identityv1.ConfirmGrantResponse, error) {
	id, err := parseID("grant_id", req.GetGrantId())
	if err != nil {
		return nil, err
	}
	if err := s.Store.ConfirmGrant(ctx, access.Actor(ctx), id); err != nil {
		return nil, s.status(err)
	}
	return &identityv1.ConfirmGrantResponse{}, nil
}

func (s *Server) RejectGrant(ctx context.Context, req *identityv1.RejectGrantRequest) (*identityv1.RejectGrantResponse, error) {
	id, err := parseID("grant_id", req.GetGrantId())
	if err != nil {
		return nil, err
	}
	if err := s.Store.RejectGrant(ctx, access.Actor(ctx), id); err != nil {
		return nil, s.status(err)
	}
	return &identityv1.RejectGrantResponse{}, nil
}

// status maps the store's errors to status codes; anything unexpected is
// logged (never with what the caller sent) and answered as INTERNAL.
func (s *Server) status(err error) error {
	var inv *Invalid
	switch {
	case errors.As(err, &inv):
		return validation.Invalid(inv.Field, inv.Reason)
	case errors.Is(err, ErrBadCredentials):
		return withReason(ErrBadCredentials.Error(), ReasonBadCredentials)
	case errors.Is(err, ErrLocked):
		return withReason(ErrLocked.Error(), ReasonAccountLocked)
	case errors.Is(err, ErrNoAccount):
		return withReason(ErrNoAccount.Error(), ReasonNoAccount)
	case errors.Is(err, ErrIDTokenRejected):
		s.log().Warn("identity: ID token rejected", "err", err)
		return withReason(ErrIDTokenRejected.Error(), ReasonIDTokenRejected)
	case errors.Is(err, access.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "credential not valid")
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ErrExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, ErrPendingExists):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrRefused):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	s.log().Error("identity: request failed", "err", err)
	return status.Error(codes.Internal, "internal error")
}

func withReason(msg, reason string) error {
	st := status.New(codes.Unauthenticated, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}); err == nil {
		st = d
	}
	return st.Err()
}

func username(e *validation.Errors, field, v string) {
	if !ValidUsername(v) {
		e.Add(field, "lower-case letters, digits and . _ @ - only, 2-64 characters")
	}
}

func validUsername(field, v string) error {
	var e validation.Errors
	username(&e, field, v)
	return e.Err()
}

func role(e *validation.Errors, v string) {
	if !access.ValidRole(v) {
		e.Addf("role", "one of %v", access.Roles)
	}
}

// secret checks a password field: present, valid UTF-8, bounded.
func secret(e *validation.Errors, field, v string) {
	bounded(e, field, v, maxPasswordBytes)
}

func bounded(e *validation.Errors, field, v string, max int) {
	switch {
	case v == "":
		e.Add(field, "is required")
	case len(v) > max:
		e.Addf(field, "must be at most %d bytes", max)
	case !utf8.ValidString(v):
		e.Add(field, "must be valid UTF-8")
	}
}

func tokenTTL(e *validation.Errors, seconds int64) time.Duration {
	if seconds == 0 {
		return ownTokenTTL
	}
	if seconds < 1 || seconds > 366*24*3600 {
		e.Add("ttl_seconds", "between 1 s and 366 days (0: 30 days)")
	}
	return time.Duration(seconds) * time.Second
}

func parseID(field, v string) (uuid.UUID, error) {
	var e validation.Errors
	e.UUID(field, v)
	if err := e.Err(); err != nil {
		return uuid.Nil, err
	}
	return uuid.MustParse(v), nil
}

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil || t.IsZero() {
		return nil
	}
	return timestamppb.New(*t)
}

func userMsg(u User) *identityv1.User {
	return &identityv1.User{Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, Email: u.Email,
		OidcIssuer: u.OIDCIssuer, OidcSubject: u.OIDCSubject, Disabled: u.Disabled, HasPassword: u.PasswordHash != "",
		CreatedAt: ts(&u.CreatedAt)}
}

func sessionMsg(s Session) *identityv1.Session {
	return &identityv1.Session{CsrfToken: s.CSRF, ExpiresAt: ts(&s.ExpiresAt)}
}

func tokenMsg(t Token) *identityv1.Token {
	return &identityv1.Token{Id: t.ID.String(), Name: t.Name, Scopes: []string(t.Scopes), CreatedAt: ts(&t.CreatedAt),
		ExpiresAt: ts(&t.ExpiresAt), RevokedAt: ts(t.RevokedAt), LastUsedAt: ts(t.LastUsedAt)}
}

func grantMsg(g *Grant) *identityv1.Grant {
	if g == nil {
		return nil
	}
	return &identityv1.Grant{Id: g.ID.String(), Username: g.Username, Kind: g.Kind, Role: g.Role, Email: g.Email,
		OidcIssuer: g.OIDCIssuer, OidcSubject: g.OIDCSubject, RequestedBy: g.RequestedBy, RequestedAt: ts(&g.RequestedAt),
		Status: g.Status, Description: g.Describe()}
}
