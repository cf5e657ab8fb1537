package complaint

import "slices"

// State is a case state (the State* constants). Which actions each state
// allows is decided here, once: the workflow refuses the others, and the
// services offer exactly these to their clients.
type State string

// ActionNote is an internal note. Notes are not case state, so no Update
// carries them: the service records them itself, in every state.
const ActionNote = "note"

// actionOrder is the order actions are listed in.
var actionOrder = []string{
	UpdateAccept, UpdateAssign, UpdateRequestInformation, UpdateComplainantReplied, UpdateReply,
	UpdateResolve, UpdateClose, UpdateReopen, UpdateReject, UpdateMerge, ActionNote,
}

// allowed lists, per state, the Updates it takes besides reply (every state
// that takes actions takes a reply). Rejected, merged and closed cases take
// none: their workflow has ended.
var allowed = map[State][]string{
	StateReceived:            {UpdateAccept, UpdateReject, UpdateMerge},
	StateAccepted:            {UpdateAssign, UpdateMerge},
	StateInProgress:          {UpdateAssign, UpdateRequestInformation, UpdateResolve, UpdateMerge},
	StateAwaitingComplainant: {UpdateComplainantReplied, UpdateMerge},
	StateResolved:            {UpdateClose, UpdateReopen},
	StateReopened:            {UpdateAssign, UpdateMerge},
}

// Terminal reports whether the case's workflow has ended in this state.
func (s State) Terminal() bool {
	switch s {
	case StateRejected, StateMerged, StateClosed:
		return true
	}
	return false
}

// Allowed reports whether a case in state s takes action (an Update name or
// ActionNote).
func (s State) Allowed(action string) bool {
	switch action {
	case ActionNote:
		return true
	case UpdateReply:
		_, ok := allowed[s]
		return ok
	}
	return slices.Contains(allowed[s], action)
}

// Actions lists the actions a case in state s takes, in a fixed order.
func (s State) Actions() []string {
	var out []string
	for _, a := range actionOrder {
		if s.Allowed(a) {
			out = append(out, a)
		}
	}
	return out
}
