package worker

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/groupcommit"
	"github.com/redress/redress/services/internal/records"
)

// noticeOutcome is what became of one notice, waiting to be recorded.
type noticeOutcome struct {
	row                     records.Notification
	status, channel, reason string
	done                    chan error // buffered: the recorder never waits for the caller
}

// noticeRecorder records notices' outcomes in groups (groupcommit), so a
// storm of acknowledgements takes the audit chain's head once per group
// rather than once per notice (the head's lockers queue behind each other's
// WAL flush). A caller is answered after its group's COMMIT.
type noticeRecorder struct {
	db    *gorm.DB
	queue chan noticeOutcome
}

const (
	noticeGroupMax      = 256
	noticeRecordTimeout = 30 * time.Second
)

func newNoticeRecorder(db *gorm.DB) *noticeRecorder {
	r := &noticeRecorder{db: db, queue: make(chan noticeOutcome, noticeGroupMax)}
	go r.run()
	return r
}

// record queues o and waits for its group's commit, or for ctx.
func (r *noticeRecorder) record(ctx context.Context, o noticeOutcome) error {
	o.done = make(chan error, 1)
	select {
	case r.queue <- o:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done(): // the group may still commit it: recording is idempotent
		return ctx.Err()
	}
}

func (r *noticeRecorder) run() {
	groupcommit.Run(nil, r.queue, noticeGroupMax, r.commit, func(o noticeOutcome, err error) { o.done <- err })
}

// commit marks each still-pending notice with its outcome and appends an
// audit entry for each one it marked, in one transaction.
func (r *noticeRecorder) commit(group []noticeOutcome) error {
	ctx, cancel := context.WithTimeout(context.Background(), noticeRecordTimeout)
	defer cancel()
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var entries []audit.Entry
		for _, o := range group {
			res := tx.Model(&records.Notification{}).Where("id = ? AND status = 'pending'", o.row.ID).Updates(map[string]any{
				"status": o.status, "channel": o.channel, "sent_at": now, "attempts": gorm.Expr("attempts + 1"), "last_error": o.reason,
			})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue // recorded by an earlier attempt
			}
			entries = append(entries, audit.Entry{
				Actor: systemActor, Action: "case.notice_" + o.status, ObjectType: "case", ObjectID: o.row.CaseID,
				Details: map[string]any{"notice": o.row.Kind, "channel": o.channel, "dedupe_key": o.row.DedupeKey},
			})
		}
		_, err := audit.AppendAll(tx, entries)
		return err
	})
}
