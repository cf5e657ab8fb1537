package main

import (
	"context"
	"errors"
	"strings"
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
	conn, err := s.deletionConn(ctx)
	if err != nil {
		return nil, err
	}
	return intakev1.NewErasureServiceClient(conn), nil
}

// deletionConn dials intake (REDRESS_INTAKE_ADDR) with the deletion
// service's credential (see erasureClient), closed when ctx ends.
func (s *stack) deletionConn(ctx context.Context) (*grpc.ClientConn, error) {
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
		token = (&ownCredential{store: s.identity(), account: deletionAccount, name: "Deletion service",
			role: access.DeletionService, purpose: "erasure"}).get
	}
	conn, err := grpc.NewClient(s.cfg.IntakeAddr, transport, grpc.WithPerRPCCredentials(access.Bearer{Token: token}))
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = conn.Close() })
	return conn, nil
}

func staticToken(t string) func(context.Context) (string, error) {
	if t == "" {
		return nil
	}
	return func(context.Context) (string, error) { return t, nil }
}

// ownCredential is a service account's credential, issued by the account
// to itself (credentials are issued only to their owner); the account is
// created with its role on first use.
type ownCredential struct {
	store                  *identity.Store
	account, name, purpose string
	role                   access.Role
	mu                     sync.Mutex
	token                  string
	expires                time.Time
}

func (c *ownCredential) get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Until(c.expires) > time.Hour {
		return c.token, nil
	}
	if _, err := c.store.User(ctx, c.account); err != nil {
		if _, err := c.store.AddUser(ctx, "system:"+strings.TrimPrefix(c.account, "svc."), identity.NewUser{Username: c.account,
			DisplayName: c.name, Role: c.role}); err != nil {
			return "", errors.New(c.account + " account: " + err.Error())
		}
	}
	t, tok, err := c.store.IssueToken(ctx, c.account, c.account, c.purpose, nil, 24*time.Hour)
	if err != nil {
		return "", err
	}
	c.token, c.expires = t, tok.ExpiresAt
	return t, nil
}
