// Package workflowstart starts one workflow per record from the record itself:
// right after the record's commit, either through a bounded queue in the
// process that wrote it (without holding the caller's answer) or in a worker
// process told by the commit's NOTIFY (RunNotified), and by a recovery loop
// for any record whose workflow has not started (engine down, queue full,
// crash after commit). Workflow ids are derived from record ids, so a second
// start is refused by Temporal and counts as done; the record's
// workflow_started_at notes that it runs.
package workflowstart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"
)

// Kind describes one kind of record and its workflow.
type Kind struct {
	Name          string // for logs: "case", "deletion request"
	Table         string // the records' table; it has id and workflow_started_at columns
	CreatedColumn string // when the record was committed (recovery takes the oldest first)
	WorkflowID    func(id string) string
	TaskQueue     string
	Workflow      string
	Input         func(id string) any
}

// Starter starts the workflows of one kind of record.
type Starter struct {
	temporal client.Client
	db       *gorm.DB
	log      *slog.Logger
	kind     Kind
	queue    chan string
	workers  int
	// queued holds the ids in the queue or being started from it, so the
	// recovery loop leaves them there instead of starting them a second time
	// (during a storm the queue holds records older than Grace).
	queued sync.Map
	// Grace is how old an unstarted record must be before recovery takes it
	// (younger ones are still in the queue).
	Grace time.Duration
	// Every is the recovery loop's period.
	Every time.Duration
	// StartTimeout bounds one start attempt.
	StartTimeout time.Duration
	// Eager asks the engine to hand each new workflow's first task back in
	// the start's answer, to a worker of the same client (eager workflow
	// start): one persistence write, the task queue and a poll fewer per
	// workflow. Set it only in the process whose client runs the workers of
	// Kind.TaskQueue; elsewhere the SDK does not ask.
	Eager bool
}

// New builds a starter with a queue of queueSize and that many start workers.
func New(tc client.Client, db *gorm.DB, log *slog.Logger, kind Kind, queueSize, workers int) *Starter {
	return &Starter{
		temporal: tc, db: db, log: log, kind: kind, queue: make(chan string, queueSize), workers: workers,
		Grace: 10 * time.Second, Every: 5 * time.Second, StartTimeout: 5 * time.Second,
	}
}

// Enqueue asks for a start without waiting. A full queue drops the request:
// the record is durable and the recovery loop will start it.
func (s *Starter) Enqueue(id string) {
	if _, already := s.queued.LoadOrStore(id, struct{}{}); already {
		return
	}
	select {
	case s.queue <- id:
	default:
		s.queued.Delete(id)
	}
}

// Run starts queued records and runs the recovery loop until ctx ends.
func (s *Starter) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-s.queue:
					err := s.Start(ctx, id)
					s.queued.Delete(id)
					if err != nil && ctx.Err() == nil {
						s.log.Warn("workflow start failed; recovery will retry", "kind", s.kind.Name, "id", id, "err", err)
					}
				}
			}
		}()
	}
	s.passes(ctx, nil)
	wg.Wait()
}

// passes runs a start pass every Every over the records older than Grace,
// and one over all of them whenever wake delivers, until ctx ends.
func (s *Starter) passes(ctx context.Context, wake <-chan struct{}) {
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		woken := false
		select {
		case <-ctx.Done():
			return
		case <-wake:
			woken = true
		case <-t.C:
		}
		grace := s.Grace
		if woken {
			grace = 0
		}
		n, err := s.recoverOlderThan(ctx, grace)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("workflow start pass failed", "kind", s.kind.Name, "err", err, "started", n)
		case n > 0 && !woken: // a notified pass starting records is the normal path, not news
			s.log.Info("workflow recovery started records", "kind", s.kind.Name, "count", n)
		}
	}
}

// RunNotified is Run for a starter in another process than the one that
// writes the records: whenever a transaction that wrote some commits its
// NOTIFY on channel, a pass starts every record not started yet, without
// Grace (nothing of this process's queue can hold them). The periodic pass
// stays, for notifications missed while the listening connection was down.
func (s *Starter) RunNotified(ctx context.Context, channel string) {
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default: // a pass is due already: it will see these records too
		}
	}
	go func() {
		for ctx.Err() == nil {
			err := s.listen(ctx, channel, signal)
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("workflow starter stopped listening; listening again", "kind", s.kind.Name, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	s.passes(ctx, wake)
}

// listen holds one connection of the pool LISTENing on channel and calls
// signal for each notification, and once when it starts listening (records
// committed before it did).
func (s *Starter) listen(ctx context.Context, channel string, signal func()) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("workflowstart: LISTEN needs a pgx connection, not %T", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+channel); err != nil {
			return err
		}
		signal()
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				// The connection's state is unknown after an error: close
				// it rather than give it back to the pool listening.
				_ = pc.Close(context.Background())
				return err
			}
			signal()
		}
	})
}

// Recover starts the workflow of every record that has none yet, is older
// than Grace and is not waiting in the queue, as many at once as the starter
// has workers (one at a time, a backlog of thousands after an outage or a
// storm drained at the speed of one round trip). It stops at the first
// failure (the engine is likely down; the next pass retries) and answers how
// many it started.
func (s *Starter) Recover(ctx context.Context) (int, error) {
	return s.recoverOlderThan(ctx, s.Grace)
}

func (s *Starter) recoverOlderThan(ctx context.Context, grace time.Duration) (int, error) {
	const page = 200
	started := 0
	var after struct {
		at time.Time
		id string
	}
	for {
		var rows []struct {
			ID      string
			Created time.Time
		}
		q := s.db.WithContext(ctx).Table(s.kind.Table).
			Select("id, " + s.kind.CreatedColumn + " AS created").
			Where("workflow_started_at IS NULL")
		if grace > 0 { // no bound without one: the writer's clock may run ahead of ours
			q = q.Where(s.kind.CreatedColumn+" < ?", time.Now().Add(-grace))
		}
		if after.id != "" { // keyset paging: skipped (queued) records are not read again
			q = q.Where("("+s.kind.CreatedColumn+", id) > (?, ?)", after.at, after.id)
		}
		if err := q.Order(s.kind.CreatedColumn + ", id").Limit(page).Scan(&rows).Error; err != nil {
			return started, err
		}
		var todo []string
		for _, r := range rows {
			if _, queued := s.queued.Load(r.ID); !queued {
				todo = append(todo, r.ID)
			}
		}
		runs, err := s.startAll(ctx, todo)
		// The page's starts are noted in one statement (one commit instead
		// of one per record); a crash before it leaves them to be started
		// again, which the engine refuses and counts as done.
		if merr := s.noteStarted(ctx, runs...); merr != nil && err == nil {
			err = merr
		}
		if err != nil {
			return started, err
		}
		started += len(runs)
		if len(rows) < page {
			return started, nil
		}
		after.at, after.id = rows[len(rows)-1].Created, rows[len(rows)-1].ID
	}
}

// startAll starts the workflows of ids, s.workers at a time, and answers
// those it started; it stops at the first failure. A few goroutines take
// the ids in turn rather than one per id: a start's walk over its payloads
// needs a deep stack, which every new goroutine would grow again by copying.
func (s *Starter) startAll(ctx context.Context, ids []string) ([]string, error) {
	var (
		next atomic.Int64
		mu   sync.Mutex
		runs []string
	)
	g, gctx := errgroup.WithContext(ctx)
	for range min(s.workers, len(ids)) {
		g.Go(func() error {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || gctx.Err() != nil {
					return gctx.Err()
				}
				if err := s.startWorkflow(gctx, ids[i]); err != nil {
					return err
				}
				mu.Lock()
				runs = append(runs, ids[i])
				mu.Unlock()
			}
		})
	}
	err := g.Wait()
	return runs, err
}

// Start starts the record's workflow (already started counts as success) and
// notes on the record that it runs.
func (s *Starter) Start(ctx context.Context, id string) error {
	if err := s.startWorkflow(ctx, id); err != nil {
		return err
	}
	return s.noteStarted(ctx, id)
}

// startWorkflow starts the record's workflow; already started counts as
// success.
func (s *Starter) startWorkflow(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, s.StartTimeout)
	defer cancel()
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    s.kind.WorkflowID(id),
		TaskQueue:             s.kind.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		EnableEagerStart:      s.Eager,
	}, s.kind.Workflow, s.kind.Input(id))
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return err
	}
	return nil
}

// noteStarted marks the records whose workflows run.
func (s *Starter) noteStarted(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.StartTimeout)
	defer cancel()
	return s.db.WithContext(ctx).Table(s.kind.Table).
		Where("id IN ? AND workflow_started_at IS NULL", ids).
		Update("workflow_started_at", time.Now().UTC()).Error
}
