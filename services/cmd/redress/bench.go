package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/config"
)

// runBench measures intake against a running stack: N submissions at each
// concurrency, beside a baseline of N plain durable single-row INSERT
// transactions at the same concurrency on the same database, and the ratio.
func runBench(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	addr := fs.String("addr", cfg.IntakeAddr, "intake gRPC address")
	n := fs.Int("n", 2000, "submissions per run")
	conc := fs.String("c", "1,16", "comma-separated concurrencies")
	out := fs.String("json", "", "also write the figures to this JSON file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("DATABASE_URL is not set (the baseline runs on the same database)")
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	api := intakev1.NewIntakeServiceClient(conn)
	sqlDB, err := sql.Open("pgx", cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(64)

	token, err := benchCredential(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var rows []benchRow
	fmt.Printf("%-26s %6s %5s %10s %9s %9s %9s %7s\n", "measure", "n", "conc", "per sec", "p50 ms", "p95 ms", "p99 ms", "errors")
	for _, cs := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(cs))
		if err != nil || c < 1 {
			return fmt.Errorf("bad concurrency %q", cs)
		}
		base, err := measure("baseline: SQL insert", *n, c, func(i int) error {
			_, err := sqlDB.ExecContext(ctx, `INSERT INTO bench_baseline (id, payload, created_at) VALUES (gen_random_uuid(), $1, now())`,
				strings.Repeat("x", 600))
			return err
		}, func() error {
			_, err := sqlDB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_baseline (id uuid PRIMARY KEY, payload text, created_at timestamptz)`)
			return err
		})
		if err != nil {
			return err
		}
		intake, err := measure("intake: SubmitComplaint", *n, c, func(i int) error {
			req := benchRequest(fmt.Sprintf("bench-%s-%d-%d", run, c, i))
			_, err := api.SubmitComplaint(authed, req)
			return err
		}, nil)
		if err != nil {
			return err
		}
		for _, r := range []benchRow{base, intake} {
			fmt.Printf("%-26s %6d %5d %10.0f %9.2f %9.2f %9.2f %7d\n", r.Measure, r.N, r.Concurrency, r.PerSecond, r.P50ms, r.P95ms, r.P99ms, r.Errors)
		}
		fmt.Printf("%-26s %6s %5d %9.0f%%\n", "ratio intake/baseline", "", c, 100*intake.PerSecond/base.PerSecond)
		rows = append(rows, base, intake)
	}
	_, _ = sqlDB.ExecContext(ctx, `DROP TABLE IF EXISTS bench_baseline`)
	if *out != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		return os.WriteFile(*out, b, 0o644)
	}
	return nil
}

type benchRow struct {
	Measure     string  `json:"measure"`
	N           int     `json:"n"`
	Concurrency int     `json:"concurrency"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P95ms       float64 `json:"p95_ms"`
	P99ms       float64 `json:"p99_ms"`
	Errors      int64   `json:"errors"`
}

// measure runs op n times over c workers and summarises the latencies.
func measure(name string, n, c int, op func(i int) error, setup func() error) (benchRow, error) {
	if setup != nil {
		if err := setup(); err != nil {
			return benchRow{}, err
		}
	}
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if op(i) != nil {
					errs.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(n-1))].Microseconds()) / 1000 }
	return benchRow{Measure: name, N: n, Concurrency: c, PerSecond: float64(n) / elapsed.Seconds(),
		P50ms: pct(0.50), P95ms: pct(0.95), P99ms: pct(0.99), Errors: errs.Load()}, nil
}

func benchRequest(key string) *intakev1.SubmitComplaintRequest {
	return &intakev1.SubmitComplaintRequest{
		IdempotencyKey: key, Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
		Category: intakev1.Category_CATEGORY_SPAM_SMS, Channel: intakev1.Channel_CHANNEL_API,
		Complainant: &intakev1.Complainant{Name: "Bench Person", Phone: "+8613800138000", Email: "bench@example.com"},
		Subject:     &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_PHONE_NUMBER, Value: "+8610690000001"},
		Description: "Benchmark complaint: spam SMS after a data leak, sent every day for two weeks.",
	}
}
