package escalation

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

// Activity names.
const (
	ActivityLoadEscalation    = "LoadEscalation"
	ActivityBuildPackage      = "BuildPackage"
	ActivitySubmit            = "Submit"
	ActivityApplyAction       = "EscalationApplyAction"
	ActivityNotifyIndividuals = "NotifyIndividuals"
	ActivityOpenEscalation    = "OpenEscalation"
)

// RegisterWorkflow registers EscalationWorkflow under WorkflowName, as the
// worker runs it: the replay test registers it the same way.
func RegisterWorkflow(w worker.WorkflowRegistry, commands *command.Verifier) {
	w.RegisterWorkflowWithOptions(Workflow(commands), workflow.RegisterOptions{Name: WorkflowName})
}

// Register registers EscalationWorkflow, checking every Update's seal with
// commands, and impl's activities on w.
func Register(w worker.Registry, impl Activities, commands *command.Verifier) {
	RegisterWorkflow(w, commands)
	w.RegisterActivityWithOptions(impl.LoadEscalation, activity.RegisterOptions{Name: ActivityLoadEscalation})
	w.RegisterActivityWithOptions(impl.BuildPackage, activity.RegisterOptions{Name: ActivityBuildPackage})
	w.RegisterActivityWithOptions(impl.Submit, activity.RegisterOptions{Name: ActivitySubmit})
	w.RegisterActivityWithOptions(impl.ApplyAction, activity.RegisterOptions{Name: ActivityApplyAction})
	w.RegisterActivityWithOptions(impl.NotifyIndividuals, activity.RegisterOptions{Name: ActivityNotifyIndividuals})
	w.RegisterActivityWithOptions(impl.OpenEscalation, activity.RegisterOptions{Name: ActivityOpenEscalation})
}

// activityOptions: each attempt has a minute (a regulator endpoint may be
// slow), retries back off from 1 s to 1 min and never give up, except on the
// non-retryable types. A timed-out or failed submission is re-sent with the
// same idempotency key, so the regulator files it once.
func activityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{ErrTypeNotFound, ErrTypeIllegalAction, ErrTypeInvalidInput, ErrTypeRejected},
		},
	}
}

type run struct {
	snap    Snapshot
	timing  Timing
	seq     int                  // numbers the workflow's own actions (deterministic)
	pending map[string]time.Time // open follow-ups: id → due
	asked   map[string]time.Time // open follow-ups: id → when asked (their clock start)
	sent    map[string]bool      // duty reminders and breaches recorded (dutyMark keys)
	// submitting is true while a submission's activity runs: its row is
	// already visible to officers before the workflow sees the result, so
	// their actions wait for it instead of being judged on the older state.
	submitting bool
	loaded     bool // the record is read: actions before it wait
}

func (r *run) set(s Snapshot) {
	if s.Version >= r.snap.Version {
		r.snap = s
	}
}

// Workflow returns EscalationWorkflow, which runs one escalation from
// packaging to close, with the verifier of the services' command seals.
func Workflow(commands *command.Verifier) func(workflow.Context, Input) (Snapshot, error) {
	return func(ctx workflow.Context, in Input) (Snapshot, error) { return escalationWorkflow(ctx, in, commands) }
}

func escalationWorkflow(ctx workflow.Context, in Input, commands *command.Verifier) (Snapshot, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOptions())
	r := &run{timing: in.Timing.withDefaults(), pending: map[string]time.Time{}, asked: map[string]time.Time{}, sent: map[string]bool{}}
	// The handlers are there from the first task: an officer who acts on an
	// escalation the moment it shows (grading a detected incident) is not
	// refused as an unknown update; the action waits for the record.
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Snapshot, error) { return r.snap, nil }); err != nil {
		return r.snap, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAct,
		func(ctx workflow.Context, a Action) (Snapshot, error) {
			ctx = workflow.WithActivityOptions(ctx, activityOptions())
			if r.submitting || !r.loaded {
				if err := workflow.Await(ctx, func() bool { return !r.submitting && r.loaded }); err != nil {
					return r.snap, err
				}
				if err := r.legal(a); err != nil {
					return r.snap, err
				}
			}
			var s Snapshot
			err := workflow.ExecuteActivity(ctx, ActivityApplyAction, ActionInput{EscalationID: in.EscalationID, Action: a}).Get(ctx, &s)
			if err == nil {
				r.set(s)
				switch a.Type {
				case ActAddFollowUp:
					r.pending[a.FollowUpID] = a.DueAt
					r.asked[a.FollowUpID] = workflow.Now(ctx)
				case ActAnswerFollowUp:
					delete(r.pending, a.FollowUpID)
				}
			}
			return r.snap, err
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, a Action) error {
			if err := commands.CheckUpdate(ctx, a.Actor, a.unsealed(), a.Seal); err != nil {
				return err
			}
			if r.submitting || !r.loaded {
				return nil // judged once the record or the submission's result is in
			}
			return r.legal(a)
		}},
	); err != nil {
		return r.snap, err
	}
	if in.Opening != nil {
		// Opened by command: write the record first. Histories of workflows
		// started without an opening have no such activity.
		var o Opened
		if err := workflow.ExecuteActivity(ctx, ActivityOpenEscalation, OpenInput{EscalationID: in.EscalationID, Opening: *in.Opening}).Get(ctx, &o); err != nil {
			return r.snap, err
		}
		if o.EscalationID != in.EscalationID {
			return r.snap, nil // the key belongs to an escalation opened before, with its own workflow
		}
		r.timing = o.Timing.withDefaults()
	}
	if err := workflow.ExecuteActivity(ctx, ActivityLoadEscalation, in.EscalationID).Get(ctx, &r.snap); err != nil {
		return r.snap, err
	}
	r.loaded = true

	// Version 1: every dated duty has a timer (reminders, breach), and an
	// incident detected from complaints waits for its grade before filing.
	v := workflow.GetVersion(ctx, versionDutyTimers, workflow.DefaultVersion, 1)
	if v == workflow.DefaultVersion {
		workflow.Go(ctx, func(ctx workflow.Context) { r.watchFollowUps(ctx, in.EscalationID) })
	} else {
		workflow.Go(ctx, func(ctx workflow.Context) { r.watchDuties(ctx, in.EscalationID) })
	}

	if v != workflow.DefaultVersion && r.snap.AwaitingGrade {
		// Not filed on the complaints' word alone: an officer grades it first
		// (its clock runs meanwhile, and the duty timers remind and alert).
		if err := workflow.Await(ctx, func() bool { return !r.snap.AwaitingGrade || r.snap.Status == StatusClosed }); err != nil {
			return r.snap, err
		}
	}
	notified := false
	if r.snap.Status == StatusOpen && r.snap.Attempts == 0 && r.snap.BelowThreshold &&
		workflow.GetVersion(ctx, versionOfficerDuty, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		if err := r.awaitReportable(ctx, in.EscalationID, &notified); err != nil {
			return r.snap, err
		}
	}
	if r.snap.Status == StatusOpen && r.snap.Attempts == 0 {
		if err := workflow.ExecuteActivity(ctx, ActivityBuildPackage, in.EscalationID).Get(ctx, nil); err != nil {
			return r.snap, err
		}
		if err := r.submit(ctx, in.EscalationID); err != nil {
			return r.snap, err
		}
	}
	for r.snap.Status != StatusClosed {
		if r.snap.Kind == KindIncident && r.snap.NotifyDecision == "notify" && !notified {
			if err := workflow.ExecuteActivity(ctx, ActivityNotifyIndividuals, in.EscalationID).Get(ctx, nil); err != nil {
				return r.snap, err
			}
			notified = true
		}
		if r.snap.Status != StatusFiled || r.snap.Alerted {
			status, decision := r.snap.Status, r.snap.NotifyDecision
			if err := workflow.Await(ctx, func() bool {
				return r.snap.Status != status || r.snap.NotifyDecision != decision
			}); err != nil {
				return r.snap, err
			}
			continue
		}
		if err := r.awaitAck(ctx, in.EscalationID); err != nil {
			return r.snap, err
		}
	}
	// Let an update that closed the escalation answer before the run ends.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return r.snap, nil
}

// versionOfficerDuty names the change that holds back the filing of an
// incident an officer graded below "relatively serious" (workflow.GetVersion).
const versionOfficerDuty = "officer-duty"

// awaitReportable holds an incident graded below the reporting threshold:
// recorded, not filed, until an officer re-grades it at or above the
// threshold or closes it. A decision to notify the individuals is carried
// out meanwhile (PIPL Art. 57 does not depend on the grade).
func (r *run) awaitReportable(ctx workflow.Context, id string, notified *bool) error {
	for r.snap.BelowThreshold && r.snap.Status != StatusClosed {
		if r.snap.NotifyDecision == "notify" && !*notified {
			if err := workflow.ExecuteActivity(ctx, ActivityNotifyIndividuals, id).Get(ctx, nil); err != nil {
				return err
			}
			*notified = true
			continue
		}
		decision := r.snap.NotifyDecision
		if err := workflow.Await(ctx, func() bool {
			return !r.snap.BelowThreshold || r.snap.Status == StatusClosed || r.snap.NotifyDecision != decision
		}); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) submit(ctx workflow.Context, id string) error {
	var res SubmitResult
	r.submitting = true
	defer func() { r.submitting = false }()
	err := workflow.ExecuteActivity(ctx, ActivitySubmit, SubmitInput{EscalationID: id, Attempt: r.snap.Attempts + 1}).Get(ctx, &res)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == ErrTypeRejected {
			// The regulator refused the filing: a person must look at it.
			return r.alert(ctx, id)
		}
		return err
	}
	r.set(res.Snapshot)
	return nil
}

// awaitAck waits for the acknowledgement of the last submission: a reminder
// at half the wait, at the deadline a re-submission (same idempotency key),
// and after the last re-submission a supervisor alert.
func (r *run) awaitAck(ctx workflow.Context, id string) error {
	for r.snap.Status == StatusFiled && !r.snap.Alerted {
		attempt := r.snap.Attempts
		start := workflow.Now(ctx)
		for half := range 2 {
			acked, err := workflow.AwaitWithTimeout(ctx, r.timing.AckWait/2, func() bool {
				return r.snap.Status != StatusFiled || r.snap.Attempts != attempt
			})
			if err != nil {
				return err
			}
			if acked {
				return nil
			}
			if half == 0 {
				if err := r.act(ctx, id, Action{Type: ActAckReminder, Reference: fmt.Sprintf("%d", attempt), At: start}); err != nil {
					return err
				}
			}
		}
		if r.snap.Adapter != AdapterManual && attempt <= r.timing.Resubmissions {
			if err := r.submit(ctx, id); err != nil {
				return err
			}
			continue
		}
		return r.alert(ctx, id)
	}
	return nil
}

// watchFollowUps records each follow-up whose answer is not in by its due
// date (audit; the supervisors are told), once.
func (r *run) watchFollowUps(ctx workflow.Context, id string) {
	for r.snap.Status != StatusClosed {
		if len(r.pending) == 0 {
			if workflow.Await(ctx, func() bool { return len(r.pending) > 0 || r.snap.Status == StatusClosed }) != nil {
				return
			}
			continue
		}
		next, due := "", time.Time{}
		for fid, d := range r.pending { // earliest due, ties by id: deterministic
			if next == "" || d.Before(due) || d.Equal(due) && fid < next {
				next, due = fid, d
			}
		}
		count := len(r.pending)
		changed, err := workflow.AwaitWithTimeout(ctx, max(due.Sub(workflow.Now(ctx)), time.Millisecond), func() bool {
			_, still := r.pending[next]
			return !still || len(r.pending) != count || r.snap.Status == StatusClosed
		})
		if err != nil {
			return
		}
		if changed {
			continue
		}
		delete(r.pending, next)
		if err := r.act(ctx, id, Action{Type: ActFollowUpOverdue, FollowUpID: next}); err != nil {
			workflow.GetLogger(ctx).Warn("follow-up overdue not recorded", "error", err)
		}
	}
}

// versionDutyTimers names the change that added the duty timers and the
// wait for an incident's grade (workflow.GetVersion).
const versionDutyTimers = "duty-timers"

// duty is a dated duty of the escalation: its clock runs from start to due.
type duty struct {
	name       string // DutyReport, DutyFiling, DutyFollowUpPrefix+id
	followUpID string
	start, due time.Time
}

// duties are the escalation's dated duties still undone, in a deterministic order.
func (r *run) duties() []duty {
	var out []duty
	s := r.snap
	if s.Status != StatusClosed && s.FiledAt == nil {
		switch s.Kind {
		case KindIncident, KindMandatoryReport, KindRegulatorInquiry:
			if s.DueAt != nil {
				out = append(out, duty{name: DutyReport, start: s.ClockStart, due: *s.DueAt})
			}
		default:
			out = append(out, duty{name: DutyFiling, start: s.ClockStart, due: s.ClockStart.Add(r.timing.FilingWait)})
		}
	}
	for id, due := range r.pending {
		out = append(out, duty{name: DutyFollowUpPrefix + id, followUpID: id, start: r.asked[id], due: due})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// dutyMark is one reminder (fraction < 1) or the breach (1) of a duty.
type dutyMark struct {
	duty duty
	frac float64
	at   time.Time
	key  string
}

func (d duty) marks() []dutyMark {
	start := d.start
	if start.IsZero() || !start.Before(d.due) {
		start = d.due // no period to remind within: only the breach
	}
	fracs := append(slices.Clone(ReminderMarks), 1)
	out := make([]dutyMark, len(fracs))
	for i, f := range fracs {
		at := start.Add(time.Duration(f * float64(d.due.Sub(start))))
		if f == 1 {
			at = d.due
		}
		out[i] = dutyMark{duty: d, frac: f, at: at,
			key: d.name + "@" + d.due.UTC().Format(time.RFC3339Nano) + "/" + strconv.FormatFloat(f, 'f', -1, 64)}
	}
	return out
}

// nextMark answers the next mark to record: per duty the first one not yet
// recorded, or, when several are already past (a late start, a re-grade),
// only the latest of those, so nobody gets a stale reminder after the breach.
func (r *run) nextMark(now time.Time) (dutyMark, bool) {
	var next dutyMark
	found := false
	for _, d := range r.duties() {
		ms := d.marks()
		first := 0
		for i := len(ms) - 1; i >= 0; i-- {
			if r.sent[ms[i].key] {
				first = i + 1
				break
			}
		}
		if first == len(ms) {
			continue
		}
		c := first
		for c+1 < len(ms) && !ms[c+1].at.After(now) {
			c++
		}
		if !found || ms[c].at.Before(next.at) {
			next, found = ms[c], true
		}
	}
	return next, found
}

// watchDuties records, for every dated duty, a reminder at each of
// ReminderMarks of its period and the breach at its due time (a breach row,
// an audit entry and a mail to the supervisors), unless the duty is done
// first: the escalation filed, the follow-up answered, or it closed.
func (r *run) watchDuties(ctx workflow.Context, id string) {
	for r.snap.Status != StatusClosed {
		now := workflow.Now(ctx)
		m, ok := r.nextMark(now)
		ver, n := r.snap.Version, len(r.pending)
		changed := func() bool { return r.snap.Version != ver || len(r.pending) != n || r.snap.Status == StatusClosed }
		if !ok {
			if workflow.Await(ctx, changed) != nil {
				return
			}
			continue
		}
		if m.at.After(now) {
			moved, err := workflow.AwaitWithTimeout(ctx, m.at.Sub(now), changed)
			if err != nil {
				return
			}
			if moved {
				continue
			}
		}
		r.sent[m.key] = true
		a := Action{Type: ActDutyReminder, Reference: m.duty.name, FollowUpID: m.duty.followUpID, DueAt: m.duty.due,
			Step: strconv.Itoa(int(m.frac*100)) + "%"}
		if m.frac == 1 {
			a.Type, a.Step = ActDutyBreached, ""
			if m.duty.followUpID != "" {
				a.Type = ActFollowUpOverdue
				delete(r.pending, m.duty.followUpID)
			}
		}
		if err := r.act(ctx, id, a); err != nil {
			workflow.GetLogger(ctx).Warn("duty timer not recorded", "type", a.Type, "duty", m.duty.name, "error", err)
		}
	}
}

func (r *run) alert(ctx workflow.Context, id string) error {
	return r.act(ctx, id, Action{Type: ActSupervisorAlert})
}

// act applies a workflow-originated action under a deterministic id.
func (r *run) act(ctx workflow.Context, id string, a Action) error {
	info := workflow.GetInfo(ctx)
	r.seq++
	a.ID = fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.RunID, a.Type, r.seq)
	a.Actor = "system:workflow"
	if a.At.IsZero() {
		a.At = workflow.Now(ctx)
	}
	var s Snapshot
	if err := workflow.ExecuteActivity(ctx, ActivityApplyAction, ActionInput{EscalationID: id, Action: a}).Get(ctx, &s); err != nil {
		return err
	}
	r.set(s)
	return nil
}

// legal refuses actions that the escalation's state does not allow, before
// anything is written.
func (r *run) legal(a Action) error {
	s := r.snap
	illegal := func(format string, args ...any) error {
		return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrTypeIllegalAction)
	}
	if s.Status == StatusClosed {
		return illegal("escalation is closed")
	}
	switch a.Type {
	case ActRecordFiling:
		if s.Status != StatusOpen || s.Adapter != AdapterManual || s.Attempts == 0 {
			return illegal("no manual filing is pending (status %s, adapter %s)", s.Status, s.Adapter)
		}
	case ActAcknowledge:
		if s.Status != StatusFiled {
			return illegal("escalation was never filed or is already acknowledged (status %s)", s.Status)
		}
	case ActAddFollowUp, ActAnswerFollowUp:
		if s.Status != StatusFiled && s.Status != StatusAcknowledged {
			return illegal("follow-ups need a filed escalation (status %s)", s.Status)
		}
	case ActRecordStep:
		if s.Kind != KindMandatoryReport {
			return illegal("steps belong to mandatory reports, not %s", s.Kind)
		}
		if !slices.Contains(MandatorySteps, a.Step) {
			return temporal.NewApplicationError("unknown step", ErrTypeInvalidInput)
		}
	case ActLinkCases, ActGrade, ActNotifyDecision, ActSetDiscovery:
		if s.Kind != KindIncident {
			return illegal("only incidents take %s", a.Type)
		}
	case ActClose:
	default:
		return temporal.NewApplicationError("unknown action "+a.Type, ErrTypeInvalidInput)
	}
	return nil
}
