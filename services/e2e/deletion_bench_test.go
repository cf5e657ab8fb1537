package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	wf "github.com/redress/redress/workflows/deletion"
)

// TestDeletionBulkThroughput measures, when REDRESS_DELETION_BENCH=N is set
// (`make bench-deletion`, part of `make bench`, runs it with N=10,000):
//   - bulk acceptance: N pipeline requests, the pipeline vouching for each
//     requester's identity, submitted in batches of 1,000, each durably
//     recorded before its batch answers;
//   - end-to-end completion: from the first batch until all N requests are
//     located, auto-approved, executed against the PostgreSQL connector,
//     verified and certified (restricted where the 6-month floor holds), each
//     submission carried by one DeletionBatchWorkflow;
//   - a raw baseline, measured first: the same rows of N other people
//     deleted, restricted and masked by hand-written SQL, with the
//     connector's concurrency (4).
//
// It reports figures (and writes them as JSON to REDRESS_BENCH_JSON when set)
// and asserts only correctness, never timing.
func TestDeletionBulkThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("REDRESS_DELETION_BENCH"))
	if n <= 0 {
		t.Skip("set REDRESS_DELETION_BENCH=10000 to measure bulk deletion throughput (make bench-deletion)")
	}
	m := n
	// The worker keeps as many workflows between tasks as `redress serve
	// worker` does (REDRESS_WORKER_WORKFLOW_CACHE), not the SDK's default.
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	sdkworker.SetStickyWorkflowCacheSize(cfg.WorkerWorkflowCache)
	// People 0..n-1 ask for deletion; n..2n-1 are the baseline's.
	r := newDeletionRig(t, 2*n)
	pipeline := r.as("pipeline.crm")
	heldFrom := time.Now().AddDate(-3, 0, 0)
	item := func(i int) *deletionv1.SubmitDeletionRequest {
		return &deletionv1.SubmitDeletionRequest{IdempotencyKey: fmt.Sprintf("bulk-%08d", i), Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
			Source: deletionv1.Source_SOURCE_PIPELINE, Email: customertest.Email(i),
			Phone:             &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(i), HeldFrom: timestamppb.New(heldFrom)},
			AttestationReason: "signed in to the operator app; the app's deletion request form"}
	}

	// 1. Raw baseline: the same statements by hand for people n..n+m-1.
	raw := rawDeletes(t, r, n, m)

	// 2. Bulk acceptance of n requests.
	ids := make([]string, n)
	start := time.Now()
	for lo := 0; lo < n; lo += deletion.MaxBatch {
		hi := min(lo+deletion.MaxBatch, n)
		batch := &deletionv1.SubmitDeletionBatchRequest{}
		for i := lo; i < hi; i++ {
			batch.Items = append(batch.Items, item(i))
		}
		resp, err := r.api.SubmitDeletionBatch(pipeline, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range resp.GetResults() {
			if res.GetErrorCode() != "" {
				t.Fatalf("item %d refused: %s %s", lo+int(res.GetIndex()), res.GetErrorCode(), res.GetErrorMessage())
			}
			ids[lo+int(res.GetIndex())] = res.GetDeletionId()
		}
	}
	accept := time.Since(start)
	var recorded int64
	r.db.Model(&deletion.Request{}).Count(&recorded)
	if recorded != int64(n) {
		t.Fatalf("%d requests on record, want %d", recorded, n)
	}

	// 3. End to end: the workflows started from the records run on their own.
	deadline := time.Now().Add(time.Duration(max(m, 10000)) * 200 * time.Millisecond)
	lastLog := time.Now()
	for {
		var done int64
		r.db.Model(&deletion.Request{}).Where("id IN ? AND status IN ?", ids[:m], []string{wf.StatusRestricted, wf.StatusCompleted, wf.StatusFailed}).Count(&done)
		if done == int64(m) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests finished", done, m)
		}
		if time.Since(lastLog) > 30*time.Second {
			t.Logf("%d of %d finished after %v", done, m, time.Since(start).Round(time.Second))
			lastLog = time.Now()
		}
		time.Sleep(time.Second)
	}
	e2e := time.Since(start)
	var failed int64
	r.db.Model(&deletion.Request{}).Where("id IN ? AND status = ?", ids[:m], wf.StatusFailed).Count(&failed)
	if failed > 0 {
		t.Fatalf("%d requests failed", failed)
	}
	if left := r.count(`SELECT count(*) FROM accounts WHERE id < $1`, m); left != 0 {
		t.Fatalf("%d accounts of processed people remain", left)
	}

	acceptRate := float64(n) / accept.Seconds()
	e2eRate := float64(m) / e2e.Seconds()
	rawRate := float64(m) / raw.Seconds()
	t.Logf("bulk acceptance: %d requests in %v = %.0f requests/s (durable, batches of %d)", n, accept.Round(time.Millisecond), acceptRate, deletion.MaxBatch)
	t.Logf("end to end: %d requests submitted→located→auto-approved→executed→verified→certified in %v = %.1f requests/s", m, e2e.Round(time.Millisecond), e2eRate)
	t.Logf("raw SQL baseline: same rows of %d people in %v = %.1f people/s; ratio raw/end-to-end = %.1fx", m, raw.Round(time.Millisecond), rawRate, rawRate/e2eRate)
	if path := os.Getenv("REDRESS_BENCH_JSON"); path != "" {
		out, _ := json.MarshalIndent(map[string]any{
			"requests": n, "end_to_end_requests": m, "connector_concurrency": 4,
			"bulk_accept_seconds": accept.Seconds(), "bulk_accept_per_second": acceptRate,
			"end_to_end_seconds": e2e.Seconds(), "end_to_end_per_second": e2eRate,
			"raw_sql_seconds": raw.Seconds(), "raw_sql_people_per_second": rawRate,
			"ratio_raw_to_end_to_end": rawRate / e2eRate,
		}, "", "  ")
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// rawDeletes deletes, restricts and masks the rows of people n..n+m-1 with
// hand-written SQL, four at a time (the connector's concurrency), and
// answers how long it took. It runs before anything else, on fresh
// statistics and an idle stack: measured after the workflows, it ran at
// 480 to 3,900 people a second from one run to the next (vacuum and the
// engine's leftovers), which made the ratio meaningless.
func rawDeletes(t *testing.T, r *deletionRig, n, m int) time.Duration {
	t.Helper()
	if _, err := r.customer.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := n; i < n+m; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tx, err := r.customer.Begin()
			if err != nil {
				t.Error(err)
				return
			}
			defer func() { _ = tx.Rollback() }()
			phone, email := customertest.Phone(i), customertest.Email(i)
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`DELETE FROM orders WHERE account_id IN (SELECT id FROM accounts WHERE phone = $1 OR lower(email) = $2)`, []any{phone, email}},
				{`DELETE FROM accounts WHERE phone = $1 OR lower(email) = $2`, []any{phone, email}},
				{`DELETE FROM call_logs WHERE caller = $1 AND started_at <= now() - interval '6 months'`, []any{phone}},
				{`UPDATE call_logs SET restricted_until = started_at + interval '6 months' WHERE caller = $1 AND started_at > now() - interval '6 months'`, []any{phone}},
				{`UPDATE marketing_list SET name = '***', email = NULL, phone = 'h:' || encode(sha256(convert_to('salt' || phone, 'UTF8')), 'hex') WHERE phone = $1 OR lower(email) = $2`, []any{phone, email}},
			} {
				if _, err := tx.Exec(q.sql, q.args...); err != nil {
					t.Error(err)
					return
				}
			}
			if err := tx.Commit(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if left := r.count(`SELECT count(*) FROM accounts WHERE id >= $1 AND id < $2`, n, n+m); left != 0 {
		t.Fatalf("baseline left %d accounts", left)
	}
	return took
}
