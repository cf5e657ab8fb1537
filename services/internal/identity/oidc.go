package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/access"
)

// OIDC signs people in with any standard OpenID Connect provider
// (authorization code flow with PKCE S256, ID token checked against the
// provider's keys, nonce bound to the browser). It signs in existing
// accounts only, found by the (issuer, subject) an administrator set on the
// account (confirmed by a second person), or, on the first sign-in, by an
// email the provider says it verified, equal to the account's email: that
// links the subject to the account. Names the user may choose at the
// provider (preferred_username) link nothing, and accounts that approve
// deletions or administer are never linked automatically.
type OIDC struct {
	store    *Store
	issuer   string
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
}

// NewOIDC discovers the provider at issuer. ctx bounds discovery only.
func NewOIDC(ctx context.Context, store *Store, issuer, clientID, clientSecret, redirectURL string) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery at %s: %w", issuer, err)
	}
	return &OIDC{
		store: store, issuer: issuer,
		verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
	}, nil
}

// NewVerifier is a fresh PKCE code verifier.
func NewVerifier() string { return oauth2.GenerateVerifier() }

// AuthURL is where the browser goes to sign in; state, nonce and the PKCE
// verifier (NewVerifier) are random values the caller keeps in the browser
// (a cookie) to check on return. Only the verifier's S256 hash is sent, so a
// code caught on its way back is useless without the verifier.
func (o *OIDC) AuthURL(state, nonce, verifier string) string {
	return o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// ErrNoAccount: the provider vouched for someone with no (enabled) account here.
var ErrNoAccount = errors.New("no account for this identity: ask an administrator")

// Exchange trades the code for an ID token, checks it and its nonce, and
// returns the account it signs in.
func (o *OIDC) Exchange(ctx context.Context, code, nonce, verifier string) (User, error) {
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return User{}, fmt.Errorf("oidc code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return User{}, errors.New("oidc: no id_token in the token response")
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return User{}, fmt.Errorf("oidc: %w", err)
	}
	if idt.Nonce == "" || idt.Nonce != nonce {
		return User{}, errors.New("oidc: nonce mismatch")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return User{}, fmt.Errorf("oidc claims: %w", err)
	}
	return o.account(ctx, idt.Subject, claims.Email, claims.EmailVerified)
}

// neverAutoLinked are the roles single sign-on never links by email: those
// that approve deletions or administer. Their (issuer, subject) is set by
// an administrator and confirmed by a second person.
func neverAutoLinked() []string {
	var rs []string
	for _, r := range access.Roles {
		if r.Holds(access.DeletionApprove) || r.Holds(access.UserAdmin) {
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
