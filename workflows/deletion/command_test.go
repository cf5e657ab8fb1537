package deletion

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/redress/redress/workflows/command"
)

const testDeletionID = "x"

// testKey is the command key of the tests (the services' signer holds the
// same in production).
var testKey = []byte("deletion-workflow-test-command-key-0123456789")

// register registers the workflow as the worker does, with the test key,
// under the request's workflow id.
func register(t *testing.T, env *testsuite.TestWorkflowEnvironment, f *fakeActs) {
	t.Helper()
	v, err := command.NewVerifier(testKey)
	if err != nil {
		t.Fatal(err)
	}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: WorkflowID(testDeletionID)})
	Register(env, f, v)
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

// updateCallbacks is the SDK's (internal) UpdateCallbacks interface.
type updateCallbacks interface {
	Accept()
	Reject(error)
	Complete(any, error)
}

// update sends a signed Update, as the deletion service does.
func update(t *testing.T, env *testsuite.TestWorkflowEnvironment, name, id string, cb updateCallbacks, a Action) {
	env.UpdateWorkflow(name, id, cb, sealWith(t, testKey, WorkflowID(testDeletionID), name, id, env.Now().Add(time.Minute), a))
}

type refusal struct {
	t      *testing.T
	name   string
	want   string
	reject *error
}

func (r refusal) Accept() { r.t.Errorf("%s accepted, want refusal", r.name) }
func (r refusal) Reject(err error) {
	*r.reject = err
	if !strings.Contains(err.Error(), r.want) {
		r.t.Errorf("%s refused with %q, want %q", r.name, err, r.want)
	}
}
func (r refusal) Complete(any, error) {}

// Anyone reaching the Temporal frontend can send `approve` with the plan's
// digest and any actor: without the services' seal it is refused and the
// plan stays unapproved; the signed approval passes.
func TestWorkflowRefusesUnsignedOrForgedCommands(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeActs{snap: Snapshot{Status: StatusAwaitingIdentity, DueAt: env.Now().Add(30 * 24 * time.Hour)}, applied: map[string]int{}}
	register(t, env, f)
	other := []byte("an-attacker-key-of-the-right-length-0123456789")
	boss := Action{Actor: "sup.wang", PlanDigest: "digest-1"}
	wid := WorkflowID(testDeletionID)
	refused := map[string]*error{}
	refuse := func(name, want string, a func() Action) {
		var err error
		refused[name] = &err
		env.UpdateWorkflow(UpdateApprove, name, refusal{t: t, name: name, want: want, reject: &err}, a())
	}
	env.RegisterDelayedCallback(func() {
		update(t, env, UpdateIdentityVerified, "1", updateCB{t: t, want: true, name: "identity"}, Action{Actor: "agent", Method: "attestation"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		now := env.Now()
		refuse("unsigned", "not signed", func() Action { return boss })
		refuse("forged", "does not verify", func() Action { return sealWith(t, other, wid, UpdateApprove, "forged", now.Add(time.Minute), boss) })
		refuse("expired", "expired", func() Action { return sealWith(t, testKey, wid, UpdateApprove, "expired", now.Add(-time.Second), boss) })
		refuse("other-request", "does not verify", func() Action {
			return sealWith(t, testKey, WorkflowID("y"), UpdateApprove, "other-request", now.Add(time.Minute), boss)
		})
		refuse("other-action", "does not verify", func() Action {
			return sealWith(t, testKey, wid, UpdateCancel, "other-action", now.Add(time.Minute), boss)
		})
		refuse("altered", "does not verify", func() Action {
			a := sealWith(t, testKey, wid, UpdateApprove, "altered", now.Add(time.Minute), Action{Actor: "agent", PlanDigest: "digest-1"})
			a.Actor = "sup.wang"
			return a
		})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		if f.snap.ApprovedBy != "" || f.applied["db/execute"] != 0 {
			t.Errorf("refused commands changed the request: approved by %q, applied %v", f.snap.ApprovedBy, f.applied)
		}
		update(t, env, UpdateApprove, "ok", updateCB{t: t, want: true, name: "signed approve"}, boss)
	}, 2*time.Hour)
	env.ExecuteWorkflow(WorkflowName, Input{DeletionID: testDeletionID})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	for name, err := range refused {
		if *err == nil {
			t.Errorf("%s: not refused", name)
		}
	}
	if f.snap.ApprovedBy != "sup.wang" || f.applied["db/execute"] != 1 {
		t.Errorf("approved by %q, applied %v", f.snap.ApprovedBy, f.applied)
	}
}
