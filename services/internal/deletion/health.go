package deletion

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/validation"
)

// TestTimeout bounds one connector health check.
const TestTimeout = 15 * time.Second

// TestConnector runs a registered connector's health check (enabled or not,
// so a connector can be checked before it is turned on) and records the
// result in the audit chain. A failed check is an answer, not an error.
func (s *Server) TestConnector(ctx context.Context, req *deletionv1.TestConnectorRequest) (*deletionv1.TestConnectorResponse, error) {
	if !connectorName.MatchString(req.GetName()) {
		return nil, validation.Invalid("name", "must be the name of a registered connector")
	}
	var c Connector
	err := s.db.WithContext(ctx).Take(&c, "name = ?", req.GetName()).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, status.Error(codes.NotFound, "no such connector")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the registry could not be read; retry")
	}
	if s.tester == nil {
		return nil, status.Error(codes.Unimplemented, "connector checks are not configured on this server")
	}
	tctx, cancel := context.WithTimeout(ctx, TestTimeout)
	start := time.Now()
	terr := s.tester(tctx, c)
	latency := time.Since(start)
	cancel()
	if ctx.Err() != nil {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	resp := &deletionv1.TestConnectorResponse{Connector: connectorProto(c), Ok: terr == nil,
		LatencyMs: latency.Milliseconds(), CheckedAt: timestamppb.New(s.now().UTC())}
	if terr != nil {
		resp.Reason = terr.Error()
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "deletion.connector_tested", ObjectType: "deletion_connector",
			ObjectID: c.Name, At: resp.GetCheckedAt().AsTime(),
			Details: map[string]any{"kind": c.Kind, "ok": resp.GetOk(), "reason": resp.GetReason(), "latency_ms": resp.GetLatencyMs()}})
		return err
	})
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the check ran but could not be recorded; retry")
	}
	return resp, nil
}
