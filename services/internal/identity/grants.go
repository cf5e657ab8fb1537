package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/notify"
)

// NoRole is the role of an account made on the administration page while
// the grant of its role waits for a second person: it holds no permission.
const NoRole access.Role = "none"

// NeedsSecondPerson reports whether granting role takes a second person: it
// reveals personal data, approves deletions, administers or erases data.
func NeedsSecondPerson(role access.Role) bool {
	return role.Holds(access.CaseReveal) || role.Holds(access.DeletionApprove) || role.Holds(access.UserAdmin) ||
		role.Holds(access.IntakeErase)
}

// Kinds of grant.
const (
	GrantRole = "role" // a role for an account
	GrantSSO  = "sso"  // the email and single sign-on identity an account signs in by
)

// Grant is a change of an account's power that waits for a second person.
type Grant struct {
	ID          uuid.UUID `gorm:"type:uuid;primaryKey"`
	UserID      uuid.UUID `gorm:"type:uuid"`
	Username    string    `gorm:"->"` // read with the account
	Kind        string
	Role        string
	Email       string
	OIDCIssuer  string `gorm:"column:oidc_issuer"`
	OIDCSubject string `gorm:"column:oidc_subject"`
	RequestedBy string
	RequestedAt time.Time
	Status      string
	DecidedBy   string
	DecidedAt   *time.Time
}

// TableName is the table of grants.
func (Grant) TableName() string { return "role_grants" }

// ErrPendingExists: the account already has a grant of this kind waiting.
var ErrPendingExists = errors.New("a grant of this kind is already waiting for this account: confirm or reject it first")

// Mailer sends a complete message (notify.SMTPSender is one).
type Mailer interface {
	SendMessage(ctx context.Context, to string, msg []byte) error
	FromAddress() string
}

// SetRole changes an account's role. Nobody changes their own role; a
// person's account never becomes a service account nor the reverse (an
// administrator may mint credentials for service accounts). A role that
// reveals personal data, approves deletions or administers is not set but
// requested: the pending grant is returned, the compliance officers are
// mailed, and ConfirmGrant by a second person sets it. Any other role is set
// at once. A role change revokes the account's API credentials (a
// credential is issued for one job).
func (s *Store) SetRole(ctx context.Context, actor, username string, role access.Role) (*Grant, error) {
	if !access.ValidRole(string(role)) {
		return nil, invalid("role", "%q: one of %v", role, access.Roles)
	}
	u, err := s.User(ctx, username)
	if err != nil {
		return nil, err
	}
	switch {
	case actor == username:
		return nil, s.refuse(ctx, actor, username, "user.role", "you cannot change your own role: ask another administrator")
	case access.Role(u.Role) == role:
		return nil, invalid("role", "%s already has role %s", username, role)
	case access.Role(u.Role).IsService() || role.IsService():
		return nil, s.refuse(ctx, actor, username, "user.role",
			"a person's account never becomes a service account, nor the reverse, and a service account keeps its job: make a new account")
	}
	if NeedsSecondPerson(role) {
		return s.request(ctx, actor, u, Grant{Kind: GrantRole, Role: string(role)})
	}
	return nil, s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.applyRole(tx, actor, u, role, "")
	})
}

// applyRole sets the role and revokes the account's credentials.
func (s *Store) applyRole(tx *gorm.DB, actor string, u User, role access.Role, requestedBy string) error {
	if err := tx.Exec(`UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, string(role), s.now(), u.ID).Error; err != nil {
		return err
	}
	revoked, err := s.revokeAll(tx, u.ID)
	if err != nil {
		return err
	}
	details := map[string]any{"role": string(role), "from": u.Role, "credentials_revoked": revoked}
	if requestedBy != "" {
		details["requested_by"] = requestedBy
	}
	return s.audit(tx, actor, "user.role", u.Username, details)
}

// CreateAccount is AddUser for the administration page: an account whose
// role needs a second person is made with NoRole and a pending grant of the
// role (returned), so nobody makes a powerful account alone.
func (s *Store) CreateAccount(ctx context.Context, actor string, nu NewUser) (User, *Grant, error) {
	if !NeedsSecondPerson(nu.Role) {
		u, err := s.AddUser(ctx, actor, nu)
		return u, nil, err
	}
	var u User
	var g *Grant
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if u, err = s.addUser(tx, actor, nu, NoRole); err != nil {
			return err
		}
		g, err = s.insertGrant(tx, actor, u, Grant{Kind: GrantRole, Role: string(nu.Role)})
		return err
	})
	if err != nil {
		return User{}, nil, err
	}
	s.mailCompliance(ctx, *g, "requested")
	return u, g, nil
}

// RequestSSO asks to set the email and single sign-on identity (issuer and
// subject) an account signs in by; empty values clear them. It always waits
// for a second person: whoever sets them chooses who signs in as the account.
func (s *Store) RequestSSO(ctx context.Context, actor, username, email, issuer, subject string) (*Grant, error) {
	email, issuer, subject = strings.TrimSpace(email), strings.TrimSpace(issuer), strings.TrimSpace(subject)
	if err := checkSSO(email, issuer, subject); err != nil {
		return nil, err
	}
	u, err := s.User(ctx, username)
	if err != nil {
		return nil, err
	}
	return s.request(ctx, actor, u, Grant{Kind: GrantSSO, Email: email, OIDCIssuer: issuer, OIDCSubject: subject})
}

func checkSSO(email, issuer, subject string) error {
	if (issuer == "") != (subject == "") {
		return invalid("oidc_subject", "single sign-on issuer and subject go together (both or neither)")
	}
	if len(email) > 254 || len(issuer) > 512 || len(subject) > 255 {
		return invalid("oidc_issuer", "single sign-on: email at most 254 characters, issuer 512, subject 255")
	}
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			return invalid("email", "not a plain email address (name@example.org)")
		}
	}
	return nil
}

// request records a pending grant and mails the compliance officers.
func (s *Store) request(ctx context.Context, actor string, u User, g Grant) (*Grant, error) {
	var out *Grant
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = s.insertGrant(tx, actor, u, g)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.mailCompliance(ctx, *out, "requested")
	return out, nil
}

func (s *Store) insertGrant(tx *gorm.DB, actor string, u User, g Grant) (*Grant, error) {
	g.ID, g.UserID, g.Username, g.RequestedBy, g.RequestedAt, g.Status = uuid.New(), u.ID, u.Username, actor, s.now(), "pending"
	res := tx.Exec(`INSERT INTO role_grants (id, user_id, kind, role, email, oidc_issuer, oidc_subject, requested_by, requested_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, kind) WHERE status = 'pending' DO NOTHING`,
		g.ID, g.UserID, g.Kind, g.Role, g.Email, g.OIDCIssuer, g.OIDCSubject, g.RequestedBy, g.RequestedAt)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, ErrPendingExists
	}
	return &g, s.audit(tx, actor, "role.grant.requested", u.Username, g.details())
}

// details are what the audit chain and the mail say about a grant.
func (g Grant) details() map[string]any {
	d := map[string]any{"grant_id": g.ID.String(), "kind": g.Kind, "requested_by": g.RequestedBy}
	if g.Kind == GrantRole {
		d["role"] = g.Role
	} else {
		d["email"], d["oidc_issuer"], d["oidc_subject"] = g.Email, g.OIDCIssuer, g.OIDCSubject
	}
	return d
}

// Describe says in words what the grant gives.
func (g Grant) Describe() string {
	if g.Kind == GrantRole {
		return "role " + g.Role
	}
	if g.OIDCSubject == "" && g.Email == "" {
		return "no single sign-on identity"
	}
	return fmt.Sprintf("single sign-on by email %q, issuer %q, subject %q", g.Email, g.OIDCIssuer, g.OIDCSubject)
}

// PendingGrants lists the grants waiting for a second person, oldest first.
func (s *Store) PendingGrants(ctx context.Context) ([]Grant, error) {
	var gs []Grant
	err := s.DB.WithContext(ctx).Table("role_grants g").Select("g.*, u.username").Joins("JOIN users u ON u.id = g.user_id").
		Where("g.status = 'pending'").Order("g.requested_at, g.id").Scan(&gs).Error
	return gs, err
}

func (s *Store) grant(ctx context.Context, id uuid.UUID) (Grant, User, error) {
	var g Grant
	res := s.DB.WithContext(ctx).Table("role_grants g").Select("g.*, u.username").Joins("JOIN users u ON u.id = g.user_id").
		Where("g.id = ? AND g.status = 'pending'", id).Scan(&g)
	if res.Error != nil {
		return g, User{}, res.Error
	}
	if res.RowsAffected == 0 {
		return g, User{}, fmt.Errorf("grant %s: %w (or already decided)", id, ErrNotFound)
	}
	var u User
	return g, u, s.DB.WithContext(ctx).Where("id = ?", g.UserID).Take(&u).Error
}

// WhyNotConfirm says why confirmer may not confirm g (for an account of role
// target holds), or "" when they may: a second person, not the requester
// and not the account's owner, who is an enabled administrator, or a
// compliance officer when what is at stake reveals personal data.
func WhyNotConfirm(confirmer User, g Grant, target User) string {
	atStake := access.Role(target.Role)
	if g.Kind == GrantRole {
		atStake = access.Role(g.Role)
	}
	switch {
	case confirmer.Username == g.RequestedBy:
		return "a second person must confirm this grant: you asked for it"
	case confirmer.ID == g.UserID:
		return "a second person must confirm this grant: it is for your own account"
	case confirmer.Disabled:
		return "your account is disabled"
	case access.Role(confirmer.Role) == access.Admin:
		return ""
	case access.Role(confirmer.Role) == access.ComplianceOfficer && atStake.Holds(access.CaseReveal):
		return ""
	case access.Role(confirmer.Role) == access.ComplianceOfficer:
		return "a second person must confirm this grant: another administrator (it does not reveal personal data, so a compliance officer may not)"
	}
	return "a second person must confirm this grant: another administrator, or a compliance officer for roles that reveal personal data"
}

// MayConfirm reports whether the account named actor may confirm g.
func (s *Store) MayConfirm(ctx context.Context, actor string, g Grant) bool {
	me, err1 := s.User(ctx, actor)
	var target User
	err2 := s.DB.WithContext(ctx).Where("id = ?", g.UserID).Take(&target).Error
	return err1 == nil && err2 == nil && WhyNotConfirm(me, g, target) == ""
}

// ConfirmGrant applies a pending grant, confirmed by actor (see WhyNotConfirm).
func (s *Store) ConfirmGrant(ctx context.Context, actor string, id uuid.UUID) error {
	g, target, err := s.grant(ctx, id)
	if err != nil {
		return err
	}
	me, err := s.User(ctx, actor)
	if errors.Is(err, ErrNotFound) {
		me = User{Username: actor, Role: string(NoRole)} // the command line, or nobody: not a second person
	} else if err != nil {
		return err
	}
	if why := WhyNotConfirm(me, g, target); why != "" {
		return s.refuseOnRecord(ctx, actor, g.Username, "role.grant.confirm", why)
	}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.decide(tx, actor, g, "confirmed"); err != nil {
			return err
		}
		if g.Kind == GrantRole {
			// The account as it is now (locked), not as it was read.
			if err := tx.Raw(`SELECT * FROM users WHERE id = ? FOR UPDATE`, g.UserID).Scan(&target).Error; err != nil {
				return err
			}
			return s.applyRole(tx, actor, target, access.Role(g.Role), g.RequestedBy)
		}
		if err := tx.Exec(`UPDATE users SET email = ?, oidc_issuer = ?, oidc_subject = ?, updated_at = ? WHERE id = ?`,
			g.Email, g.OIDCIssuer, g.OIDCSubject, s.now(), g.UserID).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "user.sso", g.Username, g.details())
	})
	if err != nil {
		return err
	}
	s.mailCompliance(ctx, g, "confirmed by "+actor)
	return nil
}

// RejectGrant drops a pending grant: its requester withdraws it, or an
// administrator or a compliance officer turns it down.
func (s *Store) RejectGrant(ctx context.Context, actor string, id uuid.UUID) error {
	g, _, err := s.grant(ctx, id)
	if err != nil {
		return err
	}
	if actor != g.RequestedBy {
		me, err := s.User(ctx, actor)
		if err != nil || me.Disabled || (access.Role(me.Role) != access.Admin && access.Role(me.Role) != access.ComplianceOfficer) {
			return s.refuse(ctx, actor, g.Username, "role.grant.reject", "only its requester, an administrator or a compliance officer may reject a grant")
		}
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return s.decide(tx, actor, g, "rejected") })
}

// decide closes a pending grant (once: a concurrent decision finds it gone).
func (s *Store) decide(tx *gorm.DB, actor string, g Grant, status string) error {
	res := tx.Exec(`UPDATE role_grants SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'`,
		status, actor, s.now(), g.ID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("grant %s: %w (or already decided)", g.ID, ErrNotFound)
	}
	return s.audit(tx, actor, "role.grant."+status, g.Username, g.details())
}

// mailCompliance tells the compliance officers about a grant. A failed
// delivery is logged (grant id only) and does not undo the grant: it still
// waits for, or was confirmed by, a second person, and is in the audit chain.
func (s *Store) mailCompliance(ctx context.Context, g Grant, what string) {
	if s.Mail == nil {
		return
	}
	for _, to := range s.ComplianceEmails {
		to = strings.TrimSpace(to)
		if to == "" {
			continue
		}
		var msg bytes.Buffer
		fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: Redress: grant of power to %s %s\r\n", s.Mail.FromAddress(), to, g.Username, strings.Fields(what)[0])
		fmt.Fprintf(&msg, "Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
			s.now().Format(time.RFC1123Z), notify.MessageID("role-grant/"+g.ID.String()+"/"+strings.Fields(what)[0]+"/"+to))
		fmt.Fprintf(&msg, "Account: %s\r\nGrant: %s\r\nRequested by: %s at %s\r\nStatus: %s\r\nGrant id: %s\r\n\r\n"+
			"A grant that reveals personal data, approves deletions or administers takes effect only when a second person confirms it "+
			"in the console (Users and credentials, or Pending grants). If you did not expect it, reject it there.\r\n",
			g.Username, g.Describe(), g.RequestedBy, g.RequestedAt.UTC().Format(time.RFC3339), what, g.ID)
		if err := s.Mail.SendMessage(ctx, to, msg.Bytes()); err != nil {
			s.log().Error("mail to the compliance officers about a grant failed", "grant", g.ID.String(), "err", err)
		}
	}
}
