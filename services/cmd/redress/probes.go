package main

import (
	"context"
	"fmt"
	"net"

	"go.temporal.io/sdk/client"

	"github.com/redress/redress/services/internal/grpcserver"
)

// runProbes serves /healthz (alive), /readyz (the database and, with
// withTemporal, the workflow engine answer) and /metrics for a process
// that serves no API (the workers, the checkpoint signer), so an
// orchestrator can probe and restart it like the services.
func (s *stack) runProbes(ctx context.Context, addr string, withTemporal bool) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("probes listen: %w", err)
	}
	ready := func(ctx context.Context) error {
		sqlDB, err := s.db.DB()
		if err != nil {
			return err
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			return err
		}
		if !withTemporal { // the checkpoint signer needs no workflow engine
			return nil
		}
		_, err = s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
	return grpcserver.ServeHTTP(ctx, lis, grpcserver.HTTPHandler(grpcserver.NewMetrics(), ready))
}
