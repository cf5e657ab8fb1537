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

	"github.com/redress/redress/services/internal/crypto"
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
	start = time.Now()
	if err := seedBenchTokens(context.Background(), sqlDB, e.Keys); err != nil {
		b.Fatal(err)
	}
	b.Logf("search tokens of 1,000,000 cases made in %v", time.Since(start).Round(time.Second))
	c := e.client(b)
	if code, _ := c.signIn("sup.wang", testPassword); code != http.StatusOK {
		b.Fatalf("sign in: %d\n%s", code, e.Logs.String())
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
		{"word-en", "/queue?view=team&text=" + url.QueryEscape(benchWordsEN[7])},
		{"word-zh", "/queue?view=team&text=" + url.QueryEscape(benchWordsZH[11])},
		{"words-both", "/queue?view=team&text=" + url.QueryEscape(benchWordsEN[7]+" "+benchWordsZH[17])},
		{"no-match", "/queue?view=team&text=" + url.QueryEscape("nowhere 无此")},
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

// Benchmark case i's description holds benchWordsEN[i % 40] and
// benchWordsZH[i % 30] (one Chinese character pair each): a word is in
// 25,000 or 33,000 cases, an English-Chinese pair in 8,300.
var (
	benchWordsEN = strings.Fields(`courier parcel bank loan insurance lottery prize refund telecom broadband
		password account verify invoice taxes lawyer police hospital school tutoring
		mortgage credit overdraft casino crypto investment shares pension subsidy visa
		airline hotel ticket delivery express wechat alipay taobao game streaming`)
	benchWordsZH = strings.Fields(`快递 银行 贷款 保险 彩票 中奖 退款 电信 宽带 密码
		账户 验证 发票 税务 律师 警察 医院 学校 培训 房贷
		信用 透支 赌场 投资 股票 养老 补贴 签证 航空 酒店`)
)

// seedBenchTokens gives every benchmark case the search tokens of its
// words, under this run's keyring (a fresh master key each time the
// benchmark function runs: the old tokens are replaced), as intake would
// have written them.
func seedBenchTokens(ctx context.Context, db *sql.DB, keys *crypto.Keyring) error {
	tok := func(words []string) [][]byte {
		out := make([][]byte, len(words))
		for i, w := range words {
			out[i] = keys.SearchTokens(w)[0]
		}
		return out
	}
	en, zh := tok(benchWordsEN), tok(benchWordsZH)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `TRUNCATE case_search_tokens`); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
INSERT INTO case_search_tokens (token_hash, case_id)
SELECT t, id FROM (SELECT id, substr(case_number, 3)::int AS i FROM cases WHERE case_number LIKE 'B-%') c,
     LATERAL (VALUES (($1::bytea[])[1 + i % 40]), (($2::bytea[])[1 + i % 30])) v(t)`, en, zh)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "ANALYZE case_search_tokens")
	return err
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
	defer func() { _ = adb.Close() }()
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
			_ = s.Close()
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
	href, _, _ = strings.Cut(href, `"`)
	return strings.ReplaceAll(href, "&amp;", "&")
}
