// Package complaint holds ComplaintWorkflow: one per case, the single writer of
// the case's state. It carries ids and codes only, never personal information:
// free text (replies, feedback, reasons) is stored by the service as a draft
// message and travels through the workflow as a message id.
package complaint

import (
	"context"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/command"
)

// TaskQueue is the task queue the complaint workers poll.
const TaskQueue = "redress-complaints"

// WorkflowName is the registered name of ComplaintWorkflow.
const WorkflowName = "ComplaintWorkflow"

// WorkflowID derives the workflow id from the case id, so that a second start
// of the same case is refused by Temporal instead of creating a duplicate.
func WorkflowID(caseID string) string { return "complaint/" + caseID }

// Case states, as stored in the cases table.
const (
	StateReceived            = "received"
	StateAccepted            = "accepted"
	StateRejected            = "rejected"
	StateInProgress          = "in_progress"
	StateAwaitingComplainant = "awaiting_complainant"
	StateResolved            = "resolved"
	StateReopened            = "reopened"
	StateClosed              = "closed"
	StateMerged              = "merged"
)

// Update names: every human action on a case is a Temporal Update.
const (
	UpdateAccept             = "accept"
	UpdateReject             = "reject"
	UpdateAssign             = "assign"
	UpdateRequestInformation = "request_information"
	UpdateComplainantReplied = "complainant_replied"
	UpdateResolve            = "resolve"
	UpdateClose              = "close"
	UpdateReopen             = "reopen"
	UpdateMerge              = "merge"
	UpdateReply              = "reply"
)

// QueryState answers the workflow's view of the case (state, deadlines, paused).
const QueryState = "state"

// Deadline kinds.
const (
	DeadlineAcknowledgement = "acknowledgement"
	DeadlineResolution      = "resolution"
)

// Notice kinds sent to the complainant.
const (
	NoticeAcknowledgement = "acknowledgement"
	NoticeRejection       = "rejection"
	NoticeResult          = "result"
	NoticeReply           = "reply"
	NoticeInfoRequest     = "information_request"
)

// Input starts the workflow: the case id (everything else is loaded from
// the record by the first task) and the start path the run takes.
type Input struct {
	CaseID string
	// Start is the version of a new case's first task (versionLeanStart)
	// that its starter chose: new runs get CurrentStart. Carried in the
	// input rather than asked of workflow.GetVersion, whose marker also
	// upserts the TemporalChangeVersion search attribute: two events and a
	// search-attribute update per case for a choice the starter makes. Zero
	// (not workflow.DefaultVersion) in runs started before the field: they
	// read the version from their history as they always did.
	Start workflow.Version
}

// CurrentStart is the start path new runs take (Input.Start).
const CurrentStart = leanStartAckInline

// Action is the argument of every Update. Fields unused by an action stay empty.
type Action struct {
	// Actor is the authenticated principal (user id or service account), never a name.
	Actor string
	// MessageID points at a draft message (reply, feedback, rejection text,
	// question, complainant answer) written by the service before the update.
	MessageID string
	// ReasonCode is a code from a fixed list (rejection reasons).
	ReasonCode string
	// Assignee is a user id.
	Assignee string
	// PrimaryCaseID is the case a duplicate is merged into.
	PrimaryCaseID string
	// Seal is the service's signature over this action (see package
	// command): the validator refuses an action without a valid one.
	Seal command.Seal
}

// unsealed is the action as signed: its Seal zero.
func (a Action) unsealed() Action { a.Seal = command.Seal{}; return a }

// WithSeal returns the action carrying seal (command.Sealable: the
// services' signer seals it).
func (a Action) WithSeal(seal command.Seal) any { a.Seal = seal; return a }

// DeadlineInfo is a deadline as the workflow knows it. No personal data.
type DeadlineInfo struct {
	Kind        string
	DueAt       time.Time
	RuleID      string
	Provisional bool
	// Pausable is true where the policy lets the clock stop while the case
	// awaits the complainant.
	Pausable  bool
	Reminders []time.Time
	Status    string // open, paused, met, breached
}

// CaseSnapshot is what activities return about a case: ids, codes, times.
type CaseSnapshot struct {
	CaseID          string
	CaseNumber      string
	State           string
	Assignee        string
	Category        string
	Overdue         bool
	Acknowledgement DeadlineInfo
	Resolution      DeadlineInfo
	// QuietPeriod after resolution before the case closes by itself.
	QuietPeriod time.Duration
	// Version increases with every transition written.
	Version int64
}

// TransitionInput asks the activity to write one state change with its audit
// entry in one transaction. ActionID makes the write idempotent: a retried
// activity with the same ActionID changes nothing and returns the snapshot.
type TransitionInput struct {
	CaseID    string
	ActionID  string
	Action    string // one of the Update names, or "auto_close"
	FromState string
	ToState   string
	Args      Action
	At        time.Time
	// Deadline changes that go with the transition (met, paused, resumed with a new due time).
	DeadlineChanges []DeadlineChange
}

// DeadlineChange records a deadline status change in the same transaction.
type DeadlineChange struct {
	Kind   string
	Status string    // met, paused, open
	DueAt  time.Time // new due time when the clock resumes; zero otherwise
}

// BreachInput marks a deadline missed: the case becomes overdue and an
// sla_breach escalation row is recorded, with the audit entry, in one transaction.
type BreachInput struct {
	CaseID string
	Kind   string
	DueAt  time.Time
}

// ReminderInput records a reminder before a deadline (audit entry + internal notice).
type ReminderInput struct {
	CaseID  string
	Kind    string
	DueAt   time.Time
	Ordinal int // 1 = first reminder (50%), 2 = second (80%)
}

// NoticeInput sends one notice to the complainant. DedupeKey makes it
// at-most-once per key even when the activity is retried.
type NoticeInput struct {
	CaseID    string
	Kind      string
	MessageID string
	DedupeKey string
}

// ExtendInput asks for the resolution deadline moved by a pause, computed by
// the policy engine from the stored rule.
type ExtendInput struct {
	CaseID      string
	PausedFrom  time.Time
	PausedUntil time.Time
}

// Activities is implemented by the worker (services/worker) against the database.
type Activities interface {
	// LoadCase reads the case and marks its workflow as started.
	LoadCase(ctx context.Context, caseID string) (CaseSnapshot, error)
	ApplyTransition(ctx context.Context, in TransitionInput) (CaseSnapshot, error)
	// ExtendDeadline computes the resolution deadline after a pause (policy
	// engine, stored rule) without writing it; the resume transition writes it.
	ExtendDeadline(ctx context.Context, in ExtendInput) (DeadlineInfo, error)
	RecordBreach(ctx context.Context, in BreachInput) error
	RecordReminder(ctx context.Context, in ReminderInput) error
	SendNotice(ctx context.Context, in NoticeInput) error
}
