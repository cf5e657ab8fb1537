//go:build dev

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/workflows/calendar"
)

// runBenchExport measures the case register export of n cases as CSV
// through ReportingService over a loopback gRPC socket (server and client in
// this process), beside PostgreSQL's own COPY ... TO STDOUT of the same rows,
// with the peak resident memory of this process during each.
func runBenchExport(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("bench-export", flag.ContinueOnError)
	n := fs.Int("n", 1000000, "cases to export (seeded once, kept for later runs)")
	out := fs.String("json", "", "also write the figures to this JSON file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	gdb, err := db.Open(ctx, cfg.OwnerDatabaseURL()) // it migrates and seeds
	if err != nil {
		return err
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	defer func() { _ = sqlDB.Close() }()
	if err := db.Migrate(ctx, sqlDB); err != nil {
		return err
	}
	start := time.Now()
	if err := reports.SeedBench(ctx, sqlDB, *n); err != nil {
		return err
	}
	fmt.Printf("seeded/checked %d benchmark cases in %s\n", *n, time.Since(start).Round(time.Millisecond))

	cals, err := calendar.LoadEmbedded()
	if err != nil {
		return err
	}
	// A bare gRPC server: the benchmark measures the export path and the
	// transport, not credentials.
	log := slog.New(slog.DiscardHandler)
	gs := grpc.NewServer()
	reportingv1.RegisterReportingServiceServer(gs, &reports.Server{
		Exporter: &reports.Exporter{DB: sqlDB, Calendars: cals}, DB: gdb, Log: log,
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()

	from, to := reports.BenchFrom, reports.BenchTo(*n)
	var results []exportFigures

	// The export, end to end: query, CSV, gRPC chunks, client.
	r, err := measureExport("export CSV via gRPC", func(w *lineCounter) error {
		_, err := reports.Fetch(ctx, conn, &reportingv1.ExportRequest{
			Report: reportingv1.Report_REPORT_CASE_REGISTER, Format: reportingv1.Format_FORMAT_CSV,
			From: timestamppb.New(from), To: timestamppb.New(to)}, w)
		return err
	})
	if err != nil {
		return err
	}
	results = append(results, r)

	// The baseline: the database formats the same rows as CSV itself.
	pg, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = pg.Close(ctx) }()
	r, err = measureExport("COPY ... TO STDOUT (csv)", func(w *lineCounter) error {
		tx, err := pg.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := tx.Exec(ctx, reports.ExportSessionSQL); err != nil {
			return err
		}
		_, err = tx.Conn().PgConn().CopyTo(ctx, w, reports.CaseRegisterCopySQL(from, to))
		return err
	})
	if err != nil {
		return err
	}
	results = append(results, r)

	fmt.Printf("machine: %d cores; %s\n", runtime.NumCPU(), runtime.Version())
	fmt.Printf("%-26s %9s %9s %12s %9s %14s %12s\n", "measure", "rows", "seconds", "rows/s", "MB out", "RSS before MB", "peak RSS MB")
	for _, r := range results {
		fmt.Printf("%-26s %9d %9.2f %12.0f %9.1f %14.1f %12.1f\n", r.Measure, r.Rows, r.Seconds, r.RowsPerSec, r.MBOut, r.RSSBeforeMB, r.PeakRSSMB)
	}
	ratio := results[0].RowsPerSec / results[1].RowsPerSec
	fmt.Printf("export / COPY throughput ratio: %.2f\n", ratio)
	fmt.Printf("targets: >= 50000 rows/s: %v; < 150 MB peak RSS: %v\n", results[0].RowsPerSec >= 50000, results[0].PeakRSSMB < 150)
	if results[0].Rows != results[1].Rows {
		return fmt.Errorf("the export wrote %d rows, COPY %d", results[0].Rows, results[1].Rows)
	}
	if *out != "" {
		b, _ := json.MarshalIndent(map[string]any{"cases": *n, "results": results, "ratio": ratio}, "", "  ")
		return os.WriteFile(*out, b, 0o644)
	}
	return nil
}

type exportFigures struct {
	Measure     string  `json:"measure"`
	Rows        int64   `json:"rows"`
	Seconds     float64 `json:"seconds"`
	RowsPerSec  float64 `json:"rows_per_sec"`
	MBOut       float64 `json:"mb_out"`
	RSSBeforeMB float64 `json:"rss_before_mb"` // the process (a 180 MB binary) before the run
	PeakRSSMB   float64 `json:"peak_rss_mb"`
}

func measureExport(name string, run func(*lineCounter) error) (exportFigures, error) {
	debug.FreeOSMemory()
	resetPeakRSS()
	before := procStatusMB("VmRSS:")
	w := &lineCounter{}
	t0 := time.Now()
	if err := run(w); err != nil {
		return exportFigures{}, fmt.Errorf("%s: %w", name, err)
	}
	secs := time.Since(t0).Seconds()
	rows := w.lines - 1 // the header
	return exportFigures{Measure: name, Rows: rows, Seconds: secs, RowsPerSec: float64(rows) / secs,
		MBOut: float64(w.bytes) / 1e6, RSSBeforeMB: before, PeakRSSMB: peakRSSMB()}, nil
}

// lineCounter discards what it is given and counts bytes and lines (register
// rows carry no embedded newlines).
type lineCounter struct{ bytes, lines int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.bytes += int64(len(p))
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is this process's VmHWM in MB (0 where /proc is missing).
func peakRSSMB() float64 { return procStatusMB("VmHWM:") }

// procStatusMB reads one kB figure of /proc/self/status in MB.
func procStatusMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
