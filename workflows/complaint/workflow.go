package complaint

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

// Deadline statuses (DeadlineInfo.Status, DeadlineChange.Status).
const (
	DeadlineOpen     = "open"
	DeadlinePaused   = "paused"
	DeadlineMet      = "met"
	DeadlineBreached = "breached"
)

// ErrTypeCaseBusy is the error type an Update is rejected with when another
// action on the same case is still being written. Nothing was changed: the
// caller may retry.
const ErrTypeCaseBusy = "CaseBusy"

// SystemActor is the Actor of transitions the workflow makes by itself
// (auto_close after the quiet period).
const SystemActor = "system:complaint-workflow"

// StateView is the answer to QueryState: the workflow's in-memory snapshot of
// the case and whether the resolution clock is paused.
type StateView struct {
	CaseSnapshot
	Paused bool
}

// timer slots, one goroutine each at most.
const (
	slotAck   = DeadlineAcknowledgement
	slotRes   = DeadlineResolution
	slotQuiet = "quiet_period"
)

type armedTimer struct {
	key    string
	cancel workflow.CancelFunc
}

// complaintWF is the state of one ComplaintWorkflow run. Only the workflow's
// own coroutines touch it (cooperative scheduling, no data races).
type complaintWF struct {
	rootCtx  workflow.Context
	caseID   string
	commands *command.Verifier

	snap   CaseSnapshot
	loaded bool

	// busy is held by whoever is writing (an update handler, a timer
	// action): writes happen one at a time and the
	// in-memory snapshot changes only after the write succeeded.
	busy bool
	// updating counts update handlers accepted and not yet finished; a
	// validator rejects while it is non-zero, so that two updates can never
	// both pass validation against the same state.
	updating int

	// outbox holds the notices to the complainant not sent yet, in order.
	// One coroutine sends them (noticeLoop), so that a slow or failing
	// notifier never holds up actions on the case; the run ends only when it
	// is empty.
	outbox []NoticeInput
	// inlineAck is set while the acknowledgement's inline attempt runs: the
	// notice loop waits, so no later notice overtakes it.
	inlineAck bool

	// pausedFrom is when the resolution clock was paused in this run.
	pausedFrom time.Time

	timers        map[string]*armedTimer
	breached      map[string]bool         // deadline kind -> breach recorded by this run
	remindersSent map[string]map[int]bool // deadline kind -> ordinal -> recorded by this run
}

// ComplaintWorkflow runs one case from intake to its end (rejected, merged or
// closed): it arms the deadlines as durable timers, takes every human action
// as a validated Update, records reminders and breaches, pauses and resumes
// the resolution clock and closes resolved cases after the quiet period.
// It carries ids, codes and times only. Workflow returns it with the
// verifier of the services' command seals.
func Workflow(commands *command.Verifier) func(workflow.Context, Input) error {
	return func(ctx workflow.Context, in Input) error { return complaintWorkflow(ctx, in, commands) }
}

func complaintWorkflow(ctx workflow.Context, in Input, commands *command.Verifier) error {
	if in.CaseID == "" {
		return temporal.NewNonRetryableApplicationError("complaint workflow started without a case id", ErrTypeInvalidInput, nil)
	}
	if in.Start != 0 && (in.Start < leanStartLocalLoad || in.Start > CurrentStart) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("complaint workflow started on unknown start path %d", in.Start), ErrTypeInvalidInput, nil)
	}
	ctx = workflow.WithActivityOptions(ctx, activityOptions())
	w := &complaintWF{
		rootCtx:       ctx,
		caseID:        in.CaseID,
		commands:      commands,
		timers:        map[string]*armedTimer{},
		breached:      map[string]bool{},
		remindersSent: map[string]map[int]bool{},
	}
	if err := w.registerHandlers(ctx); err != nil {
		return err
	}
	defer w.cancelTimers()

	lean := startVersion(ctx, in)
	snap, err := loadCase(ctx, in.CaseID, lean)
	if err != nil {
		return err
	}
	if snap.CaseID == "" {
		snap.CaseID = in.CaseID
	}
	w.snap = snap
	w.loaded = true
	workflow.Go(ctx, w.noticeLoop)
	if snap.State == StateReceived {
		ack := NoticeInput{
			CaseID:    w.caseID,
			Kind:      NoticeAcknowledgement,
			DedupeKey: w.caseID + "/" + NoticeAcknowledgement,
		}
		if lean < leanStartAckInline {
			w.notify(ack)
		} else {
			w.sendAckInline(ctx, ack)
		}
	}
	w.rearm()

	for {
		var canSuggested bool
		err := workflow.Await(ctx, func() bool {
			if w.busy || w.updating > 0 || len(w.outbox) > 0 || !workflow.AllHandlersFinished(ctx) {
				return false
			}
			if isTerminal(w.snap.State) {
				return true
			}
			canSuggested = w.canContinueAsNew() && workflow.GetInfo(ctx).GetContinueAsNewSuggested()
			return canSuggested
		})
		if err != nil {
			return err
		}
		if isTerminal(w.snap.State) {
			workflow.GetLogger(ctx).Info("case finished", "caseID", w.caseID, "state", w.snap.State)
			return nil
		}
		if canSuggested {
			w.cancelTimers()
			// A new run is a new history: it takes the newest path, as
			// GetVersion would answer it (this run's may be the oldest).
			return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{CaseID: w.caseID, Start: CurrentStart})
		}
	}
}

// versionLeanStart names the changes to a new case's first workflow task.
// Version 1 loads the case as a local activity (one short read) instead of
// an activity: the first task then arms the deadline timers and schedules
// the acknowledgement itself (two workflow tasks and one activity task
// instead of three and two). Version 2 also makes the acknowledgement's
// first attempt in that task, as a local activity (sendAckInline): a new case
// then takes one workflow task and no activity task when the notifier
// answers; otherwise the notice loop's activity retries it as before.
const versionLeanStart = "lean-start"

const (
	leanStartLocalLoad = 1
	leanStartAckInline = 2
)

// startVersion is the run's start path: the one its input names, or for a
// run started without one (Start 0), the one recorded in (or, on its first
// task, written to) its history.
func startVersion(ctx workflow.Context, in Input) workflow.Version {
	if in.Start != 0 {
		return in.Start
	}
	return workflow.GetVersion(ctx, versionLeanStart, workflow.DefaultVersion, leanStartAckInline)
}

func loadCase(ctx workflow.Context, caseID string, lean workflow.Version) (CaseSnapshot, error) {
	var snap CaseSnapshot
	if lean == workflow.DefaultVersion {
		err := workflow.ExecuteActivity(ctx, ActivityLoadCase, caseID).Get(ctx, &snap)
		return snap, err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, localActivityOptions())
	err := workflow.ExecuteLocalActivity(lctx, ActivityLoadCase, caseID).Get(ctx, &snap)
	return snap, err
}

// InlineNoticeTimeout bounds the inline attempt of a new case's
// acknowledgement: the first workflow task waits for it, so a slow notifier
// costs the case a few seconds at most before the activity takes over.
const InlineNoticeTimeout = 10 * time.Second

// sendAckInline makes one attempt at the acknowledgement as a local
// activity. When it fails it goes to the front of the outbox, where the
// notice loop's activity retries it until it is sent; notices queued
// meanwhile (an early action's) wait behind it either way. SendNotice is
// at-most-once per DedupeKey, so the activity that follows a failed or
// timed-out attempt never sends a second copy of a notice on record as sent.
func (w *complaintWF) sendAckInline(ctx workflow.Context, ack NoticeInput) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: InlineNoticeTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	w.inlineAck = true
	err := workflow.ExecuteLocalActivity(lctx, ActivitySendNotice, ack).Get(ctx, nil)
	w.inlineAck = false
	if err != nil {
		w.outbox = append([]NoticeInput{ack}, w.outbox...)
	}
}

// canContinueAsNew reports whether the run holds nothing that LoadCase would
// not give back: a paused clock (its start time is not in CaseSnapshot) and a
// running quiet period (its start time is not either) keep the run alive.
func (w *complaintWF) canContinueAsNew() bool {
	return w.snap.Resolution.Status != DeadlinePaused && w.snap.State != StateResolved
}

func isTerminal(state string) bool { return State(state).Terminal() }

// ---------------------------------------------------------------------------
// Handlers

type updateFn func(ctx workflow.Context, a Action) (CaseSnapshot, error)

func (w *complaintWF) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (StateView, error) {
		if !w.loaded {
			return StateView{}, fmt.Errorf("case %s is still loading", w.caseID)
		}
		return StateView{CaseSnapshot: w.snap, Paused: w.snap.Resolution.Status == DeadlinePaused}, nil
	}); err != nil {
		return err
	}
	handlers := []struct {
		name string
		fn   updateFn
	}{
		{UpdateAccept, w.accept},
		{UpdateReject, w.reject},
		{UpdateAssign, w.assign},
		{UpdateRequestInformation, w.requestInformation},
		{UpdateComplainantReplied, w.complainantReplied},
		{UpdateResolve, w.resolve},
		{UpdateClose, w.close},
		{UpdateReopen, w.reopen},
		{UpdateMerge, w.merge},
		{UpdateReply, w.reply},
	}
	for _, h := range handlers {
		name, fn := h.name, h.fn
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, a Action) (CaseSnapshot, error) {
				return w.runUpdate(ctx, name, a, fn)
			},
			workflow.UpdateHandlerOptions{
				Validator: func(ctx workflow.Context, a Action) error {
					if err := w.commands.CheckUpdate(ctx, a.Actor, a.unsealed(), a.Seal); err != nil {
						return err
					}
					return w.validate(name, a)
				},
			})
		if err != nil {
			return fmt.Errorf("register update %s: %w", name, err)
		}
	}
	return w.registerRecompute(ctx)
}

// validate is the Update validator: read-only.
func (w *complaintWF) validate(name string, a Action) error {
	if w.updating > 0 {
		return temporal.NewApplicationError(fmt.Sprintf("another action on case %s is in progress: retry %s", w.caseID, name), ErrTypeCaseBusy)
	}
	if !w.loaded {
		// The first activity (LoadCase) is still running, e.g. an action
		// sent right after the service started the workflow: the state is
		// not known yet. The handler waits for it and checks the action
		// then, failing with IllegalTransition if it is not legal.
		return nil
	}
	_, err := checkAction(w.snap.CaseID, w.snap.State, name, a)
	return err
}

// runUpdate serializes the handlers: it waits for any write in progress,
// checks the action again against the state it will act on, then runs it.
func (w *complaintWF) runUpdate(ctx workflow.Context, name string, a Action, fn updateFn) (CaseSnapshot, error) {
	w.updating++
	defer func() { w.updating-- }()
	ctx = workflow.WithActivityOptions(ctx, activityOptions())
	if err := w.lock(ctx, true); err != nil {
		return CaseSnapshot{}, err
	}
	defer w.unlock()
	if _, err := checkAction(w.caseID, w.snap.State, name, a); err != nil {
		return CaseSnapshot{}, err
	}
	return fn(ctx, a)
}

func (w *complaintWF) lock(ctx workflow.Context, needLoaded bool) error {
	if err := workflow.Await(ctx, func() bool { return !w.busy && (w.loaded || !needLoaded) }); err != nil {
		return err
	}
	w.busy = true
	return nil
}

func (w *complaintWF) unlock() { w.busy = false }

// ---------------------------------------------------------------------------
// Transition rules (SPEC §2.2)

func illegal(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeIllegalTransition, nil)
}

func invalid(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeInvalidInput, nil)
}

// checkAction decides whether action name with arguments a is legal for a
// case in state, and returns the state it leads to. Pure. Which states take
// which action is State.Allowed; this adds the reasons and the arguments.
func checkAction(caseID, state, name string, a Action) (string, error) {
	st := State(state)
	if st.Terminal() {
		return "", illegal("cannot %s case %s: it is %s and takes no further actions", verb(name), caseID, state)
	}
	ok := st.Allowed(name)
	var to string
	switch name {
	case UpdateAccept:
		if !ok {
			return "", illegal("cannot accept a case in state %s: only a received case can be accepted", state)
		}
		to = StateAccepted
	case UpdateReject:
		if !ok {
			return "", illegal("cannot reject a case in state %s: only a received case can be rejected", state)
		}
		if a.ReasonCode == "" {
			return "", invalid("reject requires a reason code")
		}
		if a.MessageID == "" {
			return "", invalid("reject requires the rejection text (message id)")
		}
		to = StateRejected
	case UpdateAssign:
		switch {
		case ok:
		case state == StateReceived:
			return "", illegal("cannot assign a case in state received: accept it first")
		default:
			return "", illegal("cannot assign a case in state %s: only accepted, in_progress or reopened cases can be assigned", state)
		}
		if a.Assignee == "" {
			return "", invalid("assign requires an assignee")
		}
		to = StateInProgress
	case UpdateRequestInformation:
		if !ok {
			return "", illegal("cannot request information on a case in state %s: it must be in_progress (accepted and assigned)", state)
		}
		if a.MessageID == "" {
			return "", invalid("request_information requires the question (message id)")
		}
		to = StateAwaitingComplainant
	case UpdateComplainantReplied:
		if !ok {
			return "", illegal("cannot record a complainant reply on a case in state %s: no information was requested", state)
		}
		if a.MessageID == "" {
			return "", invalid("complainant_replied requires the complainant's answer (message id)")
		}
		to = StateInProgress
	case UpdateResolve:
		switch {
		case ok:
		case state == StateReceived:
			return "", illegal("cannot resolve a case in state received: accept and assign it first")
		case state == StateAccepted, state == StateReopened:
			return "", illegal("cannot resolve a case in state %s: assign it first", state)
		case state == StateAwaitingComplainant:
			return "", illegal("cannot resolve a case in state awaiting_complainant: record the complainant's reply first")
		default:
			return "", illegal("cannot resolve a case in state %s", state)
		}
		if a.MessageID == "" {
			return "", invalid("resolve requires feedback to the complainant (message id)")
		}
		to = StateResolved
	case UpdateClose:
		if !ok {
			return "", illegal("cannot close a case in state %s: only a resolved case can be closed", state)
		}
		to = StateClosed
	case UpdateReopen:
		if !ok {
			return "", illegal("cannot reopen a case in state %s: only a resolved case can be reopened", state)
		}
		to = StateReopened
	case UpdateMerge:
		if !ok {
			return "", illegal("cannot merge a case in state %s", state)
		}
		if a.PrimaryCaseID == "" {
			return "", invalid("merge requires the primary case id")
		}
		if a.PrimaryCaseID == caseID {
			return "", invalid("cannot merge case %s into itself", caseID)
		}
		to = StateMerged
	case UpdateReply:
		if !ok {
			return "", illegal("cannot reply on a case in state %s", state)
		}
		if a.MessageID == "" {
			return "", invalid("reply requires the reply text (message id)")
		}
		to = state
	default:
		return "", illegal("unknown action %q", name)
	}
	if a.Actor == "" {
		return "", invalid("%s requires the acting principal (actor)", name)
	}
	return to, nil
}

func verb(name string) string { return strings.ReplaceAll(name, "_", " ") }

// ---------------------------------------------------------------------------
// Update handlers. Each runs with busy held and the action already checked.

func (w *complaintWF) accept(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	return w.transition(ctx, UpdateAccept, StateAccepted, a, w.metChange(DeadlineAcknowledgement))
}

func (w *complaintWF) reject(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	snap, err := w.transition(ctx, UpdateReject, StateRejected, a, w.metChange(DeadlineAcknowledgement))
	if err != nil {
		return snap, err
	}
	w.notify(NoticeInput{
		CaseID:    w.caseID,
		Kind:      NoticeRejection,
		MessageID: a.MessageID,
		DedupeKey: NoticeRejection + "/" + w.caseID,
	})
	return snap, nil
}

func (w *complaintWF) assign(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	return w.transition(ctx, UpdateAssign, StateInProgress, a, nil)
}

func (w *complaintWF) requestInformation(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	var changes []DeadlineChange
	res := w.snap.Resolution
	pause := res.Pausable && res.Status == DeadlineOpen
	if pause {
		changes = append(changes, DeadlineChange{Kind: DeadlineResolution, Status: DeadlinePaused})
	}
	at := workflow.Now(ctx)
	snap, err := w.transitionAt(ctx, UpdateRequestInformation, StateAwaitingComplainant, a, at, changes, nil)
	if err != nil {
		return snap, err
	}
	if pause {
		w.pausedFrom = at
	}
	w.notify(NoticeInput{
		CaseID:    w.caseID,
		Kind:      NoticeInfoRequest,
		MessageID: a.MessageID,
		DedupeKey: "info/" + a.MessageID,
	})
	return snap, nil
}

func (w *complaintWF) complainantReplied(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	at := workflow.Now(ctx)
	var changes []DeadlineChange
	var reminders []time.Time
	if w.snap.Resolution.Status == DeadlinePaused {
		due := w.snap.Resolution.DueAt
		reminders = w.snap.Resolution.Reminders
		if w.pausedFrom.IsZero() {
			// The pause began in another run (or before a reset): its start
			// is not in CaseSnapshot. Resume without extension, the strict
			// reading of the deadline.
			workflow.GetLogger(ctx).Warn("pause start unknown, resuming without extension", "caseID", w.caseID)
		} else {
			var ext DeadlineInfo
			err := workflow.ExecuteActivity(ctx, ActivityExtendDeadline, ExtendInput{
				CaseID:      w.caseID,
				PausedFrom:  w.pausedFrom,
				PausedUntil: at,
			}).Get(ctx, &ext)
			if err != nil {
				return CaseSnapshot{}, err
			}
			if !ext.DueAt.IsZero() {
				due = ext.DueAt
			}
			if len(ext.Reminders) > 0 {
				reminders = ext.Reminders
			}
		}
		changes = append(changes, DeadlineChange{Kind: DeadlineResolution, Status: DeadlineOpen, DueAt: due})
	}
	var adjust func(*CaseSnapshot)
	if len(changes) > 0 && len(reminders) > 0 {
		// DeadlineChange carries no reminder times: keep the recomputed ones.
		adjust = func(s *CaseSnapshot) { s.Resolution.Reminders = reminders }
	}
	snap, err := w.transitionAt(ctx, UpdateComplainantReplied, StateInProgress, a, at, changes, adjust)
	if err != nil {
		return snap, err
	}
	if len(changes) > 0 {
		w.pausedFrom = time.Time{}
	}
	return snap, nil
}

func (w *complaintWF) resolve(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	snap, err := w.transition(ctx, UpdateResolve, StateResolved, a, w.metChange(DeadlineResolution))
	if err != nil {
		return snap, err
	}
	w.notify(NoticeInput{
		CaseID:    w.caseID,
		Kind:      NoticeResult,
		MessageID: a.MessageID,
		DedupeKey: NoticeResult + "/" + a.MessageID,
	})
	return snap, nil
}

func (w *complaintWF) close(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	return w.transition(ctx, UpdateClose, StateClosed, a, nil)
}

func (w *complaintWF) reopen(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	return w.transition(ctx, UpdateReopen, StateReopened, a, nil)
}

func (w *complaintWF) merge(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	return w.transition(ctx, UpdateMerge, StateMerged, a, nil)
}

// reply records the reply (FromState == ToState: no state change, but the
// message is committed with its audit entry), then sends it.
func (w *complaintWF) reply(ctx workflow.Context, a Action) (CaseSnapshot, error) {
	snap, err := w.transition(ctx, UpdateReply, w.snap.State, a, nil)
	if err != nil {
		return snap, err
	}
	w.notify(NoticeInput{
		CaseID:    w.caseID,
		Kind:      NoticeReply,
		MessageID: a.MessageID,
		DedupeKey: NoticeReply + "/" + a.MessageID,
	})
	return snap, nil
}

// metChange marks a deadline met unless it already is. A breached deadline
// met late is marked met too: the record keeps its breach time and the case
// stays overdue (see the worker's applyDeadlineChange).
func (w *complaintWF) metChange(kind string) []DeadlineChange {
	d := w.deadline(kind)
	if d.Status == DeadlineMet || d.Status == "" {
		return nil
	}
	return []DeadlineChange{{Kind: kind, Status: DeadlineMet}}
}

func (w *complaintWF) transition(ctx workflow.Context, action, to string, a Action, changes []DeadlineChange) (CaseSnapshot, error) {
	return w.transitionAt(ctx, action, to, a, workflow.Now(ctx), changes, nil)
}

// transitionAt writes one transition through ApplyTransition, with the
// Update's id as ActionID, and only then adopts the returned snapshot.
func (w *complaintWF) transitionAt(ctx workflow.Context, action, to string, a Action, at time.Time, changes []DeadlineChange, adjust func(*CaseSnapshot)) (CaseSnapshot, error) {
	actionID := ""
	if info := workflow.GetCurrentUpdateInfo(ctx); info != nil {
		actionID = info.ID
	}
	return w.apply(ctx, TransitionInput{
		CaseID:          w.caseID,
		ActionID:        actionID,
		Action:          action,
		FromState:       w.snap.State,
		ToState:         to,
		Args:            a,
		At:              at,
		DeadlineChanges: changes,
	}, adjust)
}

func (w *complaintWF) apply(ctx workflow.Context, in TransitionInput, adjust func(*CaseSnapshot)) (CaseSnapshot, error) {
	var snap CaseSnapshot
	if err := workflow.ExecuteActivity(ctx, ActivityApplyTransition, in).Get(ctx, &snap); err != nil {
		return CaseSnapshot{}, err
	}
	// The record is the truth; make sure what this workflow just wrote is
	// reflected even if the returned snapshot is thinner than expected.
	if snap.CaseID == "" {
		snap.CaseID = w.caseID
	}
	if snap.State == "" {
		snap.State = in.ToState
	}
	for _, c := range in.DeadlineChanges {
		d := deadlineOf(&snap, c.Kind)
		if d == nil {
			continue
		}
		d.Status = c.Status
		if !c.DueAt.IsZero() {
			d.DueAt = c.DueAt
		}
	}
	if adjust != nil {
		adjust(&snap)
	}
	w.snap = snap
	w.rearm()
	return snap, nil
}

// notify queues a notice to the complainant; noticeLoop sends it.
func (w *complaintWF) notify(in NoticeInput) { w.outbox = append(w.outbox, in) }

// noticeLoop sends the queued notices one at a time, in order. SendNotice is
// at-most-once per DedupeKey and retried until it is sent or refused for good.
func (w *complaintWF) noticeLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(w.outbox) > 0 && !w.inlineAck }); err != nil {
			return
		}
		n := w.outbox[0]
		if err := workflow.ExecuteActivity(ctx, ActivitySendNotice, n).Get(ctx, nil); err != nil {
			if ctx.Err() != nil {
				return
			}
			workflow.GetLogger(ctx).Error("notice not sent", "caseID", w.caseID, "kind", n.Kind, "dedupeKey", n.DedupeKey, "error", err)
		}
		w.outbox = w.outbox[1:]
	}
}

func deadlineOf(s *CaseSnapshot, kind string) *DeadlineInfo {
	switch kind {
	case DeadlineAcknowledgement:
		return &s.Acknowledgement
	case DeadlineResolution:
		return &s.Resolution
	}
	return nil
}

func (w *complaintWF) deadline(kind string) DeadlineInfo {
	if d := deadlineOf(&w.snap, kind); d != nil {
		return *d
	}
	return DeadlineInfo{}
}

// ---------------------------------------------------------------------------
// Timers

// deadlineRunning reports whether the deadline of kind still runs for the
// current state: acknowledgement while received, resolution until the case
// is resolved or finished; and only while its status is open.
func (w *complaintWF) deadlineRunning(kind string) bool {
	d := w.deadline(kind)
	if d.Status != DeadlineOpen || d.DueAt.IsZero() || w.breached[kind] {
		return false
	}
	switch kind {
	case DeadlineAcknowledgement:
		return w.snap.State == StateReceived
	case DeadlineResolution:
		switch w.snap.State {
		case StateResolved, StateClosed, StateRejected, StateMerged:
			return false
		}
		return true
	}
	return false
}

func deadlineKey(d DeadlineInfo) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(d.DueAt.UnixNano(), 10))
	for _, r := range d.Reminders {
		b.WriteByte('|')
		b.WriteString(strconv.FormatInt(r.UnixNano(), 10))
	}
	return b.String()
}

// rearm brings the running timers in line with the in-memory snapshot:
// timers no longer wanted are cancelled, changed ones are replaced, new ones
// started. Called after load, after every write and after a breach.
func (w *complaintWF) rearm() {
	for _, kind := range []string{DeadlineAcknowledgement, DeadlineResolution} {
		kind := kind
		d := w.deadline(kind)
		key := deadlineKey(d)
		w.setTimer(kind, w.deadlineRunning(kind), key, func(ctx workflow.Context) {
			w.runDeadline(ctx, kind, key, d)
		})
	}
	quietWanted := w.snap.State == StateResolved && w.snap.QuietPeriod > 0
	// Any recorded action raises Version, so the quiet period starts again
	// after each one.
	quietKey := strconv.FormatInt(w.snap.Version, 10)
	quiet := w.snap.QuietPeriod
	w.setTimer(slotQuiet, quietWanted, quietKey, func(ctx workflow.Context) {
		w.runQuiet(ctx, quietKey, quiet)
	})
}

func (w *complaintWF) setTimer(slot string, want bool, key string, run func(ctx workflow.Context)) {
	cur := w.timers[slot]
	if cur != nil && want && cur.key == key {
		return
	}
	if cur != nil {
		cur.cancel()
		delete(w.timers, slot)
	}
	if !want {
		return
	}
	ctx, cancel := workflow.WithCancel(w.rootCtx)
	w.timers[slot] = &armedTimer{key: key, cancel: cancel}
	workflow.Go(ctx, run)
}

func (w *complaintWF) cancelTimers() {
	for _, slot := range []string{slotAck, slotRes, slotQuiet} {
		if t := w.timers[slot]; t != nil {
			t.cancel()
			delete(w.timers, slot)
		}
	}
}

func (w *complaintWF) current(slot, key string) bool {
	t := w.timers[slot]
	return t != nil && t.key == key
}

// sleepUntil waits until at; false when cancelled.
func sleepUntil(ctx workflow.Context, at time.Time) bool {
	d := at.Sub(workflow.Now(ctx))
	if d <= 0 {
		return ctx.Err() == nil
	}
	return workflow.NewTimer(ctx, d).Get(ctx, nil) == nil
}

type reminder struct {
	at      time.Time
	ordinal int
}

// runDeadline sends the reminders still ahead, then records the breach if
// the deadline is still running when it falls due.
func (w *complaintWF) runDeadline(ctx workflow.Context, kind, key string, d DeadlineInfo) {
	now := workflow.Now(ctx)
	var rems []reminder
	for i, at := range d.Reminders {
		if at.After(now) && at.Before(d.DueAt) {
			rems = append(rems, reminder{at: at, ordinal: i + 1})
		}
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].at.Before(rems[j].at) })

	for _, r := range rems {
		if w.remindersSent[kind][r.ordinal] {
			continue
		}
		if !sleepUntil(ctx, r.at) {
			return
		}
		if !w.timerAction(ctx, kind, key, func(actx workflow.Context) {
			err := workflow.ExecuteActivity(actx, ActivityRecordReminder, ReminderInput{
				CaseID: w.caseID, Kind: kind, DueAt: d.DueAt, Ordinal: r.ordinal,
			}).Get(actx, nil)
			if err != nil {
				workflow.GetLogger(actx).Error("record reminder failed", "caseID", w.caseID, "kind", kind, "ordinal", r.ordinal, "error", err)
				return
			}
			if w.remindersSent[kind] == nil {
				w.remindersSent[kind] = map[int]bool{}
			}
			w.remindersSent[kind][r.ordinal] = true
		}) {
			return
		}
	}

	if !sleepUntil(ctx, d.DueAt) {
		return
	}
	w.timerAction(ctx, kind, key, func(actx workflow.Context) {
		err := workflow.ExecuteActivity(actx, ActivityRecordBreach, BreachInput{
			CaseID: w.caseID, Kind: kind, DueAt: d.DueAt,
		}).Get(actx, nil)
		if err != nil {
			workflow.GetLogger(actx).Error("record breach failed", "caseID", w.caseID, "kind", kind, "error", err)
			return
		}
		w.breached[kind] = true
		w.snap.Overdue = true
		if p := deadlineOf(&w.snap, kind); p != nil {
			p.Status = DeadlineBreached
		}
		w.rearm()
	})
}

// timerAction runs act with the write lock held, if the timer (slot, key) is
// still the armed one and its deadline still running. It returns false when
// the timer was cancelled or replaced meanwhile.
func (w *complaintWF) timerAction(ctx workflow.Context, slot, key string, act func(ctx workflow.Context)) bool {
	if err := w.lock(ctx, true); err != nil {
		return false
	}
	defer w.unlock()
	if !w.current(slot, key) {
		return false
	}
	if (slot == slotAck || slot == slotRes) && !w.deadlineRunning(slot) {
		return false
	}
	// The action completes even if the timer is replaced while it runs.
	actx, _ := workflow.NewDisconnectedContext(ctx)
	act(actx)
	return true
}

// runQuiet closes a resolved case when its quiet period passes with no action.
func (w *complaintWF) runQuiet(ctx workflow.Context, key string, quiet time.Duration) {
	if workflow.NewTimer(ctx, quiet).Get(ctx, nil) != nil {
		return
	}
	w.timerAction(ctx, slotQuiet, key, func(actx workflow.Context) {
		if w.snap.State != StateResolved {
			return
		}
		_, err := w.apply(actx, TransitionInput{
			CaseID:    w.caseID,
			ActionID:  fmt.Sprintf("%s/%s/%d", w.caseID, ActionAutoClose, w.snap.Version),
			Action:    ActionAutoClose,
			FromState: StateResolved,
			ToState:   StateClosed,
			Args:      Action{Actor: SystemActor},
			At:        workflow.Now(actx),
		}, nil)
		if err != nil {
			workflow.GetLogger(actx).Error("auto close failed", "caseID", w.caseID, "error", err)
		}
	})
}
