package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"

	"google.golang.org/grpc"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/inspection"
	"github.com/redress/redress/services/internal/reports"
)

// serveReporting runs the reporting process: ReportingService on its own address.
func (s *stack) serveReporting(ctx context.Context) error {
	srv, err := s.reportingServer()
	if err != nil {
		return err
	}
	return s.serveGRPC(ctx, "reporting", s.cfg.ReportingAddr, s.cfg.ReportingMetricsAddr,
		func(gs *grpc.Server) { reportingv1.RegisterReportingServiceServer(gs, srv) })
}

// reportingServer builds ReportingService over the stack's database.
func (s *stack) reportingServer() (*reports.Server, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	// The stack's calendars: the confirmed ones count as soon as they are read.
	exp := &reports.Exporter{DB: sqlDB, Calendars: s.cals}
	packages := &inspection.Builder{Exporter: exp, DB: s.db, Calendars: s.cals, Policy: s.policy}
	return &reports.Server{Exporter: exp, DB: s.db, Packages: packages, Log: s.log}, nil
}

// verifyPackage answers the exit code of `redress audit verify --package`:
// 0 intact, 1 rejected, 2 could not read it.
func verifyPackage(p string, key ed25519.PublicKey) int {
	res, err := inspection.VerifyPathWithKey(p, key)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress: audit verify --package:", err)
		return 2
	}
	fmt.Println(res.Describe(p))
	if !res.OK {
		return 1
	}
	return 0
}

// runReportsWorker runs the monthly and yearly report workflows and keeps
// their Temporal Schedules in place.
func (s *stack) runReportsWorker(ctx context.Context) error {
	srv, err := s.reportingServer()
	if err != nil {
		return err
	}
	return reports.Run(ctx, s.temporal, &reports.Documents{Exporter: srv.Exporter, DB: s.db, Operator: s.cfg.PublicOperator,
		SMTPAddr: s.cfg.SMTPAddr, From: s.cfg.SMTPFrom, To: s.cfg.ComplianceEmails, Log: s.log})
}
