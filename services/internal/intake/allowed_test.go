package intake

import (
	"context"
	"slices"
	"testing"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/workflows/complaint"
)

var caseStates = []string{complaint.StateReceived, complaint.StateAccepted, complaint.StateRejected, complaint.StateInProgress,
	complaint.StateAwaitingComplainant, complaint.StateResolved, complaint.StateReopened, complaint.StateClosed, complaint.StateMerged}

// Every action the workflow's table allows has its method, with a
// permission in access.Table; a caller gets the state's actions it holds
// the permission for, in the table's order, and nothing else.
func TestAllowedActionsFollowStateAndRole(t *testing.T) {
	for _, st := range caseStates {
		for _, a := range complaint.State(st).Actions() {
			if _, ok := access.Table[actionMethods[a]]; !ok {
				t.Fatalf("action %s (allowed in %s) has no method with a permission in access.Table", a, st)
			}
		}
		for _, role := range access.Roles {
			ctx := access.WithPrincipal(context.Background(), access.Principal{ID: "p", Role: role})
			var want []string
			for _, a := range complaint.State(st).Actions() {
				if role.Holds(access.Table[actionMethods[a]]) {
					want = append(want, a)
				}
			}
			if got := allowedActions(ctx, st); !slices.Equal(got, want) {
				t.Errorf("%s on a %s case: %v, want %v", role, st, got, want)
			}
		}
	}
	agent := access.WithPrincipal(context.Background(), access.Principal{ID: "a", Role: access.Agent})
	if got := allowedActions(agent, complaint.StateInProgress); slices.Contains(got, complaint.UpdateAssign) || !slices.Contains(got, complaint.UpdateResolve) {
		t.Errorf("an agent on an in-progress case: %v (assigning is a supervisor's)", got)
	}
	auto := access.WithPrincipal(context.Background(), access.Principal{ID: "feed", Role: access.Automation})
	if got := allowedActions(auto, complaint.StateReceived); len(got) != 0 {
		t.Errorf("automation is offered %v", got)
	}
}
