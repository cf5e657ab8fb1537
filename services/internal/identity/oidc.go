package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"gorm.io/gorm"
)

// OIDC signs people in with any standard OpenID Connect provider
// (authorization code flow, ID token checked against the provider's keys,
// nonce bound to the browser). It signs in existing accounts only: an
// administrator adds the user first; the first OIDC sign-in links the
// provider's subject to the account whose username equals the token's
// preferred_username or email, and later sign-ins follow the subject.
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

// AuthURL is where the browser goes to sign in; state and nonce are random
// values the caller keeps in the browser (a cookie) to check on return.
func (o *OIDC) AuthURL(state, nonce string) string {
	return o.oauth.AuthCodeURL(state, oidc.Nonce(nonce))
}

// ErrNoAccount: the provider vouched for someone with no (enabled) account here.
var ErrNoAccount = errors.New("no account for this identity: ask an administrator")

// Exchange trades the code for an ID token, checks it and its nonce, and
// returns the account it signs in.
func (o *OIDC) Exchange(ctx context.Context, code, nonce string) (User, error) {
	tok, err := o.oauth.Exchange(ctx, code)
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
		PreferredUsername string `json:"preferred_username"`
		Email             string `json:"email"`
		EmailVerified     bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return User{}, fmt.Errorf("oidc claims: %w", err)
	}
	return o.account(ctx, idt.Subject, claims.PreferredUsername, claims.Email, claims.EmailVerified)
}

func (o *OIDC) account(ctx context.Context, subject, preferred, email string, emailVerified bool) (User, error) {
	db := o.store.DB.WithContext(ctx)
	var u User
	err := db.Where("oidc_issuer = ? AND oidc_subject = ?", o.issuer, subject).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// First sign-in: link by username (only to an account not linked yet).
		var names []string
		if preferred != "" {
			names = append(names, strings.ToLower(preferred))
		}
		if email != "" && emailVerified {
			names = append(names, strings.ToLower(email))
		}
		if len(names) == 0 {
			return User{}, ErrNoAccount
		}
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Where("username IN ? AND oidc_subject = ''", names).Order("username").Take(&u).Error; err != nil {
				return err
			}
			if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"oidc_issuer": o.issuer, "oidc_subject": subject}).Error; err != nil {
				return err
			}
			return o.store.audit(tx, u.Username, "user.oidc_linked", u.Username, map[string]any{"issuer": o.issuer})
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
