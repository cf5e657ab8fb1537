package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/mtls"
	"github.com/redress/redress/services/public"
)

// runPublic serves the public pages on their own address. They use only
// the configuration, the log and the policy (for the published time
// limits): submissions, the status lookup and the published figures go to
// the intake service (REDRESS_INTAKE_ADDR) and the reporting service
// (REDRESS_REPORTING_ADDR) over gRPC with the site's own
// credential (REDRESS_PUBLIC_TOKEN); no database, no keys.
func (s *stack) runPublic(ctx context.Context) error {
	if s.cfg.PublicToken == "" {
		return errors.New("REDRESS_PUBLIC_TOKEN is not set (a credential of a public_site account: " +
			"redress user add public-web -role public_site; redress user token public-web)")
	}
	transport, err := mtls.DialOption(s.tlsFiles(), s.cfg.TLSServerName)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(s.cfg.IntakeAddr, transport)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	reporting, err := grpc.NewClient(s.cfg.ReportingAddr, transport)
	if err != nil {
		return err
	}
	defer func() { _ = reporting.Close() }()
	proxies, err := s.cfg.Proxies()
	if err != nil {
		return err
	}
	site, err := public.New(public.Config{Intake: intakev1.NewIntakeServiceClient(conn), Status: intakev1.NewPublicStatusServiceClient(conn),
		Stats: reportingv1.NewReportingServiceClient(reporting), Token: s.cfg.PublicToken, Policy: s.policy, Log: s.log,
		Contacts: public.Contacts{Operator: s.cfg.PublicOperator, Phone: s.cfg.PublicPhone, Email: s.cfg.PublicEmail}, TrustedProxies: proxies})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.cfg.PublicAddr)
	if err != nil {
		return fmt.Errorf("public listen: %w", err)
	}
	return grpcserver.ServeHTTP(ctx, lis, site)
}
