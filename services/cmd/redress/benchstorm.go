//go:build dev

package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/redress/redress/workflows/complaint"
)

// The complaint storm (a leak in the news): n complaints offered at rate
// per second on a fixed schedule. Every submission refused for load
// (RESOURCE_EXHAUSTED, UNAVAILABLE) is retried with its idempotency key
// after a backoff, as clients do, so all must end accepted; its latency
// counts from its scheduled time, retries included. Then the storm lasts
// until every accepted complaint has a started workflow and a sent
// acknowledgement on record. Backlog is sampled every 2 s: complaints
// accepted whose acknowledgement is not yet sent (the last acknowledgement's
// time is its sent_at on record, not the poll's).

type stormOptions struct {
	db      *sql.DB
	n, rate int
	limit   time.Duration
	run     string
	submit  func(key string) (caseID string, err error)
}

type stormResult struct {
	N    int `json:"n"`
	Rate int `json:"offered_rate"`
	// Intake is the submissions' latency and outcome (retries included).
	Intake  loadRow `json:"intake"`
	Retries int     `json:"retries"`
	// Seconds from the first submission: until the last submission was
	// answered, and until the last acknowledgement was recorded as sent.
	LastSubmitSeconds float64 `json:"last_submission_seconds"`
	LastAckSeconds    float64 `json:"last_acknowledgement_seconds"`
	// AfterLastSubmit is LastAckSeconds - LastSubmitSeconds (the target).
	AfterLastSubmit  float64 `json:"after_last_submission_seconds"`
	Accepted         int     `json:"accepted"`
	WorkflowsStarted int     `json:"workflows_started"`
	AcksSent         int     `json:"acknowledgements_sent"`
	// PeakBacklog: most accepted complaints at once without a sent
	// acknowledgement; PeakUnstarted: without a started workflow.
	PeakBacklog   int  `json:"peak_backlog"`
	PeakUnstarted int  `json:"peak_unstarted"`
	Complete      bool `json:"complete"`
}

// stormWatch follows the storm's cases on record: it asks only about the
// cases still waiting for their workflow or acknowledgement, one index
// lookup each (a plain = ANY over thousands of ids scans the table), so
// polling stays cheap beside the stack it measures.
type stormWatch struct {
	db                 *sql.DB
	mu                 sync.Mutex
	accepted           int
	unstarted, unacked map[string]bool
	lastAck            time.Time
}

func (w *stormWatch) add(caseID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.unstarted[caseID] && !w.unacked[caseID] {
		w.accepted++
		w.unstarted[caseID], w.unacked[caseID] = true, true
	}
}

func (w *stormWatch) poll(ctx context.Context) (accepted, started, acked int, err error) {
	w.mu.Lock()
	var ids, keys []string
	for id := range w.unstarted {
		ids = append(ids, id)
	}
	for id := range w.unacked {
		keys = append(keys, id+"/"+complaint.NoticeAcknowledgement)
	}
	w.mu.Unlock()
	var done []string
	rows, err := w.db.QueryContext(ctx, `SELECT c.id::text FROM unnest($1::uuid[]) AS u(id)
		JOIN cases c ON c.id = u.id WHERE c.workflow_started_at IS NOT NULL`, ids)
	if err != nil {
		return 0, 0, 0, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return 0, 0, 0, err
		}
		done = append(done, id)
	}
	_ = rows.Close()
	type ack struct {
		id string
		at time.Time
	}
	var acks []ack
	rows, err = w.db.QueryContext(ctx, `SELECT n.case_id::text, n.sent_at FROM unnest($1::text[]) AS k(key)
		JOIN notifications n ON n.dedupe_key = k.key WHERE n.status = 'sent'`, keys)
	if err != nil {
		return 0, 0, 0, err
	}
	for rows.Next() {
		var a ack
		if err := rows.Scan(&a.id, &a.at); err != nil {
			_ = rows.Close()
			return 0, 0, 0, err
		}
		acks = append(acks, a)
	}
	_ = rows.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range done {
		delete(w.unstarted, id)
	}
	for _, a := range acks {
		delete(w.unacked, a.id)
		if a.at.After(w.lastAck) {
			w.lastAck = a.at
		}
	}
	return w.accepted, w.accepted - len(w.unstarted), w.accepted - len(w.unacked), rows.Err()
}

func runStorm(ctx context.Context, o stormOptions) (stormResult, error) {
	res := stormResult{N: o.n, Rate: o.rate}
	prefix := "storm-" + o.run + "-"
	watch := &stormWatch{db: o.db, unstarted: map[string]bool{}, unacked: map[string]bool{}}
	var retries atomic.Int64
	start := time.Now()
	var lastSubmit time.Time
	done := make(chan struct{})
	submitted := make(chan loadRow, 1)
	go func() {
		r := openLoop(ctx, "intake during the storm", o.n, o.rate, func(i int) error {
			n, err := submitRetrying(ctx, func() error {
				id, err := o.submit(prefix + strconv.Itoa(i))
				if err == nil {
					watch.add(id)
				}
				return err
			})
			retries.Add(int64(n))
			return err
		})
		lastSubmit = time.Now()
		submitted <- r
		close(done)
	}()

	// Sample the backlog until every submission is answered and every
	// accepted complaint acknowledged.
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	deadline := start.Add(o.limit)
	answered := false
	submitting := done
	for {
		select {
		case <-submitting:
			submitting = nil // a closed channel is always ready: without this the loop polls without pause
			answered = true
			res.Intake = <-submitted
			res.LastSubmitSeconds = lastSubmit.Sub(start).Seconds()
		case <-tick.C:
		case <-ctx.Done():
			return res, ctx.Err()
		}
		accepted, started, acked, err := watch.poll(ctx)
		if err != nil {
			return res, err
		}
		res.PeakBacklog = max(res.PeakBacklog, accepted-acked)
		res.PeakUnstarted = max(res.PeakUnstarted, accepted-started)
		res.Accepted, res.WorkflowsStarted, res.AcksSent = accepted, started, acked
		if answered && acked >= accepted {
			if !watch.lastAck.IsZero() {
				res.LastAckSeconds = watch.lastAck.Sub(start).Seconds()
			}
			break
		}
		if time.Now().After(deadline) {
			res.Retries = int(retries.Load())
			return res, fmt.Errorf("bench: storm not drained after %s: %d accepted, %d workflows started, %d acknowledgements sent",
				o.limit, accepted, started, acked)
		}
	}
	res.Retries = int(retries.Load())
	res.AfterLastSubmit = res.LastAckSeconds - res.LastSubmitSeconds
	res.Complete = res.Accepted == o.n && res.WorkflowsStarted == o.n && res.AcksSent == o.n
	return res, nil
}

// submitRetrying calls submit until it is not refused for load, backing
// off from 100 ms up to 5 s, at most 12 attempts; it answers the retries.
func submitRetrying(ctx context.Context, submit func() error) (int, error) {
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := submit()
		if c := status.Code(err); err == nil || (c != codes.ResourceExhausted && c != codes.Unavailable) || attempt == 11 {
			return attempt, err
		}
		select {
		case <-ctx.Done():
			return attempt, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (r stormResult) print() {
	fmt.Printf("\ncomplaint storm: %d offered at %d/s\n", r.N, r.Rate)
	printHeader()
	r.Intake.print()
	fmt.Printf("  accepted %d, workflows started %d, acknowledgements sent %d (%d submissions retried after a refusal)\n",
		r.Accepted, r.WorkflowsStarted, r.AcksSent, r.Retries)
	fmt.Printf("  first submission → last submission answered %.1f s, → last acknowledgement sent %.1f s (%.1f s after the last submission)\n",
		r.LastSubmitSeconds, r.LastAckSeconds, r.AfterLastSubmit)
	fmt.Printf("  peak backlog: %d accepted without acknowledgement, %d without a started workflow\n", r.PeakBacklog, r.PeakUnstarted)
}

// settle waits until every case received since the given time has its
// acknowledgement sent: the engine's backlog from earlier runs drained, so
// the next run (baseline or intake) starts from the same idle stack and
// carries only its own workflows. It answers how long that took.
func settle(ctx context.Context, db *sql.DB, since time.Time, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		var waiting int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM cases c WHERE c.received_at >= $1
			AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = c.id::text || '/' || $2 AND n.status = 'sent')`,
			since, complaint.NoticeAcknowledgement).Scan(&waiting)
		if err != nil {
			return time.Since(start), err
		}
		if waiting == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return time.Since(start), fmt.Errorf("bench: %d cases still without an acknowledgement after %s", waiting, limit)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
