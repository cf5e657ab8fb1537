package deletion

import (
	"context"
	"sync"
	"testing"

	"time"

	"go.temporal.io/sdk/testsuite"
)

// fakeActs is an in-memory request for workflow unit tests.
type fakeActs struct {
	snap       Snapshot
	restrict   *time.Time // BuildPlan adds a restrict item until then
	mu         sync.Mutex // Apply runs for several connectors at once
	applied    map[string]int
	breaches   int
	notices    []string
	finishedAt []time.Time
	now        func() time.Time // the test environment's clock
	forgotten  []string         // request status when the requester's key was shredded
	// recomputedTo is where RecomputeDue moves the due date.
	recomputedTo time.Time
}

func (f *fakeActs) Load(ctx context.Context, id string) (Snapshot, error) { return f.snap, nil }
func (f *fakeActs) SetStatus(ctx context.Context, in StatusInput) (Snapshot, error) {
	f.snap.Status = in.Status
	return f.snap, nil
}
func (f *fakeActs) RecordIdentity(ctx context.Context, id string, a Action) (Snapshot, error) {
	f.snap.IdentityVerified = true
	return f.snap, nil
}
func (f *fakeActs) RecordApproval(ctx context.Context, id string, a Action) (Snapshot, error) {
	f.snap.ApprovedBy = a.Actor
	return f.snap, nil
}
func (f *fakeActs) EnabledConnectors(ctx context.Context) ([]string, error) {
	return []string{"db", "redress"}, nil
}
func (f *fakeActs) Locate(ctx context.Context, id, c string) (Located, error) {
	return Located{Connector: c, Items: []PlanItem{{Connector: c, Target: "t", Action: ActionDelete, Count: 2}}, Digest: "d"}, nil
}
func (f *fakeActs) BuildPlan(ctx context.Context, id string, found []Located) (Plan, error) {
	var items []PlanItem
	for _, l := range found {
		items = append(items, l.Items...)
	}
	f.snap.Status, f.snap.PlanDigest = StatusAwaitingApproval, "digest-1"
	p := Plan{Items: items, Digest: "digest-1", AutoApproved: f.snap.Source == "pipeline"}
	if f.restrict != nil {
		p.Items = append(p.Items, PlanItem{Connector: "db", Target: "logs", Action: ActionRestrict, Count: 1, RestrictUntil: f.restrict})
		p.RestrictUntil = f.restrict
	}
	return p, nil
}
func (f *fakeActs) Apply(ctx context.Context, in ApplyInput) (Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied[in.Connector+"/"+in.Step]++
	return Receipt{Connector: in.Connector, Step: in.Step, Affected: 2}, nil
}
func (f *fakeActs) Verify(ctx context.Context, in VerifyInput) (int64, error) { return 0, nil }
func (f *fakeActs) Finish(ctx context.Context, in FinishInput) (Snapshot, error) {
	if f.now != nil {
		f.finishedAt = append(f.finishedAt, f.now())
	}
	f.snap.Status = StatusCompleted
	if f.restrict != nil && in.Step == "execute" {
		f.snap.Status = StatusRestricted
	}
	return f.snap, nil
}
func (f *fakeActs) RecordBreach(ctx context.Context, in BreachInput) error { f.breaches++; return nil }
func (f *fakeActs) Escalate(ctx context.Context, in EscalateInput) error   { return nil }
func (f *fakeActs) Notify(ctx context.Context, in NoticeInput) error {
	f.notices = append(f.notices, in.Kind)
	return nil
}
func (f *fakeActs) Remind(ctx context.Context, id string) error { return nil }
func (f *fakeActs) ForgetRequester(ctx context.Context, id string) error {
	f.forgotten = append(f.forgotten, f.snap.Status)
	return nil
}

type updateCB struct {
	t    *testing.T
	want bool // want success
	name string
}

func (u updateCB) Accept() {}
func (u updateCB) Reject(err error) {
	if u.want {
		u.t.Errorf("%s rejected: %v", u.name, err)
	}
}
func (u updateCB) Complete(success any, err error) {
	if u.want && err != nil {
		u.t.Errorf("%s failed: %v", u.name, err)
	}
	if !u.want && err == nil {
		u.t.Errorf("%s succeeded, want refusal", u.name)
	}
}

func TestWorkflowVerifyPlanApproveExecute(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeActs{snap: Snapshot{Status: StatusAwaitingIdentity, DueAt: env.Now().Add(30 * 24 * time.Hour)}, applied: map[string]int{}}
	register(t, env, f)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateIdentityVerified, "1", updateCB{t: t, want: true, name: "identity"}, Action{Actor: "agent", Method: "attestation"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateApprove, "2", updateCB{t: t, want: false, name: "stale approve"}, Action{Actor: "boss", PlanDigest: "old"})
		update(t, env, UpdateApprove, "3", updateCB{t: t, want: true, name: "approve"}, Action{Actor: "boss", PlanDigest: "digest-1"})
	}, time.Hour)
	env.ExecuteWorkflow(WorkflowName, Input{DeletionID: "x"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.applied["db/execute"] != 1 || f.applied["redress/execute"] != 1 {
		t.Errorf("applied %v", f.applied)
	}
	if f.breaches != 0 || len(f.notices) != 1 || f.notices[0] != StatusCompleted {
		t.Errorf("breaches %d notices %v", f.breaches, f.notices)
	}
}

func TestWorkflowBreachRecordsEscalation(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeActs{snap: Snapshot{Status: StatusAwaitingIdentity, DueAt: env.Now().Add(48 * time.Hour)}, applied: map[string]int{}}
	register(t, env, f)
	env.RegisterDelayedCallback(func() {
		if f.breaches != 1 {
			t.Errorf("breaches %d after the due date", f.breaches)
		}
		update(t, env, UpdateCancel, "c", updateCB{t: t, want: true, name: "cancel"}, Action{Actor: "agent", ReasonTextID: "8c5b7b1e-3a51-4f7e-9a57-1b2f0d0c9e11"})
	}, 72*time.Hour)
	env.ExecuteWorkflow(WorkflowName, Input{DeletionID: "x"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.snap.Status != StatusCancelled {
		t.Errorf("status %s", f.snap.Status)
	}
}

// A retention floor: the plan runs at once except the restricted item, which
// is deleted by a durable timer on the day the duty ends.
func TestWorkflowRestrictUntilThenDelete(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	until := env.Now().Add(150 * 24 * time.Hour)
	f := &fakeActs{snap: Snapshot{Status: StatusAwaitingIdentity, Source: "pipeline", DueAt: env.Now().Add(30 * 24 * time.Hour)},
		applied: map[string]int{}, restrict: &until, now: env.Now}
	register(t, env, f)
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateIdentityVerified, "1", updateCB{t: t, want: true, name: "identity"}, Action{Actor: "pipeline", Method: "attestation"})
	}, time.Minute)
	env.ExecuteWorkflow(WorkflowName, Input{DeletionID: "x"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.applied["db/execute"] != 1 || f.applied["db/deferred"] != 1 || f.applied["redress/deferred"] != 0 {
		t.Errorf("applied %v", f.applied)
	}
	if len(f.finishedAt) != 2 || f.finishedAt[1].Before(until) {
		t.Errorf("deferred step finished at %v, before the floor ends %v", f.finishedAt, until)
	}
	if len(f.notices) != 2 || f.notices[0] != StatusRestricted || f.notices[1] != StatusCompleted {
		t.Errorf("notices %v", f.notices)
	}
	// The requester is forgotten once, after the completion notice, not at the restricted one.
	if len(f.forgotten) != 1 || f.forgotten[0] != StatusCompleted {
		t.Errorf("requester forgotten at %v, want once at completion", f.forgotten)
	}
}
