package deletion

import (
	"context"

	wf "github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/policy"
)

// DueFor is the due date the policy gives r on the calendars in force: its
// rule counted from its receipt, extended once if it was.
func DueFor(p *policy.Engine, r Request) (policy.Deadline, error) {
	f := RequestFacts(r.CreatedAt)
	f.Extended = r.ExtendedAt != nil
	d, err := p.Decide(f)
	return d.Resolution, err
}

// CalendarActor is the actor of the recomputations a confirmed calendar calls for.
const CalendarActor = "system:calendar"

// RecomputeDue sends UpdateRecomputeDue to the workflow of every open
// request whose due date the calendars in force now set differently (a
// calendar was confirmed for a year its count reaches into), so that the
// workflow writes the new date and its timer follows. Run after each
// refresh of the calendars; a request already recomputed is left alone, and
// so is a request carried out with its batch (answered within minutes; its
// batch watches the due date on record).
func (s *Server) RecomputeDue(ctx context.Context) (sent, failed int, err error) {
	var rows []Request
	if err := s.db.WithContext(ctx).Where("status NOT IN ? AND batch_id IS NULL", Answered).Find(&rows).Error; err != nil {
		return 0, 0, err
	}
	for _, r := range rows {
		d, err := DueFor(s.policy, r)
		if err != nil || d.DueAt.Equal(r.DueAt) {
			continue
		}
		if err := s.update(ctx, r.ID, wf.UpdateRecomputeDue, wf.Action{Actor: CalendarActor}); err != nil {
			s.log.Warn("deletion due date not recomputed", "deletion_id", r.ID, "err", err)
			failed++
			continue
		}
		sent++
	}
	return sent, failed, nil
}
