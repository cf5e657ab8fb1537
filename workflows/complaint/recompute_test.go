package complaint

import (
	"context"
	"testing"
	"time"
)

// RecomputeDeadlines of the fake: the resolution deadline moves to
// f.recomputedTo, its reminders with it, the case version rises.
func (f *fakeActivities) RecomputeDeadlines(_ context.Context, in RecomputeInput) (RecomputeResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ActivityRecomputeDeadlines, in)
	if prev, ok := f.applied[in.ActionID]; ok {
		return RecomputeResult{Snapshot: cloneSnap(prev)}, nil
	}
	old := f.snap.Resolution.DueAt
	f.snap.Resolution.DueAt = f.recomputedTo
	f.snap.Resolution.Provisional = false
	f.snap.Resolution.Reminders = []time.Time{f.recomputedTo.Add(-2 * day)}
	f.snap.Version++
	f.applied[in.ActionID] = cloneSnap(f.snap)
	return RecomputeResult{Snapshot: cloneSnap(f.snap), Moved: []DeadlineMove{{
		Kind: DeadlineResolution, OldDueAt: old, NewDueAt: f.recomputedTo, Communicated: true,
	}}}, nil
}

// A confirmed calendar moves the resolution deadline earlier while the case
// runs: the reminder and the breach follow the new date (not the old one),
// and the complainant is told once.
func TestRecomputeMovesTheDeadlineAndItsTimer(t *testing.T) {
	h := newHarness(t, func(s *CaseSnapshot) { s.Resolution.Provisional = true })
	newDue := t0.Add(10 * day)
	h.fake.recomputedTo = newDue
	accept := h.update(time.Hour, UpdateAccept, "u-accept", act(nil))
	recompute := h.update(day, UpdateRecomputeDeadlines, "u-recompute", Action{Actor: "system:calendar"})
	view := h.query(day + time.Hour)
	h.stopAt(20 * day)
	h.run()
	h.requireCancelled()
	mustOK(t, "accept", accept)
	mustOK(t, "recompute", recompute)

	if !recompute.result.Resolution.DueAt.Equal(newDue) || view.Resolution.DueAt != newDue || view.Resolution.Provisional {
		t.Fatalf("after recompute: result %+v, query %+v", recompute.result.Resolution, view.Resolution)
	}
	var resBreach []call
	for _, c := range h.fake.callsOf(ActivityRecordBreach) {
		if c.In.(BreachInput).Kind == DeadlineResolution {
			resBreach = append(resBreach, c)
		}
	}
	if len(resBreach) != 1 || !resBreach[0].At.Equal(newDue) || !resBreach[0].In.(BreachInput).DueAt.Equal(newDue) {
		t.Fatalf("resolution breach %+v, want one at %v", resBreach, newDue)
	}
	var rems []call
	for _, c := range h.fake.callsOf(ActivityRecordReminder) {
		if c.In.(ReminderInput).Kind == DeadlineResolution {
			rems = append(rems, c)
		}
	}
	if len(rems) != 1 || !rems[0].At.Equal(newDue.Add(-2*day)) {
		t.Fatalf("resolution reminders %+v, want one at %v", rems, newDue.Add(-2*day))
	}
	moved := 0
	for _, n := range h.fake.notices() {
		if n.Kind == NoticeDeadlineMoved {
			moved++
			if n.DedupeKey != NoticeDeadlineMoved+"/u-recompute" {
				t.Errorf("notice dedupe key %q", n.DedupeKey)
			}
		}
	}
	if moved != 1 {
		t.Fatalf("deadline_moved notices: %d, want 1 (%+v)", moved, h.fake.notices())
	}
}

// The Update is sealed like every human action: an unsigned one is refused
// before anything runs.
func TestRecomputeRefusesAnUnsealedUpdate(t *testing.T) {
	h := newHarness(t)
	h.fake.recomputedTo = t0.Add(10 * day)
	out := h.updateAs(day, UpdateRecomputeDeadlines, "u-forged", func() Action { return Action{Actor: "system:calendar"} })
	h.stopAt(2 * day)
	h.run()
	h.requireCancelled()
	if out.rejectErr == nil {
		t.Fatal("unsealed recompute accepted")
	}
	if c := h.fake.callsOf(ActivityRecomputeDeadlines); len(c) != 0 {
		t.Fatalf("recompute ran: %+v", c)
	}
}
