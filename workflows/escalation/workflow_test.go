package escalation

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/redress/redress/workflows/command"
)

// record is an in-memory escalation record behind the activities, so the
// workflow's logic (timers, re-submission, alert, update validation) is
// tested with time skipping; the database-backed activities have their own
// end-to-end tests.
type record struct {
	mu        sync.Mutex
	snap      Snapshot
	submits   int
	outcome   string // what each submission answers
	actions   []string
	notified  int
	overdueAt time.Time
	duties    []string          // duty reminders and breaches: "type duty mark @time"
	opened    map[string]string // dedupe key → escalation id
}

func (r *record) LoadEscalation(ctx context.Context, id string) (Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snap, nil
}

func (r *record) BuildPackage(ctx context.Context, id string) (string, error) { return "sha", nil }

func (r *record) Submit(ctx context.Context, in SubmitInput) (SubmitResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.submits++
	if r.outcome == "reject" {
		return SubmitResult{}, temporal.NewNonRetryableApplicationError("422", ErrTypeRejected, nil)
	}
	r.snap.Attempts = in.Attempt
	r.snap.Version++
	switch r.outcome {
	case OutcomeAccepted:
		r.snap.Status = StatusFiled
	case OutcomeAcknowledged:
		r.snap.Status = StatusAcknowledged
	}
	if r.snap.Status != StatusOpen && r.snap.FiledAt == nil {
		now := time.Now()
		r.snap.FiledAt = &now
	}
	return SubmitResult{Outcome: r.outcome, Snapshot: r.snap}, nil
}

func (r *record) ApplyAction(ctx context.Context, in ActionInput) (Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, in.Action.Type)
	switch in.Action.Type {
	case ActAcknowledge:
		r.snap.Status = StatusAcknowledged
	case ActRecordFiling:
		r.snap.Status, r.snap.FiledAt = StatusFiled, &in.Action.At
	case ActGrade:
		r.snap.AwaitingGrade = false
		due, err := IncidentDeadline(in.Action.OperatorClass, r.snap.ClockStart)
		if err != nil {
			return r.snap, err
		}
		r.snap.DueAt = &due
		if r.snap.BelowThreshold = BelowReportThreshold(in.Action.Severity); r.snap.BelowThreshold {
			r.snap.DueAt = nil
		}
	case ActSetDiscovery: // the tests' incidents are of class other (4 h)
		r.snap.ClockStart = in.Action.DiscoveredAt
		due, _ := IncidentDeadline(ClassOther, r.snap.ClockStart)
		r.snap.DueAt = &due
	case ActDutyReminder, ActDutyBreached:
		r.duties = append(r.duties, fmt.Sprintf("%s %s %s @%s", in.Action.Type, in.Action.Reference, in.Action.Step, in.Action.At.UTC().Format(time.RFC3339)))
	case ActClose:
		r.snap.Status = StatusClosed
	case ActSupervisorAlert:
		r.snap.Alerted = true
	case ActNotifyDecision:
		r.snap.NotifyDecision = in.Action.Decision
	case ActFollowUpOverdue:
		r.overdueAt = in.Action.At
		r.duties = append(r.duties, fmt.Sprintf("%s %s @%s", in.Action.Type, in.Action.FollowUpID, in.Action.At.UTC().Format(time.RFC3339)))
	}
	r.snap.Version++
	return r.snap, nil
}

func (r *record) NotifyIndividuals(ctx context.Context, id string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notified++
	return 1, nil
}

// OpenEscalation keeps the first opening's id per dedupe key.
func (r *record) OpenEscalation(ctx context.Context, in OpenInput) (Opened, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opened == nil {
		r.opened = map[string]string{}
	}
	if id, ok := r.opened[in.Opening.DedupeKey]; ok {
		return Opened{EscalationID: id}, nil
	}
	r.opened[in.Opening.DedupeKey] = in.EscalationID
	r.snap.ID, r.snap.Kind, r.snap.Status = in.EscalationID, in.Opening.Kind, StatusOpen
	return Opened{EscalationID: in.EscalationID, Timing: Timing{AckWait: time.Hour}}, nil
}

func newEnv(t *testing.T, r *record) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	v, err := command.NewVerifier(testKey)
	if err != nil {
		t.Fatal(err)
	}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testWorkflowID})
	// The escalation opened when the run starts unless the test says otherwise.
	env.SetStartTime(testStart)
	if r.snap.ClockStart.IsZero() {
		r.snap.ClockStart = testStart
	}
	Register(env, r, v)
	return env
}

// testKey is the command key of the tests (the services' signer holds the
// same in production); testWorkflowID the workflow id they run under.
var testKey = []byte("escalation-workflow-test-command-key-0123456789")

const testWorkflowID = "escalation/test"

var testStart = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

func sealWith(t *testing.T, key []byte, workflowID, id string, expires time.Time, a Action) Action {
	t.Helper()
	seal, err := command.Sign(key, command.Command{
		WorkflowID: workflowID, Update: UpdateAct, UpdateID: id, Actor: a.Actor, Expires: expires,
	}, a.unsealed())
	if err != nil {
		t.Fatal(err)
	}
	a.Seal = seal
	return a
}

// update sends a signed action, as the escalation service does.
func update(env *testsuite.TestWorkflowEnvironment, after time.Duration, a Action, wantErr bool, t *testing.T) {
	updateAs(env, after, a, func() Action { return sealWith(t, testKey, testWorkflowID, a.ID, env.Now().Add(time.Minute), a) }, wantErr, t)
}

// updateAs sends a's update with the argument built at that time.
func updateAs(env *testsuite.TestWorkflowEnvironment, after time.Duration, a Action, arg func() Action, wantErr bool, t *testing.T) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAct, a.ID, &testsuite.TestUpdateCallback{
			OnAccept: func() {
				if wantErr {
					t.Errorf("%s accepted, want refused", a.Type)
				}
			},
			OnReject: func(err error) {
				if !wantErr {
					t.Errorf("%s refused: %v", a.Type, err)
				}
			},
			OnComplete: func(any, error) {},
		}, arg())
	}, after)
}

// No acknowledgement ever comes: a reminder at half of each wait, two
// re-submissions with the same escalation, then one supervisor alert; the
// escalation stays open for people until it is closed.
func TestNoAcknowledgementResubmitsThenAlertsSupervisor(t *testing.T) {
	r := &record{snap: Snapshot{ID: "e1", Kind: KindSLABreach, Status: StatusOpen}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	wait := 10 * time.Hour
	// Refused before anything is written: a filing reference for an HTTPS filing, a step on a breach.
	update(env, time.Hour, Action{ID: "u1", Type: ActRecordFiling, Reference: "X"}, true, t)
	update(env, time.Hour, Action{ID: "u2", Type: ActRecordStep, Step: "stop"}, true, t)
	update(env, 100*time.Hour, Action{ID: "u3", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e1", Timing: Timing{AckWait: wait, Resubmissions: 2}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{ActAckReminder, ActAckReminder, ActAckReminder, ActSupervisorAlert, ActClose}
	if r.submits != 3 || !equal(r.actions, want) {
		t.Fatalf("submits %d actions %v; want 3 and %v", r.submits, r.actions, want)
	}
}

// An acknowledgement recorded during the wait stops the clock: no
// re-submission, no alert.
func TestAcknowledgementDuringWaitStopsResubmission(t *testing.T) {
	r := &record{snap: Snapshot{ID: "e2", Kind: KindManual, Status: StatusOpen}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	update(env, 2*time.Hour, Action{ID: "a1", Type: ActAcknowledge, Reference: "ACK"}, false, t)
	update(env, 3*time.Hour, Action{ID: "a2", Type: ActAcknowledge, Reference: "ACK"}, true, t) // already acknowledged
	update(env, 48*time.Hour, Action{ID: "a3", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e2", Timing: Timing{AckWait: 24 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 1 || !equal(r.actions, []string{ActAcknowledge, ActClose}) {
		t.Fatalf("submits %d actions %v", r.submits, r.actions)
	}
}

// A manual filing waits for the officer's reference; an incident whose
// decision is to notify sends the notices once.
func TestManualFilingAndIncidentNotice(t *testing.T) {
	r := &record{snap: Snapshot{ID: "e3", Kind: KindIncident, Status: StatusOpen, Adapter: AdapterManual}, outcome: OutcomeReadyInManual}
	env := newEnv(t, r)
	update(env, time.Minute, Action{ID: "m0", Type: ActAcknowledge, Reference: "early"}, true, t) // never filed
	update(env, 2*time.Minute, Action{ID: "m1", Type: ActRecordFiling, Reference: "CAC-1"}, false, t)
	update(env, 3*time.Minute, Action{ID: "m2", Type: ActNotifyDecision, Decision: "notify"}, false, t)
	update(env, 4*time.Minute, Action{ID: "m3", Type: ActAcknowledge, Reference: "CAC-ACK"}, false, t)
	update(env, 5*time.Minute, Action{ID: "m4", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e3"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 1 || r.notified != 1 || !equal(r.actions, []string{ActRecordFiling, ActNotifyDecision, ActAcknowledge, ActClose}) {
		t.Fatalf("submits %d notified %d actions %v", r.submits, r.notified, r.actions)
	}
}

// A regulator that refuses the filing outright gets no re-submission: a
// supervisor is alerted at once and the escalation waits for people.
func TestRejectedFilingAlertsSupervisor(t *testing.T) {
	r := &record{snap: Snapshot{ID: "e4", Kind: KindSLABreach, Status: StatusOpen}, outcome: "reject"}
	env := newEnv(t, r)
	update(env, time.Hour, Action{ID: "r1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e4"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 1 || !equal(r.actions, []string{ActSupervisorAlert, ActClose}) {
		t.Fatalf("submits %d actions %v", r.submits, r.actions)
	}
}

// A regulator's question not answered by its due date is recorded as
// overdue (once); one answered in time is not.
func TestFollowUpOverdue(t *testing.T) {
	r := &record{snap: Snapshot{ID: "e5", Kind: KindRegulatorInquiry, Status: StatusOpen}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	env.SetStartTime(t0)
	update(env, time.Hour, Action{ID: "f1", Type: ActAddFollowUp, FollowUpID: "q1", DueAt: t0.Add(11 * time.Hour)}, false, t)
	update(env, 2*time.Hour, Action{ID: "f2", Type: ActAddFollowUp, FollowUpID: "q2", DueAt: t0.Add(5 * time.Hour)}, false, t)
	update(env, 3*time.Hour, Action{ID: "f3", Type: ActAnswerFollowUp, FollowUpID: "q2"}, false, t)
	update(env, 20*time.Hour, Action{ID: "f4", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e5", Timing: Timing{AckWait: 100 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// q1 (asked at +1 h, due at +11 h) is reminded at half and 80 % of its
	// period, then overdue; q2, answered in time, never.
	want := []string{ActAddFollowUp, ActAddFollowUp, ActAnswerFollowUp, ActDutyReminder, ActDutyReminder, ActFollowUpOverdue, ActClose}
	if !equal(r.actions, want) {
		t.Fatalf("actions %v, want %v", r.actions, want)
	}
	wantDuties := []string{
		"duty_reminder follow_up/q1 50% @2026-03-02T07:00:00Z",
		"duty_reminder follow_up/q1 80% @2026-03-02T10:00:00Z",
		"follow_up_overdue q1 @2026-03-02T12:00:00Z",
	}
	if !slices.Equal(r.duties, wantDuties) {
		t.Fatalf("duties %q\nwant %q", r.duties, wantDuties)
	}
	if r.overdueAt != t0.Add(11*time.Hour) {
		t.Fatalf("overdue recorded at %v, want %v", r.overdueAt, t0.Add(11*time.Hour))
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An officer who sees the package ready (the submission's row is committed)
// and records the filing before the workflow has the submission's result is
// not refused: the action waits for the result and is judged on it.
func TestRecordFilingDuringSubmissionWaitsForItsResult(t *testing.T) {
	r := &record{snap: Snapshot{ID: "e6", Kind: KindManual, Status: StatusOpen, Adapter: AdapterManual}, outcome: OutcomeReadyInManual}
	env := newEnv(t, r)
	env.OnActivity(ActivitySubmit, mock.Anything, mock.Anything).After(10 * time.Minute).Return(r.Submit)
	update(env, 5*time.Minute, Action{ID: "f1", Type: ActRecordFiling, Reference: "MIIT-1"}, false, t)
	update(env, time.Hour, Action{ID: "f3", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e6", Timing: Timing{AckWait: 24 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 1 || !equal(r.actions, []string{ActRecordFiling, ActClose}) {
		t.Fatalf("submits %d actions %v", r.submits, r.actions)
	}
}

// An officer's action reaches the escalation only signed by the service:
// unsigned, forged, expired and other-escalation actions are refused and
// nothing is written; the signed close passes.
func TestUnsignedOrForgedActionsAreRefused(t *testing.T) {
	r := &record{snap: Snapshot{ID: "e9", Kind: KindSLABreach, Status: StatusOpen}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	other := []byte("an-attacker-key-of-the-right-length-0123456789")
	closing := func(id string) Action { return Action{ID: id, Type: ActClose, Actor: "officer.li"} }
	updateAs(env, time.Hour, closing("f1"), func() Action { return closing("f1") }, true, t)
	updateAs(env, time.Hour, closing("f2"), func() Action {
		return sealWith(t, other, testWorkflowID, "f2", env.Now().Add(time.Minute), closing("f2"))
	}, true, t)
	updateAs(env, time.Hour, closing("f3"), func() Action {
		return sealWith(t, testKey, testWorkflowID, "f3", env.Now().Add(-time.Second), closing("f3"))
	}, true, t)
	updateAs(env, time.Hour, closing("f4"), func() Action {
		return sealWith(t, testKey, WorkflowID("another"), "f4", env.Now().Add(time.Minute), closing("f4"))
	}, true, t)
	updateAs(env, time.Hour, closing("f5"), func() Action {
		a := sealWith(t, testKey, testWorkflowID, "f5", env.Now().Add(time.Minute), Action{ID: "f5", Type: ActAcknowledge, Actor: "officer.li"})
		a.Type = ActClose // signed as an acknowledgement, sent as a close
		return a
	}, true, t)
	env.RegisterDelayedCallback(func() {
		if slices.Contains(r.actions, ActClose) {
			t.Errorf("a refused action was written: %v", r.actions)
		}
	}, 2*time.Hour)
	update(env, 3*time.Hour, closing("ok"), false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e9", Timing: Timing{AckWait: 100 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.snap.Status != StatusClosed || r.actions[len(r.actions)-1] != ActClose {
		t.Fatalf("status %s, actions %v", r.snap.Status, r.actions)
	}
}

// A workflow started with an opening writes its record first and runs on the
// escalation worker's timing; one whose dedupe key an earlier escalation
// holds ends without touching that escalation.
func TestOpeningWritesTheRecordFirst(t *testing.T) {
	r := &record{outcome: OutcomeAccepted}
	env := newEnv(t, r)
	update(env, 3*time.Hour, Action{ID: "u1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e1", Opening: &Opening{DedupeKey: "sla_breach/c1/resolution", Kind: KindSLABreach}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// The worker's AckWait of an hour: a reminder every 30 min, re-submissions on the hour, then the alert.
	if r.submits != 3 || r.snap.ID != "e1" || !slices.Contains(r.actions, ActSupervisorAlert) {
		t.Fatalf("submits %d id %q actions %v", r.submits, r.snap.ID, r.actions)
	}

	env = newEnv(t, r)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "e2", Opening: &Opening{DedupeKey: "sla_breach/c1/resolution", Kind: KindSLABreach}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 3 || r.snap.ID != "e1" {
		t.Fatalf("a second opening under the key submitted again (%d) or took over the record (%q)", r.submits, r.snap.ID)
	}
}
