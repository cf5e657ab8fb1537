package intake

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/groupcommit"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/policy"
)

// A submission is one complaint's rows, prepared (and its personal data
// sealed) by the request's own goroutine, waiting for a group commit. The
// case number and what depends on it are filled in at commit.
type submission struct {
	key        crypto.PreparedKey
	comp       records.Complainant
	c          records.Case
	lookupCode string
	deadlines  []records.Deadline
	atts       []records.Attachment
	tokens     []records.CaseSearchToken
	idem       records.IntakeIdempotency
	entry      audit.Entry
	size       int64      // bytes held while it waits: the request and its sealed copy
	done       chan error // buffered: the committer never waits for the caller
}

// committer commits submissions in groups: every submission waiting when a
// transaction begins goes into it, so a burst costs one transaction, one
// audit-head lock and one WAL flush instead of one each. Each caller is
// answered only after its group's COMMIT returned. A group that fails is
// retried one submission per transaction, so one bad submission (say an
// idempotency key taken meanwhile) cannot fail its neighbours. The queue is
// bounded by count and by bytes (a submission may carry 8 MiB of attachments:
// 2048 of them would not fit in a pod): when either is full the caller is
// refused at once (RESOURCE_EXHAUSTED) rather than held in memory.
type committer struct {
	db       *gorm.DB
	keys     *crypto.Keyring
	queue    chan *submission
	stop     chan struct{}
	stopOnce sync.Once
	maxBatch int
	maxBytes int64
	bytes    atomic.Int64 // held by submissions offered and not yet answered
}

// Commit tuning: two committers let one batch's inserts overlap the other's
// commit; the audit head orders their tails.
const (
	commitQueueDepth = 2048
	commitMaxBatch   = 256
	commitWorkers    = 2
	commitTimeout    = 30 * time.Second
	// commitQueueBytes bounds the memory submissions hold while they wait
	// for their commit (attachments twice: the request and its sealed copy),
	// well inside a 1 GiB pod.
	commitQueueBytes = 256 << 20
)

func newCommitter(db *gorm.DB, keys *crypto.Keyring) *committer {
	c := &committer{db: db, keys: keys, queue: make(chan *submission, commitQueueDepth),
		stop: make(chan struct{}), maxBatch: commitMaxBatch, maxBytes: commitQueueBytes}
	for range commitWorkers {
		go c.run()
	}
	return c
}

// offer queues s; false when the queue is full (by count or bytes) or the
// committer stopped.
func (c *committer) offer(s *submission) bool {
	select {
	case <-c.stop:
		return false
	default:
	}
	if c.bytes.Add(s.size) > c.maxBytes {
		c.bytes.Add(-s.size)
		return false
	}
	select {
	case c.queue <- s:
		return true
	default:
		c.bytes.Add(-s.size)
		return false
	}
}

// answer tells s's caller the outcome and releases the bytes it held.
func (c *committer) answer(s *submission, err error) {
	c.bytes.Add(-s.size)
	s.done <- err
}

func (c *committer) close() { c.stopOnce.Do(func() { close(c.stop) }) }

func (c *committer) run() {
	groupcommit.Run(c.stop, c.queue, c.maxBatch, c.commit, c.answer)
}

// commit writes the batch in one transaction.
func (c *committer) commit(batch []*submission) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	n := len(batch)
	return c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		keys := make([]crypto.PreparedKey, n)
		comps := make([]records.Complainant, n)
		for i, s := range batch {
			keys[i], comps[i] = s.key, s.comp
		}
		if err := crypto.StorePreparedKeys(tx, keys); err != nil {
			return err
		}
		if err := tx.Create(&comps).Error; err != nil {
			return err
		}
		var seqs []int64
		if err := tx.Raw("SELECT nextval('case_number_seq') FROM generate_series(1, ?)", n).Scan(&seqs).Error; err != nil {
			return err
		}
		if len(seqs) != n {
			return fmt.Errorf("intake: %d case numbers for %d cases", len(seqs), n)
		}
		cases := make([]records.Case, n)
		var deadlines []records.Deadline
		var atts []records.Attachment
		var tokens []records.CaseSearchToken
		idems := make([]records.IntakeIdempotency, n)
		entries := make([]audit.Entry, n)
		for i, s := range batch {
			s.c.CaseNumber = fmt.Sprintf("C-%d-%06d", s.c.ReceivedAt.In(policy.Shanghai()).Year(), seqs[i])
			s.c.LookupCodeHash = c.keys.LookupCodeHash(s.c.CaseNumber, s.lookupCode)
			cases[i] = s.c
			deadlines = append(deadlines, s.deadlines...)
			atts = append(atts, s.atts...)
			tokens = append(tokens, s.tokens...)
			idems[i] = s.idem
			e := s.entry
			e.AfterDigest = audit.Digest(s.c.AuditView())
			e.Details["case_number"] = s.c.CaseNumber
			entries[i] = e
		}
		if err := tx.Create(&cases).Error; err != nil {
			return err
		}
		if err := tx.Create(&deadlines).Error; err != nil {
			return err
		}
		if len(atts) > 0 {
			if err := tx.CreateInBatches(&atts, 16).Error; err != nil {
				return err
			}
		}
		if len(tokens) > 0 {
			if err := tx.CreateInBatches(&tokens, 4096).Error; err != nil {
				return err
			}
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&idems)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(n) {
			return errKeyRace
		}
		if _, err := audit.AppendAll(tx, entries); err != nil {
			return err
		}
		// The worker's case starter listens: told at the commit, it starts
		// these cases' workflows eagerly (NewStarter).
		return tx.Exec("NOTIFY " + NewCasesChannel).Error
	})
}
