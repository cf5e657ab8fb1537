package console

import (
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
)

// Administration of people and API credentials, through IdentityService
// with the administrator's session: every change passes user.admin (or
// grant.review) in the access table and lands in the audit chain with the
// administrator's name. The identity service holds the rules (credentials
// only for oneself or service accounts, no own role change, powerful grants
// wait for a second person); the console shows its refusals.

type adminData struct {
	Users   []*identityv1.User // with their credentials
	Roles   []access.Role
	Pending []*identityv1.Grant
	Secret  string // a credential just issued, shown once
	For     string
	Now     time.Time
}

func (s *Server) pendingGrants(r *http.Request, v *view) ([]*identityv1.Grant, error) {
	resp, err := s.c.Identity.ListPendingGrants(v.rpc(r.Context()), &identityv1.ListPendingGrantsRequest{})
	return resp.GetGrants(), err
}

func (s *Server) adminOnly(h authedHandler) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		if !v.Can(string(access.UserAdmin)) {
			s.render(w, http.StatusForbidden, "message", v, "forbidden")
			return
		}
		h(w, r, v)
	}
}

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, v *view, d adminData) {
	users, err := s.c.Identity.ListUsers(v.rpc(r.Context()), &identityv1.ListUsersRequest{})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Users = users.GetUsers()
	if d.Pending, err = s.pendingGrants(r, v); err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Roles, d.Now = access.Roles, s.c.Now()
	v.Title, v.Data = translate(v.Lang, "admin.users"), d
	s.render(w, http.StatusOK, "admin", v, "")
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request, v *view) {
	v.Flash = flash(r, v.Lang)
	s.adminPage(w, r, v, adminData{})
}

func (s *Server) adminAddUser(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostFormValue
	_, err := s.c.Identity.CreateAccount(v.rpc(r.Context()), &identityv1.CreateAccountRequest{
		Username: strings.TrimSpace(f("username")), DisplayName: f("name"), Role: f("role"), Password: f("password"),
		Email: strings.TrimSpace(f("email"))})
	s.adminDone(w, r, v, err)
}

func (s *Server) adminUserAction(w http.ResponseWriter, r *http.Request, v *view) {
	name, ctx, f := r.PathValue("name"), v.rpc(r.Context()), r.PostFormValue
	var err error
	switch r.PathValue("action") {
	case "role":
		_, err = s.c.Identity.SetRole(ctx, &identityv1.SetRoleRequest{Username: name, Role: f("role")})
	case "sso":
		_, err = s.c.Identity.RequestSSOLink(ctx, &identityv1.RequestSSOLinkRequest{Username: name,
			Email: strings.TrimSpace(f("email")), OidcIssuer: strings.TrimSpace(f("issuer")), OidcSubject: strings.TrimSpace(f("subject"))})
	case "disable", "enable":
		_, err = s.c.Identity.SetDisabled(ctx, &identityv1.SetDisabledRequest{Username: name, Disabled: r.PathValue("action") == "disable"})
	case "token":
		ttl, perr := time.ParseDuration(f("ttl"))
		if perr != nil {
			ttl = 30 * 24 * time.Hour
		}
		var resp *identityv1.IssueTokenResponse
		resp, err = s.c.Identity.IssueToken(ctx, &identityv1.IssueTokenRequest{Username: name, Name: f("label"),
			Scopes: r.PostForm["scope"], TtlSeconds: int64(ttl / time.Second)})
		if err == nil {
			s.adminPage(w, r, v, adminData{Secret: resp.GetSecret(), For: name})
			return
		}
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	s.adminDone(w, r, v, err)
}

func (s *Server) adminRevoke(w http.ResponseWriter, r *http.Request, v *view) {
	_, err := s.c.Identity.RevokeToken(v.rpc(r.Context()), &identityv1.RevokeTokenRequest{TokenId: r.PathValue("id")})
	s.adminDone(w, r, v, err)
}

// adminDone answers a change: back to the list, or the service's message
// (about usernames, roles, passwords, scopes: never personal data) above
// the list.
func (s *Server) adminDone(w http.ResponseWriter, r *http.Request, v *view, err error) {
	code := http.StatusBadRequest
	switch status.Code(err) {
	case codes.OK:
		http.Redirect(w, r, "/admin/users?done=1", http.StatusSeeOther)
		return
	case codes.NotFound:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	case codes.PermissionDenied: // a refusal of the identity rules
		code = http.StatusForbidden
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists:
	default:
		s.fail(w, r, v, err)
		return
	}
	v.Error = translate(v.Lang, "bad_request") + ": " + status.Convert(err).Message()
	w.WriteHeader(code)
	s.adminPage(statusWritten{w}, r, v, adminData{})
}

// grantsPage lists the grants waiting for a second person, to
// administrators and compliance officers.
func (s *Server) grantsPage(w http.ResponseWriter, r *http.Request, v *view) {
	if !v.SeesGrants() {
		s.render(w, http.StatusForbidden, "message", v, "forbidden")
		return
	}
	pending, err := s.pendingGrants(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Flash = flash(r, v.Lang)
	v.Title, v.Data = translate(v.Lang, "grants.title"), adminData{Pending: pending}
	s.render(w, http.StatusOK, "grants", v, "")
}

// grantAction confirms or rejects a grant. The identity service decides
// who may (and records a refusal), so the rule lives in one place.
func (s *Server) grantAction(w http.ResponseWriter, r *http.Request, v *view) {
	var err error
	ctx, id := v.rpc(r.Context()), r.PathValue("id")
	switch r.PathValue("action") {
	case "confirm":
		_, err = s.c.Identity.ConfirmGrant(ctx, &identityv1.ConfirmGrantRequest{GrantId: id})
	case "reject":
		_, err = s.c.Identity.RejectGrant(ctx, &identityv1.RejectGrantRequest{GrantId: id})
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	switch status.Code(err) {
	case codes.OK:
		http.Redirect(w, r, "/grants?done=1", http.StatusSeeOther)
	case codes.NotFound, codes.InvalidArgument: // no such grant (or not an id)
		s.render(w, http.StatusNotFound, "message", v, "not_found")
	case codes.PermissionDenied:
		v.Error = translate(v.Lang, "forbidden") + " " + status.Convert(err).Message()
		s.render(w, http.StatusForbidden, "message", v, "")
	default:
		s.fail(w, r, v, err)
	}
}

// statusWritten ignores a second WriteHeader (the page renders with the
// status already sent).
type statusWritten struct{ http.ResponseWriter }

func (statusWritten) WriteHeader(int) {}
