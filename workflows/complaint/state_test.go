package complaint

import (
	"slices"
	"testing"
)

var allStates = []string{StateReceived, StateAccepted, StateRejected, StateInProgress, StateAwaitingComplainant,
	StateResolved, StateReopened, StateClosed, StateMerged}

var allUpdates = []string{UpdateAccept, UpdateReject, UpdateAssign, UpdateRequestInformation, UpdateComplainantReplied,
	UpdateResolve, UpdateClose, UpdateReopen, UpdateMerge, UpdateReply}

// The state machine as SPEC §2.2 draws it, written out: a change to the
// table is a change of the product and shows here.
func TestStateActions(t *testing.T) {
	want := map[string][]string{
		StateReceived:            {UpdateAccept, UpdateReply, UpdateReject, UpdateMerge, ActionNote},
		StateAccepted:            {UpdateAssign, UpdateReply, UpdateMerge, ActionNote},
		StateInProgress:          {UpdateAssign, UpdateRequestInformation, UpdateReply, UpdateResolve, UpdateMerge, ActionNote},
		StateAwaitingComplainant: {UpdateComplainantReplied, UpdateReply, UpdateMerge, ActionNote},
		StateResolved:            {UpdateReply, UpdateClose, UpdateReopen, ActionNote},
		StateReopened:            {UpdateAssign, UpdateReply, UpdateMerge, ActionNote},
		StateRejected:            {ActionNote},
		StateClosed:              {ActionNote},
		StateMerged:              {ActionNote},
	}
	for _, s := range allStates {
		if got := State(s).Actions(); !slices.Equal(got, want[s]) {
			t.Errorf("%s allows %v, want %v", s, got, want[s])
		}
	}
}

// The workflow's validator takes exactly the Updates the table allows: with
// every argument given, an action passes checkAction if and only if
// State.Allowed says so, and a note is never an Update.
func TestCheckActionFollowsTheTable(t *testing.T) {
	full := Action{Actor: agent, MessageID: "m", ReasonCode: "r", Assignee: "u", PrimaryCaseID: "p"}
	for _, s := range allStates {
		for _, u := range allUpdates {
			_, err := checkAction(testCaseID, s, u, full)
			if allowed := State(s).Allowed(u); allowed != (err == nil) {
				t.Errorf("%s in %s: table says %v, workflow answers %v", u, s, allowed, err)
			}
		}
		if _, err := checkAction(testCaseID, s, ActionNote, full); err == nil {
			t.Errorf("the workflow takes a note as an Update in %s", s)
		}
	}
}
