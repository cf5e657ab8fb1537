// Package deletion implements DeletionService (personal-information rights
// requests) and holds the models its workflow's activities share. The
// service records requests and identity challenges; every change of a
// request's state after submission goes through its DeletionWorkflow.
package deletion

import "time"

// Request is a row of deletion_requests. Identifiers are sealed under the
// request's own subject key; the indexes are keyed hashes.
type Request struct {
	ID                   string `gorm:"primaryKey;type:uuid"`
	Type                 string
	Source               string
	CaseID               *string `gorm:"type:uuid"`
	Status               string
	SubjectKeyID         string `gorm:"type:uuid"`
	PhoneEnc             []byte
	EmailEnc             []byte
	PhoneIndex           []byte
	EmailIndex           []byte
	PhoneHeldFrom        *time.Time
	PhoneHeldUntil       *time.Time
	PhoneVerifiedAt      *time.Time
	EmailVerifiedAt      *time.Time
	IdentityMethod       string
	AttestationReason    string `gorm:"-"` // clear, in memory only: stored sealed
	AttestationReasonEnc []byte
	Language             string
	DueAt                time.Time
	DueRule              string
	PlanDigest           string
	ApprovedBy           string
	ApprovedAt           *time.Time
	ReasonCode           string
	ReasonText           string `gorm:"-"` // clear, in memory only: stored sealed
	ReasonTextEnc        []byte
	RestrictedUntil      *time.Time
	// Set once the deadline was extended (original_due_at is the due date before).
	OriginalDueAt         *time.Time
	ExtendedAt            *time.Time
	ExtendedBy            string
	ExtensionReasonCode   string
	ExtensionReasonTextID *string `gorm:"type:uuid"`
	SubmittedBy           string
	// AttestedBy vouched for the requester's identity; AttestedByHuman when
	// a person did (then a second person approves the plan).
	AttestedBy        string
	AttestedByHuman   bool
	WorkflowStartedAt *time.Time
	// BatchID names the batch the request is carried out with (its workflow
	// is the batch's); nil once handed to its own workflow, or never batched.
	BatchID   *string `gorm:"type:uuid"`
	CreatedAt time.Time
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

func (Request) TableName() string { return "deletion_requests" }

// Batch is a row of deletion_batches: one bulk submission of requests a
// pipeline vouched for, carried out by one DeletionBatchWorkflow.
type Batch struct {
	ID                string `gorm:"primaryKey;type:uuid"`
	SubmittedBy       string
	Size              int
	CreatedAt         time.Time
	WorkflowStartedAt *time.Time
}

func (Batch) TableName() string { return "deletion_batches" }

// IdentityVerified tells whether every identifier given has been verified,
// or an agent attested the requester's identity.
func (r Request) IdentityVerified() bool {
	if r.IdentityMethod == "attestation" {
		return true
	}
	if r.PhoneEnc == nil && r.EmailEnc == nil {
		return false
	}
	return (r.PhoneEnc == nil || r.PhoneVerifiedAt != nil) && (r.EmailEnc == nil || r.EmailVerifiedAt != nil)
}

// AuditView is what the audit chain digests (no identifiers in clear).
func (r Request) AuditView() map[string]any {
	return map[string]any{
		"id": r.ID, "type": r.Type, "source": r.Source, "case_id": r.CaseID, "status": r.Status,
		"phone_index": r.PhoneIndex, "email_index": r.EmailIndex,
		"phone_verified": r.PhoneVerifiedAt != nil, "email_verified": r.EmailVerifiedAt != nil,
		"identity_method": r.IdentityMethod, "due_at": r.DueAt, "plan_digest": r.PlanDigest,
		"approved_by": r.ApprovedBy, "reason_code": r.ReasonCode, "restricted_until": r.RestrictedUntil,
		"original_due_at": r.OriginalDueAt, "extension_reason_code": r.ExtensionReasonCode,
	}
}

// Idempotency is a row of deletion_idempotency.
type Idempotency struct {
	Key         string `gorm:"primaryKey"`
	RequestHash []byte
	Keyed       bool   // RequestHash is a keyed fingerprint (RekeyIdempotency)
	DeletionID  string `gorm:"type:uuid"`
	CreatedAt   time.Time
}

func (Idempotency) TableName() string { return "deletion_idempotency" }

// Challenge is a one-time code sent to one identifier.
type Challenge struct {
	ID          string `gorm:"primaryKey;type:uuid"`
	DeletionID  string `gorm:"type:uuid"`
	Channel     string
	CodeHash    []byte
	Attempts    int
	MaxAttempts int
	ExpiresAt   time.Time
	VerifiedAt  *time.Time
	CreatedAt   time.Time
}

func (Challenge) TableName() string { return "deletion_challenges" }

// Plan is the stored dry-run plan.
type Plan struct {
	DeletionID   string `gorm:"primaryKey;type:uuid"`
	Items        string `gorm:"type:jsonb"`
	Digest       string
	AutoApproved bool
	CreatedAt    time.Time
}

func (Plan) TableName() string { return "deletion_plans" }

// Receipt is one connector's action, stored once.
type Receipt struct {
	DeletionID string `gorm:"primaryKey;type:uuid"`
	Connector  string `gorm:"primaryKey"`
	Step       string `gorm:"primaryKey"`
	Receipt    string `gorm:"type:jsonb"`
	CreatedAt  time.Time
}

func (Receipt) TableName() string { return "deletion_receipts" }

// Evidence is what one connector found and what was done.
type Evidence struct {
	DeletionID   string `gorm:"primaryKey;type:uuid"`
	Connector    string `gorm:"primaryKey"`
	Found        int64
	Action       string
	Affected     int64
	Remaining    int64
	BeforeDigest string
	AfterDigest  string
	Receipt      string
	CreatedAt    time.Time
}

func (Evidence) TableName() string { return "deletion_evidence" }

// Certificate is the deletion certificate.
type Certificate struct {
	DeletionID string `gorm:"primaryKey;type:uuid"`
	Body       string `gorm:"type:jsonb"`
	Digest     string
	IssuedAt   time.Time
}

func (Certificate) TableName() string { return "deletion_certificates" }

// Connector is a registered data system.
type Connector struct {
	Name           string `gorm:"primaryKey"`
	Kind           string
	Config         string `gorm:"type:jsonb"`
	Enabled        bool
	MaxConcurrency int
	CreatedAt      time.Time
	UpdatedAt      time.Time `gorm:"autoUpdateTime:false"`
}

func (Connector) TableName() string { return "deletion_connectors" }

// ManualTask is a manual-task connector's task.
type ManualTask struct {
	DeletionID  string `gorm:"primaryKey;type:uuid"`
	Connector   string `gorm:"primaryKey"`
	Status      string
	NoteEnc     []byte // sealed under the request's key
	CompletedBy string
	CreatedAt   time.Time
	CompletedAt *time.Time
}

func (ManualTask) TableName() string { return "deletion_manual_tasks" }

// WebhookCallback is a verified confirmation from a webhook connector.
type WebhookCallback struct {
	DeletionID string `gorm:"primaryKey;type:uuid"`
	Connector  string `gorm:"primaryKey"`
	Status     string
	Remaining  int64
	ReceivedAt time.Time
}

func (WebhookCallback) TableName() string { return "deletion_webhook_callbacks" }

// Suppression is a deleted identity's keyed hash.
type Suppression struct {
	Kind       string `gorm:"primaryKey"`
	Hash       []byte `gorm:"primaryKey"`
	DeletionID string `gorm:"type:uuid"`
	CreatedAt  time.Time
}

func (Suppression) TableName() string { return "suppression_entries" }
