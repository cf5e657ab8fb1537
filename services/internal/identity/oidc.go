package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/access"
)

// OIDC signs people in with any standard OpenID Connect provider: it checks
// an ID token the console got from the provider (authorization code flow
// with PKCE S256, see oidcclient) against the provider's keys, issuer,
// audience (the console's client id), expiry and the nonce bound to the
// browser. It signs in existing accounts only, found by the (issuer,
// subject) an administrator set on the account (confirmed by a second
// person), or, on the first sign-in, by an email the provider says it
// verified, equal to the account's email: that links the subject to the
// account. Names the user may choose at the provider (preferred_username)
// link nothing, and accounts that approve deletions or administer, and
// service accounts, are never linked automatically.
type OIDC struct {
	store    *Store
	issuer   string
	verifier *oidc.IDTokenVerifier
}

// NewOIDC discovers the provider at issuer. ctx bounds discovery only.
func NewOIDC(ctx context.Context, store *Store, issuer, clientID string) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery at %s: %w", issuer, err)
	}
	return &OIDC{store: store, issuer: issuer, verifier: p.Verifier(&oidc.Config{ClientID: clientID})}, nil
}

// ErrNoAccount: the provider vouched for someone with no (enabled) account here.
var ErrNoAccount = errors.New("no account for this identity: ask an administrator")

// ErrIDTokenRejected: the ID token is not the provider's, not for this
// client, expired, or not bound to the nonce given.
var ErrIDTokenRejected = errors.New("oidc: ID token rejected")

// SignIn checks a raw ID token and its nonce, and returns the account it
// signs in.
func (o *OIDC) SignIn(ctx context.Context, rawIDToken, nonce string) (User, error) {
	idt, err := o.verifier.Verify(ctx, rawIDToken)
	if err != nil {
		return User{}, fmt.Errorf("%w: %v", ErrIDTokenRejected, err)
	}
	if idt.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return User{}, fmt.Errorf("%w: nonce mismatch", ErrIDTokenRejected)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return User{}, fmt.Errorf("%w: claims: %v", ErrIDTokenRejected, err)
	}
	return o.account(ctx, idt.Subject, claims.Email, claims.EmailVerified)
}

// neverAutoLinked are the roles single sign-on never links by email: those
// that approve deletions or administer, and service accounts. Their
// (issuer, subject) is set by an administrator and confirmed by a second
// person.
func neverAutoLinked() []string {
	var rs []string
	for _, r := range access.Roles {
		if r.Holds(access.DeletionApprove) || r.Holds(access.UserAdmin) || r.IsService() {
			rs = append(rs, string(r))
		}
	}
	return rs
}

func (o *OIDC) account(ctx context.Context, subject, email string, emailVerified bool) (User, error) {
	db := o.store.DB.WithContext(ctx)
	var u User
	err := db.Where("oidc_issuer = ? AND oidc_subject = ?", o.issuer, subject).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// First sign-in: link by a verified email, to the one account not
		// linked yet that has it and may be linked automatically.
		email = strings.TrimSpace(email)
		if email == "" || !emailVerified || subject == "" {
			return User{}, ErrNoAccount
		}
		err = db.Transaction(func(tx *gorm.DB) error {
			var us []User
			if err := tx.Where("email <> '' AND lower(email) = lower(?) AND oidc_subject = '' AND role NOT IN ?", email, neverAutoLinked()).
				Limit(2).Find(&us).Error; err != nil {
				return err
			}
			if len(us) != 1 { // none, or ambiguous
				return gorm.ErrRecordNotFound
			}
			u = us[0]
			res := tx.Exec(`UPDATE users SET oidc_issuer = ?, oidc_subject = ?, updated_at = ? WHERE id = ? AND oidc_subject = ''`,
				o.issuer, subject, o.store.now(), u.ID)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return gorm.ErrRecordNotFound
			}
			return o.store.audit(tx, u.Username, "user.oidc_linked", u.Username, map[string]any{"issuer": o.issuer, "by": "verified_email"})
		})
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, ErrNoAccount
	}
	if err != nil {
		return User{}, err
	}
	if u.Disabled {
		return User{}, ErrNoAccount
	}
	return u, nil
}
