//go:build dev

package main

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The bench samples what PostgreSQL's busy sessions are doing, per role, a
// few times a second: CPU time alone does not show a queue. On 2 cores the
// services' sessions spent most of a 500/s intake run waiting for the audit
// chain's head row, whose holders wait for their commit's WAL flush behind
// the engine's writes; only wait events make that visible.

// waitSample is one active session seen at one sampling instant.
type waitSample struct {
	Role, WaitType, Wait, Query string
}

// waitRow is one thing a role's active sessions were doing, as a share of
// all the samples of that role's active sessions.
type waitRow struct {
	Role    string  `json:"role"`
	Wait    string  `json:"wait"`         // "running (CPU)" or wait_event_type:wait_event
	On      string  `json:"on,omitempty"` // the statement waiting, for lock waits
	Samples int     `json:"samples"`
	Share   float64 `json:"share_percent"`
}

// waitWatch samples pg_stat_activity until finish.
type waitWatch struct {
	cancel context.CancelFunc
	done   chan []waitSample
}

// watchWaits samples every interval the client sessions that are running a
// statement, leaving out skipRole (the bench's own connections) and the
// sampling session itself.
func watchWaits(db *sql.DB, every time.Duration, skipRole string) *waitWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &waitWatch{cancel: cancel, done: make(chan []waitSample, 1)}
	go func() {
		var all []waitSample
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				w.done <- all
				return
			case <-t.C:
				all = append(all, sampleWaits(ctx, db, skipRole)...)
			}
		}
	}()
	return w
}

func sampleWaits(ctx context.Context, db *sql.DB, skipRole string) []waitSample {
	rows, err := db.QueryContext(ctx, `SELECT coalesce(usename, ''), coalesce(wait_event_type, ''), coalesce(wait_event, ''), query
		FROM pg_stat_activity
		WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND coalesce(usename, '') <> $1`, skipRole)
	if err != nil {
		return nil // a sample lost to a busy server or the end of the phase
	}
	defer func() { _ = rows.Close() }()
	var out []waitSample
	for rows.Next() {
		var s waitSample
		if rows.Scan(&s.Role, &s.WaitType, &s.Wait, &s.Query) == nil {
			out = append(out, s)
		}
	}
	return out
}

// finish stops sampling and answers the top waits of each role.
func (w *waitWatch) finish() []waitRow {
	w.cancel()
	return summariseWaits(<-w.done, 5)
}

// summariseWaits groups samples by role and what they were doing, and keeps
// each role's top ones, roles with the most samples first.
func summariseWaits(samples []waitSample, top int) []waitRow {
	type key struct{ role, wait, on string }
	counts := map[key]int{}
	perRole := map[string]int{}
	for _, s := range samples {
		k := key{role: s.Role, wait: "running (CPU)"}
		if s.WaitType != "" {
			k.wait = s.WaitType + ":" + s.Wait
		}
		if s.WaitType == "Lock" {
			k.on = statementLabel(s.Query)
		}
		counts[k]++
		perRole[s.Role]++
	}
	var rows []waitRow
	for k, n := range counts {
		rows = append(rows, waitRow{Role: k.role, Wait: k.wait, On: k.on, Samples: n, Share: 100 * float64(n) / float64(perRole[k.role])})
	}
	slices.SortFunc(rows, func(a, b waitRow) int {
		return cmp.Or(cmp.Compare(perRole[b.Role], perRole[a.Role]), strings.Compare(a.Role, b.Role),
			cmp.Compare(b.Samples, a.Samples), strings.Compare(a.Wait, b.Wait), strings.Compare(a.On, b.On))
	})
	var kept []waitRow
	seen := map[string]int{}
	for _, r := range rows {
		if seen[r.Role] < top {
			kept = append(kept, r)
			seen[r.Role]++
		}
	}
	return kept
}

// statementLabel is the start of a statement on one line: enough to tell
// which row or table a lock wait is about.
func statementLabel(q string) string {
	r := []rune(strings.Join(strings.Fields(q), " "))
	if len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return string(r)
}

func printWaits(rows []waitRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Println("  PostgreSQL sessions running a statement, by role: what they were doing (share of the role's samples)")
	for _, r := range rows {
		on := ""
		if r.On != "" {
			on = "  " + r.On
		}
		fmt.Printf("    %-14s %5.1f%%  %-26s%s\n", r.Role, r.Share, r.Wait, on)
	}
}
