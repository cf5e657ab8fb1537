package deletionworker

import (
	"context"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/groupcommit"
)

// write is one audited change: its writes inside tx, answering the audit
// entries that record them (appended to the chain in the same transaction).
type write func(tx *gorm.DB) ([]audit.Entry, error)

// recorder commits the audited changes of a batch pass's requests in
// groups: every change waiting when a transaction begins goes into it, with
// one append to the audit chain, so the chain's head is taken once per group
// instead of once per change. A failed group is committed again change by
// change (groupcommit), so one request's error fails only that request.
type recorder struct {
	queue chan recording
	stop  chan struct{}
	done  chan struct{}
}

type recording struct {
	change write
	answer chan error
}

type recorderKey struct{}

// withRecorder answers ctx with a recorder the pass's changes go through,
// and the function that stops it once they are all answered.
func (a *Activities) withRecorder(ctx context.Context) (context.Context, func()) {
	r := &recorder{queue: make(chan recording), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		groupcommit.Run(r.stop, r.queue, batchParallel, func(group []recording) error {
			changes := make([]write, len(group))
			for i, g := range group {
				changes[i] = g.change
			}
			return a.commit(ctx, changes...)
		}, func(g recording, err error) { g.answer <- err })
	}()
	return context.WithValue(ctx, recorderKey{}, r), func() { close(r.stop); <-r.done }
}

// audited commits change: in the pass's next group when ctx carries a
// recorder, otherwise in a transaction of its own.
func (a *Activities) audited(ctx context.Context, change write) error {
	if r, ok := ctx.Value(recorderKey{}).(*recorder); ok {
		g := recording{change: change, answer: make(chan error, 1)}
		select {
		case r.queue <- g:
		case <-ctx.Done():
			return ctx.Err()
		}
		return <-g.answer
	}
	return a.commit(ctx, change)
}

// commit runs changes in one transaction, their audit entries appended to
// the chain together at the end (the head is held from there to the commit).
func (a *Activities) commit(ctx context.Context, changes ...write) error {
	return a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var entries []audit.Entry
		for _, change := range changes {
			e, err := change(tx)
			if err != nil {
				return err
			}
			entries = append(entries, e...)
		}
		_, err := audit.AppendAll(tx, entries)
		return err
	})
}
