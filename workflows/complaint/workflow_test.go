package complaint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

const testCaseID = "3f1e7a52-9c1b-4f0e-8d4a-2b7c9e1d0a11"

var t0 = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// ---------------------------------------------------------------------------
// In-memory fake of Activities: a tiny case record that behaves like the
// database implementation (idempotent by ActionID, refuses a transition from
// the wrong state) and records every call with the simulated time.

type call struct {
	Name string
	At   time.Time // simulated time of the call
	In   any
}

type fakeActivities struct {
	mu      sync.Mutex
	env     *testsuite.TestWorkflowEnvironment
	snap    CaseSnapshot
	applied map[string]CaseSnapshot
	calls   []call
	// failFirstApply simulates a lost response: the first ApplyTransition
	// attempt writes, then fails with a retryable error.
	failFirstApply bool
	// noticeFailures makes the first n SendNotice attempts fail (notifier down).
	noticeFailures int
	// recomputedTo is where RecomputeDeadlines moves the resolution deadline.
	recomputedTo time.Time
	// loadDelay holds LoadCase for this long (real time).
	loadDelay time.Duration
	// ackDelay holds the first attempt at the acknowledgement this long (real time).
	ackDelay time.Duration
}

func newFake(env *testsuite.TestWorkflowEnvironment, snap CaseSnapshot) *fakeActivities {
	return &fakeActivities{env: env, snap: snap, applied: map[string]CaseSnapshot{}}
}

func (f *fakeActivities) record(name string, in any) {
	f.calls = append(f.calls, call{Name: name, At: f.env.Now(), In: in})
}

func (f *fakeActivities) LoadCase(_ context.Context, caseID string) (CaseSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ActivityLoadCase, caseID)
	if f.loadDelay > 0 {
		f.mu.Unlock()
		time.Sleep(f.loadDelay)
		f.mu.Lock()
	}
	if caseID != f.snap.CaseID {
		return CaseSnapshot{}, temporal.NewNonRetryableApplicationError("no such case", ErrTypeCaseNotFound, nil)
	}
	return cloneSnap(f.snap), nil
}

func (f *fakeActivities) ApplyTransition(_ context.Context, in TransitionInput) (CaseSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ActivityApplyTransition, in)
	if prev, ok := f.applied[in.ActionID]; ok {
		return cloneSnap(prev), nil
	}
	if in.FromState != f.snap.State {
		return CaseSnapshot{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("case is %s, not %s", f.snap.State, in.FromState), ErrTypeIllegalTransition, nil)
	}
	f.snap.State = in.ToState
	if in.Action == UpdateAssign {
		f.snap.Assignee = in.Args.Assignee
	}
	for _, c := range in.DeadlineChanges {
		d := deadlineOf(&f.snap, c.Kind)
		d.Status = c.Status
		if !c.DueAt.IsZero() {
			d.DueAt = c.DueAt
		}
	}
	f.snap.Version++
	f.applied[in.ActionID] = cloneSnap(f.snap)
	if f.failFirstApply {
		f.failFirstApply = false
		return CaseSnapshot{}, errors.New("connection reset after commit")
	}
	return cloneSnap(f.snap), nil
}

// ExtendDeadline: calendar-day policy, the due time moves by the pause.
func (f *fakeActivities) ExtendDeadline(_ context.Context, in ExtendInput) (DeadlineInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ActivityExtendDeadline, in)
	d := f.snap.Resolution
	shift := in.PausedUntil.Sub(in.PausedFrom)
	d.DueAt = d.DueAt.Add(shift)
	d.Reminders = nil
	for _, r := range f.snap.Resolution.Reminders {
		d.Reminders = append(d.Reminders, r.Add(shift))
	}
	d.Status = DeadlineOpen
	return d, nil
}

func (f *fakeActivities) RecordBreach(_ context.Context, in BreachInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ActivityRecordBreach, in)
	f.snap.Overdue = true
	deadlineOf(&f.snap, in.Kind).Status = DeadlineBreached
	return nil
}

func (f *fakeActivities) RecordReminder(_ context.Context, in ReminderInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ActivityRecordReminder, in)
	return nil
}

func (f *fakeActivities) SendNotice(_ context.Context, in NoticeInput) error {
	f.mu.Lock()
	if d := f.ackDelay; d > 0 && in.Kind == NoticeAcknowledgement {
		f.ackDelay = 0
		f.mu.Unlock()
		time.Sleep(d)
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	f.record(ActivitySendNotice, in)
	if f.noticeFailures > 0 {
		f.noticeFailures--
		return temporal.NewApplicationError("notice not sent yet", "NoticeRetry")
	}
	return nil
}

func (f *fakeActivities) callsOf(name string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeActivities) transitions() []TransitionInput {
	var out []TransitionInput
	for _, c := range f.callsOf(ActivityApplyTransition) {
		out = append(out, c.In.(TransitionInput))
	}
	return out
}

func (f *fakeActivities) notices() []NoticeInput {
	var out []NoticeInput
	for _, c := range f.callsOf(ActivitySendNotice) {
		out = append(out, c.In.(NoticeInput))
	}
	return out
}

func cloneSnap(s CaseSnapshot) CaseSnapshot {
	s.Acknowledgement.Reminders = append([]time.Time(nil), s.Acknowledgement.Reminders...)
	s.Resolution.Reminders = append([]time.Time(nil), s.Resolution.Reminders...)
	return s
}

// baseSnapshot: a received case, acknowledgement due in 48h, resolution in
// 15 days, reminders at 50% and 80%, a 7-day quiet period.
func baseSnapshot() CaseSnapshot {
	ackDue := t0.Add(48 * time.Hour)
	resDue := t0.Add(15 * day)
	return CaseSnapshot{
		CaseID:     testCaseID,
		CaseNumber: "C-2026-000123",
		State:      StateReceived,
		Category:   "spam_sms",
		Acknowledgement: DeadlineInfo{
			Kind: DeadlineAcknowledgement, DueAt: ackDue, RuleID: "cn/ack", Status: DeadlineOpen,
			Reminders: []time.Time{t0.Add(24 * time.Hour), t0.Add(48 * time.Hour * 8 / 10)},
		},
		Resolution: DeadlineInfo{
			Kind: DeadlineResolution, DueAt: resDue, RuleID: "cn/resolution", Status: DeadlineOpen, Pausable: true,
			Reminders: []time.Time{t0.Add(15 * day / 2), t0.Add(15 * day * 8 / 10)},
		},
		QuietPeriod: 7 * day,
		Version:     1,
	}
}

// ---------------------------------------------------------------------------
// Harness

type harness struct {
	t     *testing.T
	suite testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	fake  *fakeActivities
}

type updateOutcome struct {
	accepted  bool
	rejectErr error
	completed bool
	result    CaseSnapshot
	err       error
}

func newHarness(t *testing.T, mutate ...func(*CaseSnapshot)) *harness {
	t.Helper()
	h := &harness{t: t}
	h.env = h.suite.NewTestWorkflowEnvironment()
	h.env.SetStartTime(t0)
	snap := baseSnapshot()
	for _, m := range mutate {
		m(&snap)
	}
	h.fake = newFake(h.env, snap)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: WorkflowID(testCaseID)})
	Register(h.env, h.fake, testVerifier(t))
	return h
}

// testKey is the command key of the tests: the services' signer holds the
// same in production.
var testKey = []byte("complaint-workflow-test-command-key-0123456789")

func testVerifier(t *testing.T) *command.Verifier {
	v, err := command.NewVerifier(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// seal signs a the way the intake service does, for update name/id on this
// case's workflow, valid for a minute of simulated time.
func (h *harness) seal(name, id string, a Action) Action {
	return sealWith(h.t, testKey, WorkflowID(testCaseID), name, id, h.env.Now().Add(time.Minute), a)
}

func sealWith(t *testing.T, key []byte, workflowID, name, id string, expires time.Time, a Action) Action {
	t.Helper()
	seal, err := command.Sign(key, command.Command{
		WorkflowID: workflowID, Update: name, UpdateID: id, Actor: a.Actor, Expires: expires,
	}, a.unsealed())
	if err != nil {
		t.Fatal(err)
	}
	a.Seal = seal
	return a
}

// update sends Update name with id at simulated time t0+after, signed.
func (h *harness) update(after time.Duration, name, id string, a Action) *updateOutcome {
	return h.updateAs(after, name, id, func() Action { return h.seal(name, id, a) })
}

// updateAs sends Update name with id at t0+after with the argument built
// then (signed or not).
func (h *harness) updateAs(after time.Duration, name, id string, arg func() Action) *updateOutcome {
	out := &updateOutcome{}
	h.env.RegisterDelayedCallback(func() {
		a := arg()
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: func() { out.accepted = true },
			OnReject: func(err error) { out.rejectErr = err },
			OnComplete: func(v any, err error) {
				out.completed = true
				out.err = err
				if s, ok := v.(CaseSnapshot); ok {
					out.result = s
				}
			},
		}, a)
	}, after)
	return out
}

func (h *harness) query(after time.Duration) *StateView {
	view := &StateView{}
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryState)
		if err != nil {
			h.t.Errorf("query at %v: %v", after, err)
			return
		}
		if err := v.Get(view); err != nil {
			h.t.Errorf("decode query at %v: %v", after, err)
		}
	}, after)
	return view
}

// stopAt cancels the workflow at t0+after (for cases that never finish).
func (h *harness) stopAt(after time.Duration) {
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, after)
}

// run runs the workflow as the case starter starts it.
func (h *harness) run() {
	h.t.Helper()
	h.runWith(Input{CaseID: testCaseID, Start: CurrentStart})
}

func (h *harness) runWith(in Input) {
	h.t.Helper()
	h.env.ExecuteWorkflow(WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

func (h *harness) requireEnded() {
	h.t.Helper()
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
}

func (h *harness) requireCancelled() {
	h.t.Helper()
	err := h.env.GetWorkflowError()
	var ce *temporal.CanceledError
	if !errors.As(err, &ce) {
		h.t.Fatalf("want the workflow cancelled by the test, got %v", err)
	}
}

func mustOK(t *testing.T, name string, o *updateOutcome) {
	t.Helper()
	if o.rejectErr != nil {
		t.Fatalf("%s rejected: %v", name, o.rejectErr)
	}
	if !o.accepted || !o.completed {
		t.Fatalf("%s: accepted=%v completed=%v", name, o.accepted, o.completed)
	}
	if o.err != nil {
		t.Fatalf("%s failed: %v", name, o.err)
	}
}

func mustReject(t *testing.T, name string, o *updateOutcome, contains string) {
	t.Helper()
	if o.rejectErr == nil {
		t.Fatalf("%s: want rejection containing %q, got accepted=%v err=%v", name, contains, o.accepted, o.err)
	}
	if !strings.Contains(o.rejectErr.Error(), contains) {
		t.Fatalf("%s: rejection %q does not contain %q", name, o.rejectErr.Error(), contains)
	}
	if o.accepted {
		t.Fatalf("%s: rejected update was also accepted", name)
	}
}

var agent = "user-7"

func act(mod func(*Action)) Action {
	a := Action{Actor: agent}
	if mod != nil {
		mod(&a)
	}
	return a
}

func withMessage(id string) Action { return act(func(a *Action) { a.MessageID = id }) }
func withAssignee(u string) Action { return act(func(a *Action) { a.Assignee = u }) }

func stateChain(tr []TransitionInput) string {
	var parts []string
	for _, t := range tr {
		parts = append(parts, t.Action+":"+t.FromState+">"+t.ToState)
	}
	return strings.Join(parts, " ")
}

// ---------------------------------------------------------------------------
// Tests

func TestAcknowledgementNoticeSentOnce(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u-accept", act(nil))
	h.stopAt(3 * day)
	h.run()
	h.requireCancelled()

	var acks []NoticeInput
	for _, n := range h.fake.notices() {
		if n.Kind == NoticeAcknowledgement {
			acks = append(acks, n)
		}
	}
	if len(acks) != 1 {
		t.Fatalf("acknowledgement notices: %d, want 1", len(acks))
	}
	if acks[0].DedupeKey != testCaseID+"/acknowledgement" || acks[0].CaseID != testCaseID {
		t.Fatalf("acknowledgement notice: %+v", acks[0])
	}
	if c := h.fake.callsOf(ActivitySendNotice)[0]; !c.At.Equal(t0) {
		t.Fatalf("acknowledgement notice sent at %v, want at start %v", c.At, t0)
	}
}

func TestNoAcknowledgementNoticeWhenNotReceived(t *testing.T) {
	h := newHarness(t, func(s *CaseSnapshot) {
		s.State = StateInProgress
		s.Acknowledgement.Status = DeadlineMet
	})
	h.stopAt(time.Hour)
	h.run()
	h.requireCancelled()
	if n := h.fake.notices(); len(n) != 0 {
		t.Fatalf("notices: %+v", n)
	}
}

func TestAcceptBeforeAckDeadlineNoBreach(t *testing.T) {
	h := newHarness(t)
	accept := h.update(2*time.Hour, UpdateAccept, "u-accept-1", act(nil))
	view := h.query(3 * time.Hour)
	h.stopAt(3 * day)
	h.run()
	h.requireCancelled()
	mustOK(t, "accept", accept)

	if b := h.fake.callsOf(ActivityRecordBreach); len(b) != 0 {
		t.Fatalf("breaches: %+v", b)
	}
	if r := h.fake.callsOf(ActivityRecordReminder); len(r) != 0 {
		t.Fatalf("acknowledgement reminders after accept: %+v", r)
	}
	tr := h.fake.transitions()
	if len(tr) != 1 {
		t.Fatalf("transitions: %s", stateChain(tr))
	}
	got := tr[0]
	if got.ActionID != "u-accept-1" || got.Action != UpdateAccept || got.FromState != StateReceived ||
		got.ToState != StateAccepted || !got.At.Equal(t0.Add(2*time.Hour)) || got.Args.Actor != agent {
		t.Fatalf("accept transition: %+v", got)
	}
	if len(got.DeadlineChanges) != 1 || got.DeadlineChanges[0] != (DeadlineChange{Kind: DeadlineAcknowledgement, Status: DeadlineMet}) {
		t.Fatalf("accept deadline changes: %+v", got.DeadlineChanges)
	}
	if accept.result.State != StateAccepted || accept.result.Version != 2 {
		t.Fatalf("accept result: %+v", accept.result)
	}
	if view.State != StateAccepted || view.Acknowledgement.Status != DeadlineMet || view.Overdue || view.Paused {
		t.Fatalf("query after accept: %+v", view)
	}
}

func TestNoActionBreachesAndRemindersInOrder(t *testing.T) {
	h := newHarness(t)
	view := h.query(3 * day)
	h.stopAt(20 * day)
	h.run()
	h.requireCancelled()

	snap := baseSnapshot()
	breaches := h.fake.callsOf(ActivityRecordBreach)
	if len(breaches) != 2 {
		t.Fatalf("breaches: %+v", breaches)
	}
	ack := breaches[0].In.(BreachInput)
	if ack.Kind != DeadlineAcknowledgement || !ack.DueAt.Equal(snap.Acknowledgement.DueAt) || !breaches[0].At.Equal(snap.Acknowledgement.DueAt) {
		t.Fatalf("acknowledgement breach %+v at %v, want at %v", ack, breaches[0].At, snap.Acknowledgement.DueAt)
	}
	res := breaches[1].In.(BreachInput)
	if res.Kind != DeadlineResolution || !breaches[1].At.Equal(snap.Resolution.DueAt) {
		t.Fatalf("resolution breach %+v at %v", res, breaches[1].At)
	}

	type rem struct {
		kind    string
		ordinal int
		at      time.Time
	}
	want := []rem{
		{DeadlineAcknowledgement, 1, t0.Add(24 * time.Hour)},
		{DeadlineAcknowledgement, 2, t0.Add(48 * time.Hour * 8 / 10)},
		{DeadlineResolution, 1, t0.Add(15 * day / 2)},
		{DeadlineResolution, 2, t0.Add(15 * day * 8 / 10)},
	}
	got := h.fake.callsOf(ActivityRecordReminder)
	if len(got) != len(want) {
		t.Fatalf("reminders: %+v", got)
	}
	for i, c := range got {
		in := c.In.(ReminderInput)
		if in.Kind != want[i].kind || in.Ordinal != want[i].ordinal || !c.At.Equal(want[i].at) || in.CaseID != testCaseID {
			t.Fatalf("reminder %d: %+v at %v, want %+v", i, in, c.At, want[i])
		}
	}
	if len(h.fake.transitions()) != 0 {
		t.Fatalf("breach must not change state: %s", stateChain(h.fake.transitions()))
	}
	if view.State != StateReceived || !view.Overdue || view.Acknowledgement.Status != DeadlineBreached {
		t.Fatalf("query after acknowledgement breach: %+v", view)
	}
}

func TestRemindersInThePastAreSkipped(t *testing.T) {
	// The workflow starts after the first reminder time (e.g. a late start).
	h := newHarness(t, func(s *CaseSnapshot) {
		s.Acknowledgement.Reminders[0] = t0.Add(-time.Hour)
	})
	h.update(40*time.Hour, UpdateAccept, "u-accept", act(nil))
	h.stopAt(41 * time.Hour)
	h.run()
	h.requireCancelled()
	got := h.fake.callsOf(ActivityRecordReminder)
	if len(got) != 1 || got[0].In.(ReminderInput).Ordinal != 2 {
		t.Fatalf("reminders: %+v", got)
	}
}

func TestFullPath(t *testing.T) {
	h := newHarness(t)
	accept := h.update(time.Hour, UpdateAccept, "u1", act(nil))
	assign := h.update(2*time.Hour, UpdateAssign, "u2", withAssignee("user-9"))
	ask := h.update(1*day, UpdateRequestInformation, "u3", withMessage("msg-question"))
	paused := h.query(2 * day)
	replied := h.update(6*day, UpdateComplainantReplied, "u4", withMessage("msg-answer"))
	resumed := h.query(6*day + time.Hour)
	resolve := h.update(8*day, UpdateResolve, "u5", withMessage("msg-feedback"))
	closeU := h.update(9*day, UpdateClose, "u6", act(nil))
	h.run()
	h.requireEnded()
	for name, o := range map[string]*updateOutcome{"accept": accept, "assign": assign, "request_information": ask,
		"complainant_replied": replied, "resolve": resolve, "close": closeU} {
		mustOK(t, name, o)
	}

	tr := h.fake.transitions()
	wantChain := "accept:received>accepted assign:accepted>in_progress request_information:in_progress>awaiting_complainant " +
		"complainant_replied:awaiting_complainant>in_progress resolve:in_progress>resolved close:resolved>closed"
	if got := stateChain(tr); got != wantChain {
		t.Fatalf("transitions:\n got %s\nwant %s", got, wantChain)
	}
	for i, id := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		if tr[i].ActionID != id {
			t.Fatalf("transition %d ActionID %q, want the update id %q", i, tr[i].ActionID, id)
		}
	}
	if tr[1].Args.Assignee != "user-9" || assign.result.Assignee != "user-9" {
		t.Fatalf("assign: %+v / %+v", tr[1], assign.result)
	}
	// pause and resume
	if len(tr[2].DeadlineChanges) != 1 || tr[2].DeadlineChanges[0] != (DeadlineChange{Kind: DeadlineResolution, Status: DeadlinePaused}) {
		t.Fatalf("request_information changes: %+v", tr[2].DeadlineChanges)
	}
	ext := h.fake.callsOf(ActivityExtendDeadline)
	if len(ext) != 1 {
		t.Fatalf("ExtendDeadline calls: %+v", ext)
	}
	ein := ext[0].In.(ExtendInput)
	if !ein.PausedFrom.Equal(t0.Add(day)) || !ein.PausedUntil.Equal(t0.Add(6*day)) || ein.CaseID != testCaseID {
		t.Fatalf("ExtendDeadline input: %+v", ein)
	}
	newDue := t0.Add(20 * day)
	if len(tr[3].DeadlineChanges) != 1 || tr[3].DeadlineChanges[0].Status != DeadlineOpen || !tr[3].DeadlineChanges[0].DueAt.Equal(newDue) {
		t.Fatalf("complainant_replied changes: %+v", tr[3].DeadlineChanges)
	}
	if !paused.Paused || paused.State != StateAwaitingComplainant || paused.Resolution.Status != DeadlinePaused {
		t.Fatalf("query while paused: %+v", paused)
	}
	if resumed.Paused || resumed.State != StateInProgress || !resumed.Resolution.DueAt.Equal(newDue) {
		t.Fatalf("query after reply: %+v", resumed)
	}
	if tr[4].DeadlineChanges[0] != (DeadlineChange{Kind: DeadlineResolution, Status: DeadlineMet}) {
		t.Fatalf("resolve changes: %+v", tr[4].DeadlineChanges)
	}
	// notices: acknowledgement, information request, result
	var kinds []string
	for _, n := range h.fake.notices() {
		kinds = append(kinds, n.Kind+"/"+n.MessageID)
	}
	if got := strings.Join(kinds, " "); got != "acknowledgement/ information_request/msg-question result/msg-feedback" {
		t.Fatalf("notices: %s", got)
	}
	if b := h.fake.callsOf(ActivityRecordBreach); len(b) != 0 {
		t.Fatalf("breaches: %+v", b)
	}
}

func TestPauseMovesResolutionDeadline(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	h.update(2*time.Hour, UpdateAssign, "u2", withAssignee("user-9"))
	h.update(1*day, UpdateRequestInformation, "u3", withMessage("msg-q"))
	replied := h.update(6*day, UpdateComplainantReplied, "u4", withMessage("msg-a"))
	h.stopAt(25 * day)
	h.run()
	h.requireCancelled()
	mustOK(t, "complainant_replied", replied)

	oldDue, newDue := t0.Add(15*day), t0.Add(20*day)
	ext := h.fake.callsOf(ActivityExtendDeadline)
	if len(ext) != 1 {
		t.Fatalf("ExtendDeadline calls: %d", len(ext))
	}
	if in := ext[0].In.(ExtendInput); !in.PausedFrom.Equal(t0.Add(day)) || !in.PausedUntil.Equal(t0.Add(6*day)) {
		t.Fatalf("ExtendDeadline input: %+v", in)
	}
	breaches := h.fake.callsOf(ActivityRecordBreach)
	if len(breaches) != 1 {
		t.Fatalf("breaches: %+v", breaches)
	}
	b := breaches[0].In.(BreachInput)
	if breaches[0].At.Equal(oldDue) {
		t.Fatal("breach recorded at the old due time")
	}
	if b.Kind != DeadlineResolution || !b.DueAt.Equal(newDue) || !breaches[0].At.Equal(newDue) {
		t.Fatalf("breach %+v at %v, want resolution at %v", b, breaches[0].At, newDue)
	}
	// Resolution reminders: none while paused; after resuming, the
	// recomputed ones (shifted by the pause) fire.
	var res []call
	for _, c := range h.fake.callsOf(ActivityRecordReminder) {
		if c.In.(ReminderInput).Kind == DeadlineResolution {
			res = append(res, c)
		}
	}
	if len(res) != 2 || !res[0].At.Equal(t0.Add(15*day/2+5*day)) || !res[1].At.Equal(t0.Add(15*day*8/10+5*day)) ||
		res[0].In.(ReminderInput).Ordinal != 1 || res[1].In.(ReminderInput).Ordinal != 2 ||
		!res[1].In.(ReminderInput).DueAt.Equal(newDue) {
		t.Fatalf("resolution reminders: %+v", res)
	}
}

func TestNonPausableRuleDoesNotPause(t *testing.T) {
	h := newHarness(t, func(s *CaseSnapshot) { s.Resolution.Pausable = false })
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	h.update(2*time.Hour, UpdateAssign, "u2", withAssignee("user-9"))
	ask := h.update(1*day, UpdateRequestInformation, "u3", withMessage("msg-q"))
	view := h.query(2 * day)
	replied := h.update(6*day, UpdateComplainantReplied, "u4", withMessage("msg-a"))
	h.stopAt(25 * day)
	h.run()
	h.requireCancelled()
	mustOK(t, "request_information", ask)
	mustOK(t, "complainant_replied", replied)

	tr := h.fake.transitions()
	if len(tr[2].DeadlineChanges) != 0 || len(tr[3].DeadlineChanges) != 0 {
		t.Fatalf("deadline changes on a non-pausable rule: %+v / %+v", tr[2].DeadlineChanges, tr[3].DeadlineChanges)
	}
	if n := len(h.fake.callsOf(ActivityExtendDeadline)); n != 0 {
		t.Fatalf("ExtendDeadline called %d times", n)
	}
	if view.Paused || view.Resolution.Status != DeadlineOpen || view.State != StateAwaitingComplainant {
		t.Fatalf("query while awaiting: %+v", view)
	}
	breaches := h.fake.callsOf(ActivityRecordBreach)
	if len(breaches) != 1 || !breaches[0].At.Equal(t0.Add(15*day)) {
		t.Fatalf("breaches: %+v", breaches)
	}
}

func TestValidatorRejectsIllegalTransitions(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(h *harness) // legal steps before the illegal one, at t0+1h..
		update  string
		action  Action
		want    string
		applied int // ApplyTransition calls expected in total (setup only)
	}{
		{
			name: "resolve in received", update: UpdateResolve, action: withMessage("msg-f"),
			want: "cannot resolve a case in state received: accept and assign it first",
		},
		{
			name: "close in in_progress",
			setup: func(h *harness) {
				h.update(time.Hour, UpdateAccept, "s1", act(nil))
				h.update(2*time.Hour, UpdateAssign, "s2", withAssignee("user-9"))
			},
			update: UpdateClose, action: act(nil),
			want: "cannot close a case in state in_progress: only a resolved case can be closed", applied: 2,
		},
		{
			name: "merge into itself", update: UpdateMerge,
			action: act(func(a *Action) { a.PrimaryCaseID = testCaseID }),
			want:   "cannot merge case " + testCaseID + " into itself",
		},
		{
			name: "reject without reason code", update: UpdateReject, action: withMessage("msg-r"),
			want: "reject requires a reason code",
		},
		{
			name: "assign without assignee", update: UpdateAssign, action: act(nil),
			want: "cannot assign a case in state received: accept it first",
		},
		{
			name: "reply without message", update: UpdateReply, action: act(nil),
			want: "reply requires the reply text",
		},
		{
			name: "accept without actor", update: UpdateAccept, action: Action{},
			want: "accept requires the acting principal",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			o := h.update(3*time.Hour, tc.update, "bad", tc.action)
			h.stopAt(4 * time.Hour)
			h.run()
			h.requireCancelled()
			mustReject(t, tc.update, o, tc.want)
			if tr := h.fake.transitions(); len(tr) != tc.applied {
				t.Fatalf("ApplyTransition called for a rejected update: %s", stateChain(tr))
			}
			for _, n := range h.fake.notices() {
				if n.Kind != NoticeAcknowledgement {
					t.Fatalf("notice sent for a rejected update: %+v", n)
				}
			}
		})
	}
}

func TestConcurrentUpdatesAreSerialized(t *testing.T) {
	h := newHarness(t)
	var first, second updateOutcome
	cb := func(out *updateOutcome) *testsuite.TestUpdateCallback {
		return &testsuite.TestUpdateCallback{
			OnAccept:   func() { out.accepted = true },
			OnReject:   func(err error) { out.rejectErr = err },
			OnComplete: func(_ any, err error) { out.completed = true; out.err = err },
		}
	}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateAccept, "c1", cb(&first), h.seal(UpdateAccept, "c1", act(nil)))
		h.env.UpdateWorkflow(UpdateMerge, "c2", cb(&second), h.seal(UpdateMerge, "c2", act(func(a *Action) { a.PrimaryCaseID = "other-case" })))
	}, time.Hour)
	h.stopAt(2 * time.Hour)
	h.run()
	h.requireCancelled()
	mustOK(t, "accept", &first)
	mustReject(t, "merge", &second, "in progress")
	if tr := h.fake.transitions(); len(tr) != 1 || tr[0].ActionID != "c1" {
		t.Fatalf("transitions: %s", stateChain(tr))
	}
}

func TestAutoCloseAfterQuietPeriod(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	h.update(2*time.Hour, UpdateAssign, "u2", withAssignee("user-9"))
	resolve := h.update(3*day, UpdateResolve, "u3", withMessage("msg-f"))
	h.run()
	h.requireEnded()
	mustOK(t, "resolve", resolve)

	tr := h.fake.transitions()
	last := tr[len(tr)-1]
	if last.Action != ActionAutoClose || last.FromState != StateResolved || last.ToState != StateClosed ||
		!last.At.Equal(t0.Add(10*day)) || last.ActionID == "" || last.Args.Actor != SystemActor {
		t.Fatalf("auto close: %+v", last)
	}
	if h.fake.snap.State != StateClosed {
		t.Fatalf("record state %s", h.fake.snap.State)
	}
}

func TestReplyWhileResolvedRestartsQuietPeriod(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	h.update(2*time.Hour, UpdateAssign, "u2", withAssignee("user-9"))
	h.update(3*day, UpdateResolve, "u3", withMessage("msg-f"))
	reply := h.update(5*day, UpdateReply, "u4", withMessage("msg-more"))
	h.run()
	h.requireEnded()
	mustOK(t, "reply", reply)
	tr := h.fake.transitions()
	last := tr[len(tr)-1]
	if last.Action != ActionAutoClose || !last.At.Equal(t0.Add(12*day)) {
		t.Fatalf("auto close: %+v", last)
	}
}

func TestReopenThenResolveAgain(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	h.update(2*time.Hour, UpdateAssign, "u2", withAssignee("user-9"))
	h.update(3*day, UpdateResolve, "u3", withMessage("msg-f1"))
	reopen := h.update(4*day, UpdateReopen, "u4", act(nil))
	badResolve := h.update(5*day, UpdateResolve, "u5", withMessage("msg-x"))
	// Stays reopened past the original resolution due time: no breach, the
	// resolution deadline stays met.
	view := h.query(16 * day)
	h.update(16*day, UpdateAssign, "u6", withAssignee("user-3"))
	resolve2 := h.update(17*day, UpdateResolve, "u7", withMessage("msg-f2"))
	h.update(18*day, UpdateClose, "u8", act(nil))
	h.run()
	h.requireEnded()
	mustOK(t, "reopen", reopen)
	mustReject(t, "resolve in reopened", badResolve, "cannot resolve a case in state reopened: assign it first")
	mustOK(t, "second resolve", resolve2)

	want := "accept:received>accepted assign:accepted>in_progress resolve:in_progress>resolved reopen:resolved>reopened " +
		"assign:reopened>in_progress resolve:in_progress>resolved close:resolved>closed"
	tr := h.fake.transitions()
	if got := stateChain(tr); got != want {
		t.Fatalf("transitions:\n got %s\nwant %s", got, want)
	}
	if len(tr[3].DeadlineChanges) != 0 || len(tr[5].DeadlineChanges) != 0 {
		t.Fatalf("reopen / second resolve touched deadlines: %+v / %+v", tr[3].DeadlineChanges, tr[5].DeadlineChanges)
	}
	if b := h.fake.callsOf(ActivityRecordBreach); len(b) != 0 {
		t.Fatalf("breach after the resolution deadline was met: %+v", b)
	}
	if view.State != StateReopened || view.Resolution.Status != DeadlineMet {
		t.Fatalf("query while reopened: %+v", view)
	}
	var results []string
	for _, n := range h.fake.notices() {
		if n.Kind == NoticeResult {
			results = append(results, n.MessageID)
		}
	}
	if strings.Join(results, ",") != "msg-f1,msg-f2" {
		t.Fatalf("result notices: %v", results)
	}
}

func TestRejectEndsWorkflowWithRejectionNotice(t *testing.T) {
	h := newHarness(t)
	reject := h.update(3*time.Hour, UpdateReject, "u-rej", act(func(a *Action) {
		a.ReasonCode = "out_of_scope"
		a.MessageID = "msg-reason"
	}))
	h.run()
	h.requireEnded()
	mustOK(t, "reject", reject)
	if reject.result.State != StateRejected {
		t.Fatalf("reject result: %+v", reject.result)
	}
	tr := h.fake.transitions()
	if len(tr) != 1 || tr[0].ActionID != "u-rej" || tr[0].Args.ReasonCode != "out_of_scope" ||
		len(tr[0].DeadlineChanges) != 1 || tr[0].DeadlineChanges[0] != (DeadlineChange{Kind: DeadlineAcknowledgement, Status: DeadlineMet}) {
		t.Fatalf("reject transition: %+v", tr)
	}
	n := h.fake.notices()
	if len(n) != 2 || n[1].Kind != NoticeRejection || n[1].MessageID != "msg-reason" || n[1].DedupeKey != "rejection/"+testCaseID {
		t.Fatalf("notices: %+v", n)
	}
	if b := h.fake.callsOf(ActivityRecordBreach); len(b) != 0 {
		t.Fatalf("breaches: %+v", b)
	}
}

func TestMergeEndsWorkflow(t *testing.T) {
	h := newHarness(t)
	merge := h.update(time.Hour, UpdateMerge, "u-merge", act(func(a *Action) { a.PrimaryCaseID = "primary-case" }))
	h.run()
	h.requireEnded()
	mustOK(t, "merge", merge)
	tr := h.fake.transitions()
	if len(tr) != 1 || tr[0].ToState != StateMerged || tr[0].Args.PrimaryCaseID != "primary-case" {
		t.Fatalf("merge: %+v", tr)
	}
}

func TestReplyRecordsWithoutStateChange(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	reply := h.update(2*time.Hour, UpdateReply, "u-reply", withMessage("msg-r1"))
	h.stopAt(3 * time.Hour)
	h.run()
	h.requireCancelled()
	mustOK(t, "reply", reply)
	n := h.fake.notices()
	if len(n) != 2 || n[1] != (NoticeInput{CaseID: testCaseID, Kind: NoticeReply, MessageID: "msg-r1", DedupeKey: "reply/msg-r1"}) {
		t.Fatalf("notices: %+v", n)
	}
	tr := h.fake.transitions()
	if len(tr) != 2 || tr[1].Action != UpdateReply || tr[1].FromState != StateAccepted || tr[1].ToState != StateAccepted ||
		tr[1].ActionID != "u-reply" || tr[1].Args.MessageID != "msg-r1" {
		t.Fatalf("reply transition: %+v", tr)
	}
	if reply.result.Version != 3 {
		t.Fatalf("reply result: %+v", reply.result)
	}
}

func TestTransitionRetryIsIdempotent(t *testing.T) {
	h := newHarness(t)
	h.fake.failFirstApply = true
	accept := h.update(time.Hour, UpdateAccept, "u-accept-retry", act(nil))
	h.stopAt(2 * time.Hour)
	h.run()
	h.requireCancelled()
	mustOK(t, "accept", accept)
	tr := h.fake.transitions()
	if len(tr) != 2 {
		t.Fatalf("want one failed attempt and one retry, got %d calls", len(tr))
	}
	for _, in := range tr {
		if in.ActionID != "u-accept-retry" {
			t.Fatalf("ActionID %q, want the update id", in.ActionID)
		}
	}
	if accept.result.Version != 2 || h.fake.snap.Version != 2 {
		t.Fatalf("retry wrote twice: result version %d, record version %d", accept.result.Version, h.fake.snap.Version)
	}
}

// The next run gets the case id and the newest start path, whatever path
// this run took (here the oldest the input can name).
func TestContinueAsNewCarriesCaseIDAndNewestStart(t *testing.T) {
	h := newHarness(t)
	h.env.SetContinueAsNewSuggested(true)
	h.runWith(Input{CaseID: testCaseID, Start: leanStartLocalLoad})
	var can *workflow.ContinueAsNewError
	if !errors.As(h.env.GetWorkflowError(), &can) {
		t.Fatalf("want continue-as-new, got %v", h.env.GetWorkflowError())
	}
	if can.WorkflowType.Name != WorkflowName {
		t.Fatalf("continue-as-new type %q", can.WorkflowType.Name)
	}
	var in Input
	if err := converterDecode(can, &in); err != nil {
		t.Fatal(err)
	}
	if in != (Input{CaseID: testCaseID, Start: CurrentStart}) {
		t.Fatalf("continue-as-new input %+v", in)
	}
}

func TestNoContinueAsNewWhilePaused(t *testing.T) {
	h := newHarness(t, func(s *CaseSnapshot) {
		s.State = StateInProgress
		s.Acknowledgement.Status = DeadlineMet
	})
	ask := h.update(time.Hour, UpdateRequestInformation, "u1", withMessage("msg-q"))
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 2*time.Hour)
	replied := h.update(3*day, UpdateComplainantReplied, "u2", withMessage("msg-a"))
	h.run()
	mustOK(t, "request_information", ask)
	mustOK(t, "complainant_replied", replied)
	var can *workflow.ContinueAsNewError
	if !errors.As(h.env.GetWorkflowError(), &can) {
		t.Fatalf("want continue-as-new after the clock resumed, got %v", h.env.GetWorkflowError())
	}
	if n := len(h.fake.callsOf(ActivityExtendDeadline)); n != 1 {
		t.Fatalf("ExtendDeadline calls: %d", n)
	}
}

func TestUnknownCaseFails(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(WorkflowName, Input{CaseID: "no-such-case"})
	var ae *temporal.ApplicationError
	if err := h.env.GetWorkflowError(); !errors.As(err, &ae) || ae.Type() != ErrTypeCaseNotFound {
		t.Fatalf("want CaseNotFound, got %v", err)
	}
}

func TestUnknownStartPathFails(t *testing.T) {
	for _, start := range []workflow.Version{workflow.DefaultVersion, CurrentStart + 1} {
		h := newHarness(t)
		h.env.ExecuteWorkflow(WorkflowName, Input{CaseID: testCaseID, Start: start})
		var ae *temporal.ApplicationError
		if err := h.env.GetWorkflowError(); !errors.As(err, &ae) || ae.Type() != ErrTypeInvalidInput || !ae.NonRetryable() {
			t.Fatalf("start path %d: want a non-retryable InvalidInput, got %v", start, err)
		}
		if n := len(h.fake.callsOf(ActivityLoadCase)); n != 0 {
			t.Fatalf("start path %d: the case was loaded %d times", start, n)
		}
	}
}

func TestCheckActionIsPure(t *testing.T) {
	// Every (state, action) pair either yields a target state or an error,
	// and terminal states accept nothing.
	states := []string{StateReceived, StateAccepted, StateRejected, StateInProgress, StateAwaitingComplainant,
		StateResolved, StateReopened, StateClosed, StateMerged}
	full := Action{Actor: agent, MessageID: "m", ReasonCode: "r", Assignee: "u", PrimaryCaseID: "p"}
	for _, s := range states {
		for _, u := range []string{UpdateAccept, UpdateReject, UpdateAssign, UpdateRequestInformation, UpdateComplainantReplied,
			UpdateResolve, UpdateClose, UpdateReopen, UpdateMerge, UpdateReply} {
			to, err := checkAction(testCaseID, s, u, full)
			if isTerminal(s) && err == nil {
				t.Fatalf("%s allowed in terminal state %s", u, s)
			}
			if err == nil && to == "" {
				t.Fatalf("%s in %s: no target state", u, s)
			}
		}
	}
}

func converterDecode(can *workflow.ContinueAsNewError, out *Input) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, out)
}

func TestLateAcceptMarksMetAndStaysOverdue(t *testing.T) {
	h := newHarness(t)
	accept := h.update(3*day, UpdateAccept, "u-late", act(nil))
	view := h.query(3*day + time.Hour)
	h.stopAt(4 * day)
	h.run()
	h.requireCancelled()
	mustOK(t, "accept", accept)
	tr := h.fake.transitions()
	// The record marks it met and keeps the breach time (worker's applyDeadlineChange).
	if len(tr) != 1 || len(tr[0].DeadlineChanges) != 1 ||
		tr[0].DeadlineChanges[0] != (DeadlineChange{Kind: DeadlineAcknowledgement, Status: DeadlineMet}) {
		t.Fatalf("late accept deadline changes: %+v", tr)
	}
	if b := h.fake.callsOf(ActivityRecordBreach); len(b) != 1 {
		t.Fatalf("breaches: %+v", b)
	}
	if view.State != StateAccepted || !view.Overdue || view.Acknowledgement.Status != DeadlineMet {
		t.Fatalf("query after late accept: %+v", view)
	}
}

func TestDedupeKeys(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	h.update(2*time.Hour, UpdateAssign, "u2", withAssignee("user-9"))
	h.update(1*day, UpdateRequestInformation, "u3", withMessage("msg-q"))
	h.update(2*day, UpdateComplainantReplied, "u4", withMessage("msg-a"))
	h.update(3*day, UpdateReply, "u5", withMessage("msg-r"))
	h.update(4*day, UpdateResolve, "u6", withMessage("msg-f"))
	h.update(5*day, UpdateClose, "u7", act(nil))
	h.run()
	h.requireEnded()
	var got []string
	for _, n := range h.fake.notices() {
		got = append(got, n.Kind+"="+n.DedupeKey)
	}
	want := "acknowledgement=" + testCaseID + "/acknowledgement information_request=info/msg-q reply=reply/msg-r result=result/msg-f"
	if strings.Join(got, " ") != want {
		t.Fatalf("notices:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestReplyWritesBeforeSending(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, UpdateAccept, "u1", act(nil))
	h.update(2*time.Hour, UpdateReply, "u-reply", withMessage("msg-r1"))
	h.stopAt(3 * time.Hour)
	h.run()
	h.requireCancelled()
	var order []string
	for _, c := range h.fake.calls {
		switch in := c.In.(type) {
		case TransitionInput:
			order = append(order, "apply:"+in.Action)
		case NoticeInput:
			order = append(order, "notice:"+in.Kind)
		}
	}
	if got := strings.Join(order, " "); got != "notice:acknowledgement apply:accept apply:reply notice:reply" {
		t.Fatalf("call order: %s", got)
	}
}

// A notifier outage holds up neither the actions on the case nor the end of
// the workflow past the notices: the update completes once the transition is
// written, the notices go out in order when the notifier is back, and the
// workflow ends only after the last one.
func TestNoticeOutageDoesNotBlockActions(t *testing.T) {
	h := newHarness(t)
	h.fake.noticeFailures = 8 // 1+2+4+8+16+32+60+60 s of backoff on the acknowledgement
	accept := h.update(time.Second, UpdateAccept, "u1", act(nil))
	reply := h.update(2*time.Second, UpdateReply, "u2", withMessage("msg-r"))
	h.stopAt(time.Hour)
	h.run()
	h.requireCancelled()
	mustOK(t, "accept", accept)
	mustOK(t, "reply", reply)
	applies := h.fake.callsOf(ActivityApplyTransition)
	if len(applies) != 2 || !applies[0].At.Equal(t0.Add(time.Second)) || !applies[1].At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("transitions written at %+v, want at once", applies)
	}
	var sent []string
	for _, n := range h.fake.notices() {
		sent = append(sent, n.Kind)
	}
	if len(sent) != 10 || sent[8] != NoticeAcknowledgement || sent[9] != NoticeReply {
		t.Fatalf("notice attempts: %v", sent)
	}
}

func TestRejectEndsOnlyAfterItsNoticeIsSent(t *testing.T) {
	h := newHarness(t)
	h.fake.noticeFailures = 3 // acknowledgement retried: 1s, 2s, 4s
	reject := h.update(time.Second, UpdateReject, "u1", act(func(a *Action) { a.ReasonCode = "dup"; a.MessageID = "m" }))
	h.run()
	h.requireEnded()
	mustOK(t, "reject", reject)
	if tr := h.fake.transitions(); len(tr) != 1 || !h.fake.callsOf(ActivityApplyTransition)[0].At.Equal(t0.Add(time.Second)) {
		t.Fatalf("reject not written at once: %+v", tr)
	}
	n := h.fake.notices()
	if len(n) != 5 || n[3].Kind != NoticeAcknowledgement || n[4].Kind != NoticeRejection {
		t.Fatalf("notices: %+v", n)
	}
}

// An action sent right after the workflow starts (the service starts the
// workflow and acts at once) waits for LoadCase and is checked then.
func TestUpdateBeforeLoadWaitsForTheCase(t *testing.T) {
	h := newHarness(t)
	h.fake.loadDelay = 200 * time.Millisecond
	accept := h.update(0, UpdateAccept, "u-early", act(nil))
	resolve := h.update(0, UpdateResolve, "u-early-2", withMessage("m"))
	h.stopAt(time.Hour)
	h.run()
	h.requireCancelled()
	mustOK(t, "early accept", accept)
	if resolve.completed && resolve.err == nil {
		t.Fatalf("early resolve succeeded")
	}
	tr := h.fake.transitions()
	if len(tr) != 1 || tr[0].ActionID != "u-early" || tr[0].FromState != StateReceived {
		t.Fatalf("transitions: %+v", tr)
	}
}

// Only actions the services signed reach the case: an unsigned, forged,
// expired, altered, or other-case action (or one signed for another update)
// is refused by the validator and nothing is written; the signed one passes.
func TestUnsignedOrForgedActionsAreRefused(t *testing.T) {
	h := newHarness(t)
	const name = UpdateAccept
	a := act(func(a *Action) { a.Actor = "sup.wang" })
	other := []byte("not-the-services-key-but-just-as-long-0123456789")
	at := func(after time.Duration, id string, arg func() Action) *updateOutcome {
		return h.updateAs(after, name, id, arg)
	}
	unsigned := at(time.Hour, "f1", func() Action { return a })
	forged := at(time.Hour+time.Minute, "f2", func() Action {
		return sealWith(t, other, WorkflowID(testCaseID), name, "f2", h.env.Now().Add(time.Minute), a)
	})
	expired := at(time.Hour+2*time.Minute, "f3", func() Action {
		return sealWith(t, testKey, WorkflowID(testCaseID), name, "f3", h.env.Now().Add(-time.Second), a)
	})
	otherCase := at(time.Hour+3*time.Minute, "f4", func() Action {
		return sealWith(t, testKey, WorkflowID("0b0c9d2e-1111-4222-8333-944455556666"), name, "f4", h.env.Now().Add(time.Minute), a)
	})
	otherUpdateID := at(time.Hour+4*time.Minute, "f5", func() Action {
		return sealWith(t, testKey, WorkflowID(testCaseID), name, "not-f5", h.env.Now().Add(time.Minute), a)
	})
	altered := at(time.Hour+5*time.Minute, "f6", func() Action {
		s := sealWith(t, testKey, WorkflowID(testCaseID), name, "f6", h.env.Now().Add(time.Minute), act(nil))
		s.Actor = "sup.wang" // signed for agent, sent as someone else
		return s
	})
	tooLong := at(time.Hour+6*time.Minute, "f7", func() Action {
		return sealWith(t, testKey, WorkflowID(testCaseID), name, "f7", h.env.Now().Add(time.Hour), a)
	})
	signed := h.update(2*time.Hour, name, "ok", a)
	h.stopAt(3 * time.Hour)
	h.run()
	h.requireCancelled()
	mustReject(t, "unsigned", unsigned, "not signed")
	mustReject(t, "forged", forged, "does not verify")
	mustReject(t, "expired", expired, "expired")
	mustReject(t, "other case", otherCase, "does not verify")
	mustReject(t, "other update id", otherUpdateID, "does not verify")
	mustReject(t, "altered actor", altered, "does not verify")
	mustReject(t, "expiry too far ahead", tooLong, "ahead")
	mustOK(t, "signed accept", signed)
	if tr := h.fake.transitions(); len(tr) != 1 || tr[0].ActionID != "ok" || tr[0].Args.Actor != "sup.wang" {
		t.Fatalf("transitions: %s", stateChain(tr))
	}
}

// listenActivities records the names of the local and the remote activities
// the workflow runs.
func listenActivities(h *harness) (local, remote *[]string) {
	local, remote = &[]string{}, &[]string{}
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		*local = append(*local, info.ActivityType.Name)
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		*remote = append(*remote, info.ActivityType.Name)
	})
	return local, remote
}

// runNewCaseForAnHour runs a new case for an hour, checks that it was loaded
// and acknowledged by local activities in its first workflow task, and
// answers the activities that ran as activity tasks.
func runNewCaseForAnHour(t *testing.T, h *harness) []string {
	t.Helper()
	return runNewCaseForAnHourWith(t, h, Input{CaseID: testCaseID, Start: CurrentStart})
}

func runNewCaseForAnHourWith(t *testing.T, h *harness, in Input) []string {
	t.Helper()
	local, remote := listenActivities(h)
	h.stopAt(time.Hour)
	h.runWith(in)
	h.requireCancelled()
	if want := []string{ActivityLoadCase, ActivitySendNotice}; !slices.Equal(*local, want) {
		t.Fatalf("local activities %v, want %v", *local, want)
	}
	return *remote
}

// A run started without a start path (by a starter older than
// Input.Start) asks workflow.GetVersion, which on its first task answers the
// newest path, and takes it.
func TestRunWithoutStartPathTakesTheNewest(t *testing.T) {
	h := newHarness(t)
	if remote := runNewCaseForAnHourWith(t, h, Input{CaseID: testCaseID}); len(remote) != 0 {
		t.Fatalf("activities %v ran as activity tasks", remote)
	}
}

// A new case is loaded and acknowledged inside the first workflow task
// (local activities), so its deadline timers and its acknowledgement leave
// with that task: no activity task, no second workflow task.
func TestNewCaseTakesOneWorkflowTask(t *testing.T) {
	h := newHarness(t)
	remote := runNewCaseForAnHour(t, h)
	if len(remote) != 0 {
		t.Fatalf("activities %v also ran as activity tasks", remote)
	}
	if n := h.fake.notices(); len(n) != 1 || n[0].Kind != NoticeAcknowledgement {
		t.Fatalf("notices: %+v", n)
	}
}

// When the inline attempt fails (notifier down, or slower than
// InlineNoticeTimeout), the acknowledgement is not lost: the notice loop's
// activity retries it until it is sent.
func TestInlineAcknowledgementFallsBackToTheActivity(t *testing.T) {
	h := newHarness(t)
	h.fake.noticeFailures = 2 // the inline attempt and the activity's first
	remote := runNewCaseForAnHour(t, h)
	if want := []string{ActivitySendNotice, ActivitySendNotice}; !slices.Equal(remote, want) {
		t.Fatalf("activity tasks %v, want the acknowledgement retried: %v", remote, want)
	}
	n := h.fake.notices()
	if len(n) != 3 || n[2].Kind != NoticeAcknowledgement || h.fake.noticeFailures != 0 {
		t.Fatalf("notice attempts: %+v", n)
	}
}

// A notice queued while the acknowledgement's inline attempt runs (a case
// rejected at once) waits behind it, and behind the retries of a failed
// attempt: the complainant never hears the result before the receipt.
func TestNoNoticeOvertakesTheInlineAcknowledgement(t *testing.T) {
	h := newHarness(t)
	h.fake.ackDelay = 300 * time.Millisecond
	h.fake.noticeFailures = 1 // the inline attempt
	reject := h.update(0, UpdateReject, "u1", act(func(a *Action) { a.ReasonCode = "dup"; a.MessageID = "m" }))
	h.run()
	h.requireEnded()
	mustOK(t, "reject", reject)
	var kinds []string
	for _, n := range h.fake.notices() {
		kinds = append(kinds, n.Kind)
	}
	if want := []string{NoticeAcknowledgement, NoticeAcknowledgement, NoticeRejection}; !slices.Equal(kinds, want) {
		t.Fatalf("notice attempts %v, want %v", kinds, want)
	}
}
