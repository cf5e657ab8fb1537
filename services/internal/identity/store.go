// Package identity holds the people and service accounts of Redress: local
// accounts (argon2id passwords, lockout after repeated failures, password
// change), OIDC sign-in, browser sessions and bearer API credentials. It
// answers access.Authenticator for the gRPC services.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
)

// Errors a caller may show to a person.
var (
	ErrBadCredentials = errors.New("unknown user or wrong password")
	ErrLocked         = errors.New("account locked after repeated failures: try again later")
	ErrNotFound       = errors.New("no such user")
	ErrExists         = errors.New("user already exists")
	// ErrRefused: the store refuses this whoever asks it of whom; the
	// error's message says why, for the person who asked.
	ErrRefused = errors.New("refused")
)

// ErrInvalid: a value the store does not accept (see Invalid).
var ErrInvalid = errors.New("invalid value")

// Invalid is an ErrInvalid naming the field and the rule it breaks.
type Invalid struct{ Field, Reason string }

func (e *Invalid) Error() string        { return e.Field + ": " + e.Reason }
func (e *Invalid) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, a ...any) error {
	return &Invalid{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// refusal is an ErrRefused with its reason.
type refusal string

func (r refusal) Error() string        { return string(r) }
func (r refusal) Is(target error) bool { return target == ErrRefused }

// Credential prefixes: a leaked string says what it is (and secret scanners
// can find it).
const (
	tokenPrefix   = "rdt_" // API credential
	sessionPrefix = "rds_" // browser session (forwarded by the console)
)

// User is an account.
type User struct {
	ID                uuid.UUID `gorm:"type:uuid;primaryKey"`
	Username          string
	DisplayName       string
	Role              string
	PasswordHash      string
	Email             string // work address single sign-on may link by (when the provider verified it)
	OIDCIssuer        string `gorm:"column:oidc_issuer"`
	OIDCSubject       string `gorm:"column:oidc_subject"`
	Disabled          bool
	FailedAttempts    int
	LockedUntil       *time.Time
	PasswordChangedAt *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Store keeps accounts, sessions and API credentials in PostgreSQL.
type Store struct {
	DB  *gorm.DB
	Now func() time.Time // nil = time.Now

	MaxFailures int           // failed sign-ins before the account locks (default 5)
	LockFor     time.Duration // how long it stays locked (default 15 min)
	SessionTTL  time.Duration // absolute session lifetime (default 12 h)
	SessionIdle time.Duration // idle timeout (default 1 h)

	// Mail and ComplianceEmails: who is told of every pending and confirmed
	// grant of power (REDRESS_COMPLIANCE_EMAILS). Nil or empty: nobody is
	// mailed (the grants still wait for a second person).
	Mail             Mailer
	ComplianceEmails []string
	Log              *slog.Logger // nil: slog.Default()
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{1,63}$`)

// ValidUsername reports whether u is an acceptable username (also the
// principal id in audit entries).
func ValidUsername(u string) bool { return usernamePattern.MatchString(u) }

// NewUser is what AddUser needs.
type NewUser struct {
	Username    string
	DisplayName string
	Role        access.Role
	Password    string // empty: OIDC-only account
	// Email, and the single sign-on identity (issuer and subject), are what
	// single sign-on links the account by (see OIDC).
	Email, OIDCIssuer, OIDCSubject string
}

// AddUser creates an account with its role at once; actor is who does it
// (for the audit chain). It is the operator's path (the command line, which
// makes the first administrator, and the development stack); the
// administration page uses CreateAccount, whose powerful roles wait for a
// second person.
func (s *Store) AddUser(ctx context.Context, actor string, nu NewUser) (User, error) {
	var u User
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		u, err = s.addUser(tx, actor, nu, nu.Role)
		return err
	})
	return u, err
}

// addUser inserts the account with role (nu.Role, or NoRole while a grant waits).
func (s *Store) addUser(tx *gorm.DB, actor string, nu NewUser, role access.Role) (User, error) {
	if !ValidUsername(nu.Username) {
		return User{}, invalid("username", "%q: lower-case letters, digits and . _ @ - only, 2-64 characters", nu.Username)
	}
	if !access.ValidRole(string(nu.Role)) {
		return User{}, invalid("role", "%q: one of %v", nu.Role, access.Roles)
	}
	if err := checkSSO(nu.Email, nu.OIDCIssuer, nu.OIDCSubject); err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{ID: uuid.New(), Username: nu.Username, DisplayName: nu.DisplayName, Role: string(role), Email: nu.Email,
		OIDCIssuer: nu.OIDCIssuer, OIDCSubject: nu.OIDCSubject, CreatedAt: now, UpdatedAt: now}
	if nu.Password != "" {
		if err := checkPassword(nu.Password); err != nil {
			return User{}, err
		}
		h, err := HashPassword(nu.Password)
		if err != nil {
			return User{}, err
		}
		u.PasswordHash, u.PasswordChangedAt = h, &now
	}
	res := tx.Exec(`INSERT INTO users (id, username, display_name, role, email, oidc_issuer, oidc_subject, password_hash, password_changed_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
		u.ID, u.Username, u.DisplayName, u.Role, u.Email, u.OIDCIssuer, u.OIDCSubject, u.PasswordHash, u.PasswordChangedAt, now, now)
	if res.Error != nil {
		return User{}, res.Error
	}
	if res.RowsAffected == 0 {
		return User{}, ErrExists
	}
	return u, s.audit(tx, actor, "user.add", u.Username, map[string]any{"role": u.Role, "local_password": u.PasswordHash != "",
		"sso_subject": u.OIDCSubject != "", "email": u.Email != ""})
}

func checkPassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return invalid("password", "at least %d characters", MinPasswordLength)
	}
	return nil
}

func (s *Store) audit(tx *gorm.DB, actor, action, username string, details map[string]any) error {
	_, err := audit.Append(tx, audit.Entry{Actor: actor, Action: action, ObjectType: "user", ObjectID: username, Details: details, At: s.now()})
	return err
}

// refuse counts a refused change to an account as access.refused, as the
// services count refused calls (audit.Count: one chain entry per actor and
// minute naming the accounts tried, since the refusal can be repeated at
// will), and answers the refusal. A failed count is logged.
func (s *Store) refuse(ctx context.Context, actor, username, action, reason string) error {
	if err := audit.Count(s.DB.WithContext(context.WithoutCancel(ctx)), audit.Counted{Action: "access.refused", Actor: actor,
		ObjectType: "principal", ObjectID: actor, Kind: action, Sample: "user:" + username, At: s.now()}); err != nil {
		s.log().Error("identity: count of a refusal failed", "action", action, "err", err)
	}
	return refusal(reason)
}

// refuseOnRecord records a refused second-person step on the account's own
// record, one entry each: a reviewer must see every attempt to confirm a
// grant one may not confirm (one's own, or above one's role) on that account.
func (s *Store) refuseOnRecord(ctx context.Context, actor, username, action, reason string) error {
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.audit(tx, actor, "access.refused", username, map[string]any{"action": action, "reason": reason})
	})
	if err != nil {
		return err
	}
	return refusal(reason)
}

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// User returns the account named username.
func (s *Store) User(ctx context.Context, username string) (User, error) {
	var u User
	err := s.DB.WithContext(ctx).Where("username = ?", username).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, ErrNotFound
	}
	return u, err
}

// Users lists every account, by username.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var us []User
	return us, s.DB.WithContext(ctx).Order("username").Find(&us).Error
}

func (s *Store) update(ctx context.Context, actor, username, action string, set map[string]any, details map[string]any) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		set["updated_at"] = s.now()
		res := tx.Model(&User{}).Where("username = ?", username).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.audit(tx, actor, action, username, details)
	})
}

// SetDisabled disables (or re-enables) an account; a disabled account's
// sessions and credentials stop working at once.
func (s *Store) SetDisabled(ctx context.Context, actor, username string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return s.update(ctx, actor, username, action, map[string]any{"disabled": disabled}, nil)
}

// SetPassword sets a password without the old one (administrators, CLI) and
// unlocks the account. When someone else resets it, the account's sessions
// end and its API credentials are revoked: whoever held them (the owner, or
// whoever took the account over) signs in again with the new password, and
// a credential minted under the old one does not outlive the reset.
func (s *Store) SetPassword(ctx context.Context, actor, username, pw string) error {
	if err := checkPassword(pw); err != nil {
		return err
	}
	h, err := HashPassword(pw)
	if err != nil {
		return err
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row struct{ ID uuid.UUID }
		res := tx.Raw(`UPDATE users SET password_hash = ?, password_changed_at = ?, failed_attempts = 0, locked_until = NULL, updated_at = ?
			WHERE username = ? RETURNING id`, h, s.now(), s.now(), username).Scan(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		details := map[string]any{}
		if actor != username {
			ended, revoked, err := s.endAccess(tx, row.ID)
			if err != nil {
				return err
			}
			details["sessions_ended"], details["credentials_revoked"] = ended, revoked
		}
		return s.audit(tx, actor, "user.password.set", username, details)
	})
}

// endAccess ends every session and revokes every API credential of an account.
func (s *Store) endAccess(tx *gorm.DB, userID uuid.UUID) (sessions, credentials int64, err error) {
	res := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, userID)
	if res.Error != nil {
		return 0, 0, res.Error
	}
	sessions = res.RowsAffected
	credentials, err = s.revokeAll(tx, userID)
	return sessions, credentials, err
}

// revokeAll revokes every live API credential of an account.
func (s *Store) revokeAll(tx *gorm.DB, userID uuid.UUID) (int64, error) {
	res := tx.Exec(`UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, s.now(), userID)
	return res.RowsAffected, res.Error
}

// ChangePassword changes the user's own password, proving the old one, and
// ends their other sessions.
func (s *Store) ChangePassword(ctx context.Context, username, oldPW, newPW string) error {
	u, err := s.SignIn(ctx, username, oldPW)
	if err != nil {
		return err
	}
	if err := checkPassword(newPW); err != nil {
		return err
	}
	if newPW == oldPW {
		return invalid("new_password", "the new password must differ from the old one")
	}
	h, err := HashPassword(newPW)
	if err != nil {
		return err
	}
	if err := s.update(ctx, username, username, "user.password.change",
		map[string]any{"password_hash": h, "password_changed_at": s.now()}, nil); err != nil {
		return err
	}
	return s.DB.WithContext(ctx).Exec(`DELETE FROM sessions WHERE user_id = ?`, u.ID).Error
}

// SignIn checks a local password. After MaxFailures consecutive failures the
// account locks for LockFor, even for the right password.
func (s *Store) SignIn(ctx context.Context, username, pw string) (User, error) {
	u, err := s.User(ctx, username)
	if errors.Is(err, ErrNotFound) {
		_, _ = VerifyPassword(dummyHash(), pw)
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	now := s.now()
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		return User{}, ErrLocked
	}
	if u.Disabled || u.PasswordHash == "" {
		_, _ = VerifyPassword(dummyHash(), pw)
		return User{}, ErrBadCredentials
	}
	ok, err := VerifyPassword(u.PasswordHash, pw)
	if err != nil {
		return User{}, err
	}
	db := s.DB.WithContext(ctx)
	if ok {
		if u.FailedAttempts > 0 || u.LockedUntil != nil {
			if err := db.Exec(`UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?`, u.ID).Error; err != nil {
				return User{}, err
			}
		}
		return u, nil
	}
	maxFail, lockFor := orDefault(s.MaxFailures, 5), orDefault(s.LockFor, 15*time.Minute)
	locked := false
	err = db.Transaction(func(tx *gorm.DB) error {
		var failed int
		if err := tx.Raw(`UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ? RETURNING failed_attempts`, u.ID).Scan(&failed).Error; err != nil {
			return err
		}
		if failed < maxFail {
			return nil
		}
		locked = true
		until := now.Add(lockFor)
		if err := tx.Exec(`UPDATE users SET failed_attempts = 0, locked_until = ? WHERE id = ?`, until, u.ID).Error; err != nil {
			return err
		}
		return s.audit(tx, "system", "user.lock", username, map[string]any{"failures": failed, "until": until})
	})
	switch {
	case err != nil:
		return User{}, err
	case locked:
		return User{}, ErrLocked
	}
	return User{}, ErrBadCredentials
}

// secretHash is a SHA-256 of a credential. As a driver.Valuer it binds as one
// bytea value (GORM expands a bare []byte argument into a list).
type secretHash []byte

func (h secretHash) Value() (driver.Value, error) { return []byte(h), nil }

func newSecret(prefix string) (secret string, hash secretHash) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(secret string) secretHash {
	h := sha256.Sum256([]byte(secret))
	return secretHash(h[:])
}

// Session is a signed-in browser.
type Session struct {
	Token     string // cookie value; also the bearer credential the console forwards
	CSRF      string // per-session CSRF token for forms
	User      User
	ExpiresAt time.Time
}

// NewSession starts a session for u.
func (s *Store) NewSession(ctx context.Context, u User) (Session, error) {
	token, hash := newSecret(sessionPrefix)
	csrf, _ := newSecret("")
	exp := s.now().Add(orDefault(s.SessionTTL, 12*time.Hour))
	err := s.DB.WithContext(ctx).Exec(`INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)`,
		hash, u.ID, csrf, s.now(), exp, s.now()).Error
	return Session{Token: token, CSRF: csrf, User: u, ExpiresAt: exp}, err
}

// SessionFor returns the live session of a cookie value, refreshing its idle
// timer. Expired, idle, and disabled users' sessions are refused.
func (s *Store) SessionFor(ctx context.Context, token string) (Session, error) {
	if !strings.HasPrefix(token, sessionPrefix) {
		return Session{}, access.ErrUnauthenticated
	}
	now := s.now()
	idle := now.Add(-orDefault(s.SessionIdle, time.Hour))
	db := s.DB.WithContext(ctx)
	var row struct {
		UserID     uuid.UUID
		CSRFToken  string
		ExpiresAt  time.Time
		LastSeenAt time.Time
	}
	hash := hashSecret(token)
	res := db.Raw(`SELECT user_id, csrf_token, expires_at, last_seen_at FROM sessions WHERE token_hash = ? AND expires_at > ? AND last_seen_at > ?`,
		hash, now, idle).Scan(&row)
	if res.Error != nil {
		return Session{}, res.Error
	}
	if res.RowsAffected == 0 {
		return Session{}, access.ErrUnauthenticated
	}
	var u User
	if err := db.Where("id = ?", row.UserID).Take(&u).Error; err != nil {
		return Session{}, err
	}
	if u.Disabled {
		return Session{}, access.ErrUnauthenticated
	}
	// The idle timer moves at most once a minute: reads stay reads.
	if now.Sub(row.LastSeenAt) > touchEvery {
		if err := db.Exec(`UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, now, hash).Error; err != nil {
			return Session{}, err
		}
	}
	return Session{Token: token, CSRF: row.CSRFToken, User: u, ExpiresAt: row.ExpiresAt}, nil
}

// touchEvery is how stale last_seen_at / last_used_at may get before a
// request writes them again.
const touchEvery = time.Minute

// EndSession signs a session out.
func (s *Store) EndSession(ctx context.Context, token string) error {
	return s.DB.WithContext(ctx).Exec(`DELETE FROM sessions WHERE token_hash = ?`, hashSecret(token)).Error
}

// Token describes an API credential (never its secret).
type Token struct {
	ID         uuid.UUID `gorm:"type:uuid;primaryKey"`
	UserID     uuid.UUID `gorm:"type:uuid"`
	Name       string
	Scopes     pq.StringArray `gorm:"type:text[]"`
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// TableName is the table of API credentials.
func (Token) TableName() string { return "api_tokens" }

// IssueToken creates a bearer credential for username that expires after
// ttl, narrowed to scopes (empty: all the user's role holds). The secret is
// returned once and never stored.
//
// A credential is issued only to its owner (actor == username) or for a
// service account (automation, the public site): whoever holds a person's
// credential acts under that person's name, so nobody, an administrator or
// the command line included, mints one for someone else.
func (s *Store) IssueToken(ctx context.Context, actor, username, name string, scopes []access.Permission, ttl time.Duration) (string, Token, error) {
	u, err := s.User(ctx, username)
	if err != nil {
		return "", Token{}, err
	}
	if actor != username && !access.Role(u.Role).IsService() {
		return "", Token{}, s.refuse(ctx, actor, username, "token.issue",
			"API credentials are issued only for yourself or for service accounts: "+username+" must issue their own")
	}
	if ttl <= 0 || ttl > 366*24*time.Hour {
		return "", Token{}, invalid("ttl", "between 1 s and 366 days")
	}
	role := access.Role(u.Role)
	if len(scopes) == 0 { // every path (console, CLI, demo) gets the job's default
		scopes = access.DefaultScopes(role)
	}
	sc := pq.StringArray{}
	for _, p := range scopes {
		if !role.Holds(p) {
			return "", Token{}, invalid("scopes", "%s: role %s does not hold it", p, role)
		}
		sc = append(sc, string(p))
	}
	secret, hash := newSecret(tokenPrefix)
	now := s.now()
	t := Token{ID: uuid.New(), UserID: u.ID, Name: name, Scopes: sc, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.UserID, t.Name, hash, t.Scopes, t.CreatedAt, t.ExpiresAt).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "token.issue", username, map[string]any{"token_id": t.ID.String(), "scopes": []string(sc), "expires_at": t.ExpiresAt})
	})
	return secret, t, err
}

// Tokens lists a user's credentials.
func (s *Store) Tokens(ctx context.Context, username string) ([]Token, error) {
	var ts []Token
	return ts, s.DB.WithContext(ctx).Where("user_id = (SELECT id FROM users WHERE username = ?)", username).Order("created_at").Find(&ts).Error
}

// RevokeToken revokes a credential at once.
func (s *Store) RevokeToken(ctx context.Context, actor string, id uuid.UUID) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var username string
		res := tx.Raw(`UPDATE api_tokens t SET revoked_at = ? FROM users u WHERE t.id = ? AND t.user_id = u.id AND t.revoked_at IS NULL RETURNING u.username`,
			s.now(), id).Scan(&username)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.audit(tx, actor, "token.revoke", username, map[string]any{"token_id": id.String()})
	})
}

// Authenticate implements access.Authenticator: an API credential or a
// console session becomes the principal of its (enabled) user.
func (s *Store) Authenticate(ctx context.Context, bearer string) (access.Principal, error) {
	switch {
	case strings.HasPrefix(bearer, sessionPrefix):
		sess, err := s.SessionFor(ctx, bearer)
		if err != nil {
			return access.Principal{}, err
		}
		return access.Principal{ID: sess.User.Username, Role: access.Role(sess.User.Role)}, nil
	case strings.HasPrefix(bearer, tokenPrefix):
		now := s.now()
		db := s.DB.WithContext(ctx)
		var row struct {
			ID         uuid.UUID
			Username   string
			Role       string
			Scopes     pq.StringArray `gorm:"type:text[]"`
			LastUsedAt *time.Time
		}
		res := db.Raw(`SELECT t.id, u.username, u.role, t.scopes, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND NOT u.disabled`, hashSecret(bearer), now).Scan(&row)
		if res.Error != nil {
			return access.Principal{}, res.Error
		}
		if res.RowsAffected == 0 {
			return access.Principal{}, access.ErrUnauthenticated
		}
		if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > touchEvery {
			if err := db.Exec(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now, row.ID).Error; err != nil {
				return access.Principal{}, err
			}
		}
		p := access.Principal{ID: row.Username, Role: access.Role(row.Role)}
		if len(row.Scopes) > 0 {
			for _, sc := range row.Scopes {
				p.Scopes = append(p.Scopes, access.Permission(sc))
			}
		}
		return p, nil
	}
	return access.Principal{}, access.ErrUnauthenticated
}

// ServiceCredential makes (once) the service account username of a service
// role, and issues it a fresh credential valid for ttl: the command line and
// the development stack give the console its own credential this way.
func (s *Store) ServiceCredential(ctx context.Context, actor, username, displayName string, role access.Role, label string, ttl time.Duration) (string, error) {
	if !role.IsService() {
		return "", invalid("role", "%s is not a service account's role", role)
	}
	_, err := s.AddUser(ctx, actor, NewUser{Username: username, DisplayName: displayName, Role: role})
	if errors.Is(err, ErrExists) {
		u, uerr := s.User(ctx, username)
		if uerr != nil {
			return "", uerr
		}
		if access.Role(u.Role) != role {
			return "", fmt.Errorf("account %s exists with role %s, not %s", username, u.Role, role)
		}
	} else if err != nil {
		return "", err
	}
	secret, _, err := s.IssueToken(ctx, actor, username, label, nil, ttl)
	return secret, err
}
