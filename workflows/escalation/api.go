// Package escalation holds EscalationWorkflow: one per escalation, the single
// writer of its state. It packages the filing, submits it through the
// regulator adapter, waits for the acknowledgement under a deadline (reminder,
// re-submission, then a supervisor alert) and records the officers' actions
// (filing reference, acknowledgement, follow-ups, steps, close) as Updates.
// It carries ids and codes only; free text is stored by the service first.
package escalation

import (
	"context"
	"time"

	"github.com/redress/redress/workflows/command"
)

// TaskQueue is the task queue the escalation workers poll.
const TaskQueue = "redress-escalations"

// WorkflowName is the registered name of EscalationWorkflow.
const WorkflowName = "EscalationWorkflow"

// WorkflowID derives the workflow id from the escalation id: a second start
// is refused by Temporal.
func WorkflowID(escalationID string) string { return "escalation/" + escalationID }

// Escalation kinds (SPEC §2.4).
const (
	KindSLABreach        = "sla_breach"
	KindMandatoryReport  = "mandatory_report"
	KindIncident         = "incident"
	KindRegulatorInquiry = "regulator_inquiry"
	KindManual           = "manual"
)

// Statuses, as stored in escalations.status.
const (
	StatusOpen         = "open"         // not filed yet (or ready for a manual filing)
	StatusFiled        = "filed"        // submitted, awaiting the regulator's acknowledgement
	StatusAcknowledged = "acknowledged" // the regulator acknowledged; follow-ups until closed
	StatusClosed       = "closed"
)

// Adapters.
const (
	AdapterHTTPS  = "https"
	AdapterEmail  = "email"
	AdapterManual = "manual"
)

// Filing outcomes.
const (
	OutcomeAcknowledged  = "acknowledged"            // the answer carried the acknowledgement id
	OutcomeAccepted      = "accepted"                // received; acknowledgement comes later
	OutcomeReadyInManual = "ready_for_manual_filing" // an officer files it and records the reference
)

// Mandatory-report steps (CSL 2016 Art. 47/48: stop, eliminate, keep records,
// report; Art. 48 ¶2 adds stopping the service to the user who spreads
// malware or prohibited content: suspend_account).
var MandatorySteps = []string{"stop", "eliminate", "keep_records", "report", "suspend_account"}

// UpdateAct is the one Update every officer action travels through.
const UpdateAct = "act"

// QueryState answers the workflow's snapshot.
const QueryState = "state"

// Action types.
const (
	ActRecordFiling     = "record_filing"
	ActAcknowledge      = "acknowledge"
	ActAddFollowUp      = "add_follow_up"
	ActAnswerFollowUp   = "answer_follow_up"
	ActRecordStep       = "record_step"
	ActClose            = "close"
	ActLinkCases        = "link_cases"
	ActGrade            = "grade"
	ActSetDiscovery     = "set_discovery" // an officer sets when the operator discovered the incident
	ActNotifyDecision   = "notify_decision"
	ActSupervisorAlert  = "supervisor_alert"
	ActAckReminder      = "ack_reminder"
	ActNotifyIndividual = "notify_individuals"
	ActFollowUpOverdue  = "follow_up_overdue" // the workflow's own: an answer is late
	ActDutyReminder     = "duty_reminder"     // the workflow's own: a dated duty is near its due time
	ActDutyBreached     = "duty_breached"     // the workflow's own: a dated duty passed undone
)

// Dated duties the workflow times (Action.Reference of a duty reminder or
// breach; escalation_breaches.duty).
const (
	// DutyReport: the escalation's legal due date (incident report, mandatory
	// report, regulator inquiry) passes before it is filed.
	DutyReport = "report"
	// DutyFiling: an escalation without a legal due date (SLA breach, manual)
	// is still not filed Timing.FilingWait after it opened; with the manual
	// adapter that means nobody recorded a filing.
	DutyFiling = "filing"
	// DutyFollowUpPrefix + follow-up id: a regulator's question unanswered by
	// its due date.
	DutyFollowUpPrefix = "follow_up/"
)

// ReminderMarks are the fractions of a duty's period (clock start to due) at
// which the supervisors are reminded; the breach is at 1. The same for
// hour-scale and day-scale duties: a 1 h incident report is reminded at 30
// and 48 minutes, a 10-day inquiry at 5 and 8 days.
var ReminderMarks = []float64{0.5, 0.8}

// Action is an officer's action. ID is the update id: the activity records
// it, so a retried write changes nothing twice. No personal data: texts are
// stored by the service before the update (follow-up rows) and named by id.
type Action struct {
	ID            string
	Type          string
	Actor         string
	At            time.Time
	Reference     string
	FollowUpID    string
	DueAt         time.Time // a follow-up's due date (add_follow_up); a duty's (duty_reminder, duty_breached)
	Step          string
	CaseIDs       []string
	OperatorClass string
	// Severity is an incident's grade (grade; see ValidSeverity);
	// DiscoveredAt when the operator discovered it (set_discovery).
	Severity     string
	DiscoveredAt time.Time
	Decision     string
	// Seal is the service's signature over this action (see package
	// command): the validator refuses an action without a valid one.
	Seal command.Seal
}

// unsealed is the action as signed: its Seal zero.
func (a Action) unsealed() Action { a.Seal = command.Seal{}; return a }

// WithSeal returns the action carrying seal (command.Sealable: the
// services' signer seals it).
func (a Action) WithSeal(seal command.Seal) any { a.Seal = seal; return a }

// Input starts the workflow.
type Input struct {
	EscalationID string
	Timing       Timing
	// Opening, when set, opens the escalation: the workflow's first activity
	// writes its record (once per dedupe key) and answers the escalation
	// worker's timing. Openers outside the escalation service start the
	// workflow this way instead of writing escalation rows.
	Opening *Opening
}

// Opening is what opens an escalation: ids, codes and dates only. Free text
// a person wrote (an officer's reason) is stored by the escalation service
// before it opens; a system opener's Reason is built from codes and dates.
type Opening struct {
	DedupeKey         string
	Kind              string
	CaseID            string
	DeletionRequestID string
	DeadlineKind      string
	Reason            string
	Regulator         string
	DueAt             *time.Time
	DueRule           string
	DueCitation       string
	OperatorClass     string
	LeakedDataType    string
	LeakSource        string
	DiscoveredAt      *time.Time
	CaseIDs           []string // an incident's first cases
	Actor             string   // who opens it; the workflow's system actor when empty
}

// OpenInput asks the escalation worker to write the record of an opening.
type OpenInput struct {
	EscalationID string
	Opening      Opening
}

// Opened is the record an opening wrote or found.
type Opened struct {
	// EscalationID is the escalation holding the dedupe key: another one
	// than asked when an escalation opened before under the key.
	EscalationID string
	Timing       Timing // the escalation worker's
}

// Timing of the acknowledgement wait. Zero values take the defaults.
type Timing struct {
	AckWait       time.Duration // from each submission to its acknowledgement deadline
	Resubmissions int           // re-submissions before the supervisor is alerted
	// FilingWait: an escalation without a legal due date that is still not
	// filed this long after it opened is a missed duty (DutyFiling).
	FilingWait time.Duration
}

// Default timing: the regulator acknowledges within a day; two re-submissions.
const (
	DefaultAckWait       = 24 * time.Hour
	DefaultResubmissions = 2
	DefaultFilingWait    = 24 * time.Hour
)

func (t Timing) withDefaults() Timing {
	if t.AckWait <= 0 {
		t.AckWait = DefaultAckWait
	}
	if t.Resubmissions < 0 {
		t.Resubmissions = 0
	} else if t.Resubmissions == 0 {
		t.Resubmissions = DefaultResubmissions
	}
	if t.FilingWait <= 0 {
		t.FilingWait = DefaultFilingWait
	}
	return t
}

// Snapshot is the workflow's view of its escalation.
type Snapshot struct {
	ID             string
	Kind           string
	Status         string
	Adapter        string
	Version        int64
	FiledAt        *time.Time
	NotifyDecision string
	Attempts       int
	Alerted        bool
	// DueAt is the legal due date of the escalation's filing (incident,
	// mandatory report, regulator inquiry); ClockStart where its period
	// starts: an incident's discovery, otherwise the opening.
	DueAt      *time.Time
	ClockStart time.Time
	// AwaitingGrade: an incident detected from a complaint cluster that no
	// officer has graded; it is not filed until one does.
	AwaitingGrade bool
	// BelowThreshold: an incident an officer graded below "relatively
	// serious": recorded, with no duty to file it (no DueAt) unless re-graded.
	BelowThreshold bool
}

// SubmitInput asks for one submission attempt.
type SubmitInput struct {
	EscalationID string
	Attempt      int
}

// SubmitResult is the outcome of a submission.
type SubmitResult struct {
	Outcome   string
	Reference string
	Snapshot  Snapshot
}

// ActionInput applies an action.
type ActionInput struct {
	EscalationID string
	Action       Action
}

// Activities are implemented by the worker against the record.
type Activities interface {
	LoadEscalation(ctx context.Context, escalationID string) (Snapshot, error)
	// BuildPackage assembles and stores the filing package once; answers its SHA-256.
	BuildPackage(ctx context.Context, escalationID string) (string, error)
	// Submit files the package through the regulator's adapter with the
	// escalation's idempotency key and records the attempt once.
	Submit(ctx context.Context, in SubmitInput) (SubmitResult, error)
	ApplyAction(ctx context.Context, in ActionInput) (Snapshot, error)
	// NotifyIndividuals sends the incident notice to the complainants of the
	// incident's cases, once each.
	NotifyIndividuals(ctx context.Context, escalationID string) (int, error)
	// OpenEscalation writes the escalation of an opening once per dedupe key.
	OpenEscalation(ctx context.Context, in OpenInput) (Opened, error)
}

// Application error types (non-retryable).
const (
	ErrTypeNotFound      = "EscalationNotFound"
	ErrTypeIllegalAction = "IllegalAction"
	ErrTypeInvalidInput  = "InvalidInput"
	ErrTypeRejected      = "RegulatorRejected" // the regulator refused the filing (4xx)
)
