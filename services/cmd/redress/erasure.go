package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/mtls"
)

// deletionAccount is the deletion service's own account (role
// deletion_service: intake.erase only).
const deletionAccount = "svc.deletion"

// erasureClient reaches intake's ErasureService (at REDRESS_INTAKE_ADDR) as
// the deletion service, until ctx ends: the own-data connector erases
// through it. The credential is REDRESS_DELETION_SERVICE_TOKEN. Only a
// process that also hosts intake (`serve all`), and so holds identity's
// tables anyway, may go without it: the account then issues itself a day's
// credential and renews it before it runs out.
func (s *stack) erasureClient(ctx context.Context) (intakev1.ErasureServiceClient, error) {
	transport, err := mtls.DialOption(s.tlsFiles(), s.cfg.TLSServerName)
	if err != nil {
		return nil, err
	}
	token := staticToken(s.cfg.DeletionServiceToken)
	if token == nil {
		if !s.hostsIntake {
			return nil, errors.New("REDRESS_DELETION_SERVICE_TOKEN is not set (the deletion service's credential: " +
				"`redress user add " + deletionAccount + " -role deletion_service`, then `redress user token " + deletionAccount + "`)")
		}
		token = (&ownCredential{store: s.identity()}).get
	}
	conn, err := grpc.NewClient(s.cfg.IntakeAddr, transport, grpc.WithPerRPCCredentials(access.Bearer{Token: token}))
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = conn.Close() })
	return intakev1.NewErasureServiceClient(conn), nil
}

func staticToken(t string) func(context.Context) (string, error) {
	if t == "" {
		return nil
	}
	return func(context.Context) (string, error) { return t, nil }
}

// ownCredential is the deletion account's credential, issued by the account
// to itself (credentials are issued only to their owner).
type ownCredential struct {
	store   *identity.Store
	mu      sync.Mutex
	token   string
	expires time.Time
}

func (c *ownCredential) get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Until(c.expires) > time.Hour {
		return c.token, nil
	}
	if _, err := c.store.User(ctx, deletionAccount); err != nil {
		if _, err := c.store.AddUser(ctx, "system:deletion", identity.NewUser{Username: deletionAccount,
			DisplayName: "Deletion service", Role: access.DeletionService}); err != nil {
			return "", errors.New("deletion service account: " + err.Error())
		}
	}
	t, tok, err := c.store.IssueToken(ctx, deletionAccount, deletionAccount, "erasure", nil, 24*time.Hour)
	if err != nil {
		return "", err
	}
	c.token, c.expires = t, tok.ExpiresAt
	return t, nil
}
