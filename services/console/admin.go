package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
)

// Administration of people and API credentials. There is no identity RPC:
// the console calls the identity store in-process, behind the user.admin
// permission, and every change lands in the audit chain with the
// administrator's name. The store holds the rules (credentials only for
// oneself or automation accounts, no own role change, powerful grants wait
// for a second person); the console shows its refusals.

type adminUser struct {
	identity.User
	Tokens []identity.Token
}

type adminData struct {
	Users   []adminUser
	Roles   []access.Role
	Pending []pendingGrant
	Secret  string // a credential just issued, shown once
	For     string
	Now     time.Time
}

type pendingGrant struct {
	identity.Grant
	MayConfirm bool // the signed-in person may confirm it
}

func (s *Server) pendingGrants(r *http.Request, v *view) ([]pendingGrant, error) {
	gs, err := s.c.Identity.PendingGrants(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]pendingGrant, len(gs))
	for i, g := range gs {
		out[i] = pendingGrant{Grant: g, MayConfirm: s.c.Identity.MayConfirm(r.Context(), v.User.Username, g)}
	}
	return out, nil
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
	users, err := s.c.Identity.Users(r.Context())
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	for _, u := range users {
		ts, err := s.c.Identity.Tokens(r.Context(), u.Username)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		d.Users = append(d.Users, adminUser{User: u, Tokens: ts})
	}
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
	_, _, err := s.c.Identity.CreateAccount(r.Context(), v.User.Username, identity.NewUser{
		Username: strings.TrimSpace(f("username")), DisplayName: f("name"), Role: access.Role(f("role")), Password: f("password"),
		Email: strings.TrimSpace(f("email"))})
	s.adminDone(w, r, v, err)
}

func (s *Server) adminUserAction(w http.ResponseWriter, r *http.Request, v *view) {
	name, ctx, actor := r.PathValue("name"), r.Context(), v.User.Username
	var err error
	switch r.PathValue("action") {
	case "role":
		_, err = s.c.Identity.SetRole(ctx, actor, name, access.Role(r.PostFormValue("role")))
	case "sso":
		f := r.PostFormValue
		_, err = s.c.Identity.RequestSSO(ctx, actor, name, f("email"), f("issuer"), f("subject"))
	case "disable":
		if name == actor {
			err = errors.New("you cannot disable your own account")
		} else {
			err = s.c.Identity.SetDisabled(ctx, actor, name, true)
		}
	case "enable":
		err = s.c.Identity.SetDisabled(ctx, actor, name, false)
	case "token":
		ttl, perr := time.ParseDuration(r.PostFormValue("ttl"))
		if perr != nil {
			ttl = 30 * 24 * time.Hour
		}
		var scopes []access.Permission
		for _, sc := range r.PostForm["scope"] {
			scopes = append(scopes, access.Permission(sc))
		}
		secret, _, ierr := s.c.Identity.IssueToken(ctx, actor, name, r.PostFormValue("label"), scopes, ttl)
		if ierr == nil {
			s.adminPage(w, r, v, adminData{Secret: secret, For: name})
			return
		}
		err = ierr
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	s.adminDone(w, r, v, err)
}

func (s *Server) adminRevoke(w http.ResponseWriter, r *http.Request, v *view) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err == nil {
		err = s.c.Identity.RevokeToken(r.Context(), v.User.Username, id)
	}
	s.adminDone(w, r, v, err)
}

// adminDone answers a change: back to the list, or the store's message
// (about usernames, roles, passwords, scopes: never personal data).
func (s *Server) adminDone(w http.ResponseWriter, r *http.Request, v *view, err error) {
	switch {
	case err == nil:
		http.Redirect(w, r, "/admin/users?done=1", http.StatusSeeOther)
	case errors.Is(err, identity.ErrNotFound):
		s.render(w, http.StatusNotFound, "message", v, "not_found")
	default:
		code := http.StatusBadRequest
		if errors.Is(err, identity.ErrRefused) {
			code = http.StatusForbidden
		}
		v.Error = translate(v.Lang, "bad_request") + ": " + err.Error()
		w.WriteHeader(code)
		s.adminPage(statusWritten{w}, r, v, adminData{})
	}
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

// grantAction confirms or rejects a grant. Anyone signed in may ask; the
// store decides (and records a refusal), so the rule lives in one place.
func (s *Server) grantAction(w http.ResponseWriter, r *http.Request, v *view) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	switch r.PathValue("action") {
	case "confirm":
		err = s.c.Identity.ConfirmGrant(r.Context(), v.User.Username, id)
	case "reject":
		err = s.c.Identity.RejectGrant(r.Context(), v.User.Username, id)
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	switch {
	case err == nil:
		http.Redirect(w, r, "/grants?done=1", http.StatusSeeOther)
	case errors.Is(err, identity.ErrNotFound):
		s.render(w, http.StatusNotFound, "message", v, "not_found")
	case errors.Is(err, identity.ErrRefused):
		v.Error = translate(v.Lang, "forbidden") + " " + err.Error()
		s.render(w, http.StatusForbidden, "message", v, "")
	default:
		s.fail(w, r, v, err)
	}
}

// statusWritten ignores a second WriteHeader (the page renders with the
// status already sent).
type statusWritten struct{ http.ResponseWriter }

func (statusWritten) WriteHeader(int) {}
