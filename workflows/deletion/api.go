// Package deletion holds DeletionWorkflow: one per personal-information rights
// request, the single writer of the request's state. Like the complaint
// workflow it carries ids, connector names, counts and digests only — never
// an identifier of the requester; activities load those from the record.
package deletion

import (
	"context"
	"time"

	"github.com/redress/redress/workflows/command"
)

// TaskQueue is the task queue the deletion workers poll.
const TaskQueue = "redress-deletions"

// WorkflowName is the registered name of DeletionWorkflow.
const WorkflowName = "DeletionWorkflow"

// WorkflowID derives the workflow id from the request id, so a second start
// of the same request is refused by Temporal instead of duplicating it.
func WorkflowID(deletionID string) string { return "deletion/" + deletionID }

// Request statuses, as stored in deletion_requests.
const (
	StatusAwaitingIdentity = "awaiting_identity"
	StatusLocating         = "locating"
	StatusAwaitingApproval = "awaiting_approval"
	StatusExecuting        = "executing"
	StatusVerifying        = "verifying"
	StatusRestricted       = "restricted" // done, except items under a retention floor
	StatusCompleted        = "completed"
	StatusRejected         = "rejected"
	StatusCancelled        = "cancelled"
	StatusFailed           = "failed"
)

// Update names: every human step reaches the workflow as an Update.
const (
	UpdateIdentityVerified = "identity_verified"
	UpdateApprove          = "approve"
	UpdateReject           = "reject"
	UpdateCancel           = "cancel"
	UpdateExtendDeadline   = "extend_deadline"
)

// Plan actions.
const (
	ActionDelete   = "delete"
	ActionMask     = "mask"
	ActionRestrict = "restrict" // kept under a retention floor until RestrictUntil, then deleted
	ActionShred    = "shred"
	ActionTask     = "task"
	ActionWebhook  = "webhook"
)

// Input starts the workflow.
type Input struct {
	DeletionID string
}

// Action is the argument of every Update.
type Action struct {
	Actor      string
	Method     string // identity: "otp" or "attestation"
	Channel    string // identity by otp: "sms" or "email"
	PlanDigest string // approve: the digest of the plan approved
	ReasonCode string // reject, cancel
	// ReasonTextID names the reject, cancel or extension reason text the
	// service stored (deletion_reason_texts): free text never enters
	// workflow history.
	ReasonTextID string
	// extend_deadline: the due date and rule the policy allows once extended.
	NewDueAt   time.Time
	NewDueRule string
	// Seal is the service's signature over this action (see package
	// command): the validator refuses an action without a valid one.
	Seal command.Seal
}

// unsealed is the action as signed: its Seal zero.
func (a Action) unsealed() Action { a.Seal = command.Seal{}; return a }

// WithSeal returns the action carrying seal (command.Sealable: the
// services' signer seals it).
func (a Action) WithSeal(seal command.Seal) any { a.Seal = seal; return a }

// Snapshot is the workflow's view of the request.
type Snapshot struct {
	Status           string
	IdentityVerified bool
	DueAt            time.Time
	PlanDigest       string
	ApprovedBy       string
	Source           string
	Extended         bool // the deadline was extended (once is all there is)
}

// PlanItem is one step of a plan (no personal data: names and counts).
type PlanItem struct {
	Connector     string     `json:"connector"`
	Target        string     `json:"target"`
	Action        string     `json:"action"`
	Count         int64      `json:"count"`
	RestrictUntil *time.Time `json:"restrict_until,omitempty"`
	Citation      string     `json:"citation,omitempty"` // the retention duty a restrict item rests on
}

// Located is what one connector found.
type Located struct {
	Connector string
	Items     []PlanItem
	Digest    string // digest of the matched rows before any action
}

// Plan is the dry-run plan.
type Plan struct {
	Items        []PlanItem
	Digest       string
	AutoApproved bool
	// RestrictUntil is the latest retention date among restrict items (nil: none).
	RestrictUntil *time.Time
}

// ApplyInput names one connector's part of the approved plan.
type ApplyInput struct {
	DeletionID string
	Connector  string
	PlanDigest string
	Step       string // "execute" or "deferred" (after the retention floor)
}

// Receipt is the answer of one connector's action.
type Receipt struct {
	Connector string
	Step      string
	Affected  int64
	Reference string
	Replayed  bool // the action had already been applied: this is the stored receipt
}

// VerifyInput names one connector to re-query.
type VerifyInput struct {
	DeletionID string
	Connector  string
	Step       string
}

// StatusInput moves the request to a status.
type StatusInput struct {
	DeletionID   string
	Status       string
	Actor        string
	ReasonCode   string
	ReasonTextID string
}

// FinishInput closes a phase with evidence and a certificate.
type FinishInput struct {
	DeletionID string
	Step       string
	Receipts   []Receipt
}

// BreachInput records a missed deadline.
type BreachInput struct {
	DeletionID string
	DueAt      time.Time
}

// EscalateInput records a connector that still holds data after retries.
type EscalateInput struct {
	DeletionID string
	Connector  string
	Reason     string
}

// NoticeInput sends the requester a notice.
type NoticeInput struct {
	DeletionID string
	Kind       string // "completed", "rejected", "restricted", "extended"
}

// NoticeExtended is the notice kind telling the requester the new due date.
const NoticeExtended = "extended"

// Activities is the contract the worker implements.
type Activities interface {
	Load(ctx context.Context, deletionID string) (Snapshot, error)
	SetStatus(ctx context.Context, in StatusInput) (Snapshot, error)
	RecordIdentity(ctx context.Context, deletionID string, a Action) (Snapshot, error)
	RecordApproval(ctx context.Context, deletionID string, a Action) (Snapshot, error)
	// RecordExtension moves the due date to a.NewDueAt, once, with its audit entry.
	RecordExtension(ctx context.Context, deletionID string, a Action) (Snapshot, error)
	// RecomputeDue recomputes the due date from its rule on the calendars in
	// force and writes it, with an audit entry naming the old and new date,
	// when it moved.
	RecomputeDue(ctx context.Context, deletionID string, a Action) (Snapshot, error)
	EnabledConnectors(ctx context.Context) ([]string, error)
	Locate(ctx context.Context, deletionID, connector string) (Located, error)
	BuildPlan(ctx context.Context, deletionID string, found []Located) (Plan, error)
	Apply(ctx context.Context, in ApplyInput) (Receipt, error)
	Verify(ctx context.Context, in VerifyInput) (int64, error)
	Finish(ctx context.Context, in FinishInput) (Snapshot, error)
	RecordBreach(ctx context.Context, in BreachInput) error
	Escalate(ctx context.Context, in EscalateInput) error
	Notify(ctx context.Context, in NoticeInput) error
	Remind(ctx context.Context, deletionID string) error
	// ForgetRequester shreds the key of the requester's own identifiers once
	// the completion notice went out: only the suppression hashes remain.
	ForgetRequester(ctx context.Context, deletionID string) error
}
