package reports

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/pgtest"
)

// A client that cancels mid-export stops the server's query: nothing keeps
// reading the database for a download nobody receives.
func TestCancelledExportStopsTheQuery(t *testing.T) {
	db := pgtest.Open(t)
	sqlDB, err := db.DB()
	must(t, err)
	const n = 30000
	must(t, SeedBench(context.Background(), sqlDB, n))
	c := reportingClient(t, db, time.Now())

	ctx, cancel := context.WithCancel(context.Background())
	stream, err := c.Export(ctx, &reportingv1.ExportRequest{Report: reportingv1.Report_REPORT_CASE_REGISTER,
		Format: reportingv1.Format_FORMAT_CSV, From: timestamppb.New(BenchFrom), To: timestamppb.New(BenchTo(n))})
	must(t, err)
	first, err := stream.Recv()
	must(t, err)
	if first.GetChunk().GetFileName() == "" || len(first.GetChunk().GetData()) == 0 {
		t.Fatalf("first chunk %v", first)
	}
	cancel()
	for {
		if _, err = stream.Recv(); err != nil {
			break
		}
	}
	if status.Code(err) != codes.Canceled {
		t.Fatalf("after cancel: %v", err)
	}
	// The export's query ends on the server too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var running int64
		must(t, db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%FROM cases c%'`).Scan(&running).Error)
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d export queries still running after the client cancelled", running)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var rows int64
	must(t, db.Raw(`SELECT count(*) FROM cases WHERE case_number LIKE 'B-%'`).Scan(&rows).Error)
	if rows != n {
		t.Fatalf("seeded %d", rows)
	}
}
