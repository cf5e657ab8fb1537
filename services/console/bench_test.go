package console

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/reports"
)

// BenchmarkQueueMillion measures queue pages (HTTP through the console, gRPC
// to IntakeService, PostgreSQL) with 1,000,000 cases on record, and reports
// p50/p95 per page kind. Seeding takes a minute or two the first time.
//
//	go test -run '^$' -bench QueueMillion -benchtime 200x ./console/
func BenchmarkQueueMillion(b *testing.B) {
	e := newEnvOn(b, benchDB(b))
	sqlDB, err := e.DB.DB()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := reports.SeedBench(context.Background(), sqlDB, 1_000_000); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded 1,000,000 cases in %v", time.Since(start).Round(time.Second))
	c := e.client(b)
	if code, _ := c.signIn("sup.wang", testPassword); code != http.StatusOK {
		b.Fatalf("sign in: %d", code)
	}
	_, first := c.get("/queue?view=team")
	next := nextLink(first)
	if next == "" {
		b.Fatal("no next page on the first page")
	}
	pages := []struct{ name, path string }{
		{"team", "/queue?view=team"},
		{"team-page2", next},
		{"unassigned", "/queue?view=unassigned"},
		{"at_risk", "/queue?view=at_risk"},
		{"category", "/queue?view=team&category=CATEGORY_JUNK_EMAIL"},
		{"case-number", "/queue?view=team&text=B-0765432"},
	}
	times := make(map[string][]time.Duration)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pages[i%len(pages)]
		t0 := time.Now()
		code, body := c.get(p.path)
		times[p.name] = append(times[p.name], time.Since(t0))
		if code != http.StatusOK || !strings.Contains(body, "case-link") && !strings.Contains(body, `id="empty"`) {
			b.Fatalf("%s: %d", p.name, code)
		}
	}
	b.StopTimer()
	var all []time.Duration
	for _, p := range pages {
		ts := times[p.name]
		if len(ts) == 0 {
			continue
		}
		all = append(all, ts...)
		b.Logf("%-12s n=%-4d p50 %6.1f ms  p95 %6.1f ms", p.name, len(ts), ms(pct(ts, 50)), ms(pct(ts, 95)))
	}
	b.ReportMetric(ms(pct(all, 50)), "p50-ms")
	b.ReportMetric(ms(pct(all, 95)), "p95-ms")
	c.seen.Reset()
}

// benchDB is a database kept between benchmark runs (seeding a million
// cases takes minutes): redress_console_bench beside the test databases,
// made from the migrated template once.
func benchDB(b *testing.B) *gorm.DB {
	pgtest.URL(b) // makes sure the template exists and is current
	u, err := url.Parse(os.Getenv("REDRESS_TEST_DATABASE_URL"))
	if err != nil || u.Host == "" {
		b.Skip("REDRESS_TEST_DATABASE_URL is not set")
	}
	admin := *u
	admin.Path = "/postgres"
	adb, err := sql.Open("pgx", admin.String())
	if err != nil {
		b.Fatal(err)
	}
	defer adb.Close()
	var exists bool
	if err := adb.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'redress_console_bench')`).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := adb.Exec(`CREATE DATABASE redress_console_bench TEMPLATE redress_template`); err != nil {
			b.Fatal(err)
		}
	}
	u.Path = "/redress_console_bench"
	gdb, err := db.Open(context.Background(), u.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if s, err := gdb.DB(); err == nil {
			s.Close()
		}
	})
	return gdb
}

func pct(ts []time.Duration, p int) time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func nextLink(page string) string {
	const marker = `id="next" rel="next"`
	i := strings.Index(page, marker)
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(page[:i], `href="`)
	if j < 0 {
		return ""
	}
	href := page[j+len(`href="`):]
	href = href[:strings.Index(href, `"`)]
	return strings.ReplaceAll(href, "&amp;", "&")
}
