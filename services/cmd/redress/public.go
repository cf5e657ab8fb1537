package main

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/sync/errgroup"

	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/public"
)

// runPublic serves the public pages on their own address. Submissions go
// through srv, the intake service's code path; with srv nil (serve public)
// it builds its own, with the workflow starter's recovery loop.
func (s *stack) runPublic(ctx context.Context, srv *intake.Server) error {
	g, ctx := errgroup.WithContext(ctx)
	if srv == nil {
		var starter *intake.Starter
		srv, starter = s.intakeServer()
		g.Go(func() error { starter.Run(ctx); return nil })
	}
	rs, err := s.reportingServer()
	if err != nil {
		return err
	}
	proxies, err := s.cfg.Proxies()
	if err != nil {
		return err
	}
	site, err := public.New(public.Config{Intake: srv, DB: s.db, Keys: s.keys, Policy: s.policy, Log: s.log, Stats: rs.Exporter,
		Contacts: public.Contacts{Operator: s.cfg.PublicOperator, Phone: s.cfg.PublicPhone, Email: s.cfg.PublicEmail}, TrustedProxies: proxies})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.cfg.PublicAddr)
	if err != nil {
		return fmt.Errorf("public listen: %w", err)
	}
	g.Go(func() error { return grpcserver.ServeHTTP(ctx, lis, site) })
	return g.Wait()
}
