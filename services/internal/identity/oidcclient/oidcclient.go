// Package oidcclient is the browser's half of single sign-on with any
// standard OpenID Connect provider, for the console: the authorization
// request (state, nonce, PKCE S256) and the code exchange, which yields the
// provider's signed ID token. It holds no account and no database: the
// identity service checks the token (signature, issuer, audience, expiry,
// nonce) and finds the account it signs in.
package oidcclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Client runs the authorization code flow with one provider.
type Client struct {
	oauth oauth2.Config
}

// New discovers the provider at issuer. ctx bounds discovery only.
func New(ctx context.Context, issuer, clientID, clientSecret, redirectURL string) (*Client, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery at %s: %w", issuer, err)
	}
	return &Client{oauth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}}, nil
}

// NewVerifier is a fresh PKCE code verifier.
func NewVerifier() string { return oauth2.GenerateVerifier() }

// AuthURL is where the browser goes to sign in; state, nonce and the PKCE
// verifier (NewVerifier) are random values the caller keeps in the browser
// (a cookie) to check on return. Only the verifier's S256 hash is sent, so a
// code caught on its way back is useless without the verifier.
func (c *Client) AuthURL(state, nonce, verifier string) string {
	return c.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// Exchange trades the code (with the PKCE verifier) for the provider's raw
// ID token, unchecked: whoever signs the person in checks it.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (string, error) {
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("oidc code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", errors.New("oidc: no id_token in the token response")
	}
	return raw, nil
}
