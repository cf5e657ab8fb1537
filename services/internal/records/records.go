// Package records holds the GORM models of the PostgreSQL record. Columns
// ending in Enc hold ciphertext under the data subject's key (internal/crypto).
package records

import "time"

// Case is a complaint or a report. Its state is written only by the case's
// workflow (through worker activities); intake writes the first row.
type Case struct {
	ID              string `gorm:"primaryKey;type:uuid"`
	CaseNumber      string
	Kind            string
	Category        string
	Channel         string
	ReferringBody   string
	State           string
	Assignee        string
	ComplainantID   string `gorm:"type:uuid"`
	SubjectType     string
	SubjectValue    string `gorm:"-"` // clear, in memory only: stored sealed in SubjectValueEnc
	SubjectValueEnc []byte
	LeakedDataType  string
	LeakSource      string // names the leaking organisation, for incident clustering; blanked at erasure
	Description     string `gorm:"-"` // clear, in memory only: stored sealed in DescriptionEnc
	DescriptionEnc  []byte
	PolicyPack      string
	Language        string // the complainant's: "zh" or "en"
	AckDueAt        time.Time
	ResolutionDueAt time.Time
	RegulatorDueAt  *time.Time
	Overdue         bool
	MergedInto      *string `gorm:"type:uuid"`
	RejectionReason string
	LookupCodeHash  []byte
	LookupCodeEnc   []byte
	// SourceMessageIDEnc is the Message-ID of the mail that opened the case,
	// sealed under the complainant's key as FieldSourceMessageID; notices
	// answer it.
	SourceMessageIDEnc []byte
	Version            int64
	WorkflowStartedAt  *time.Time
	SubmittedBy        *string // principal that submitted it; nil = a person or unknown (before it was recorded)
	ReceivedAt         time.Time
	UpdatedAt          time.Time `gorm:"autoUpdateTime:false"`
}

// Complainant holds the complainant's personal information, encrypted.
type Complainant struct {
	ID               string `gorm:"primaryKey;type:uuid"`
	SubjectKeyID     string `gorm:"type:uuid"`
	NameEnc          []byte
	PhoneEnc         []byte
	EmailEnc         []byte
	IDNumberEnc      []byte `gorm:"column:id_number_enc"`
	PhoneIndex       []byte
	EmailIndex       []byte
	PreferredContact string
	CreatedAt        time.Time
}

// Deadline is one statutory deadline of a case with the rule that set it.
type Deadline struct {
	CaseID      string `gorm:"primaryKey;type:uuid"`
	Kind        string `gorm:"primaryKey"`
	DueAt       time.Time
	RuleID      string
	Citation    string
	Provisional bool
	Pausable    bool
	Reminders   []time.Time `gorm:"serializer:json"`
	Status      string
	PausedAt    *time.Time
	MetAt       *time.Time
	BreachedAt  *time.Time
}

// Message kinds.
const (
	MessageNote                = "note"
	MessageReply               = "reply"
	MessageFeedback            = "feedback"
	MessageRejection           = "rejection"
	MessageInformationRequest  = "information_request"
	MessageComplainantResponse = "complainant_response"
	MessageReopenReason        = "reopen_reason"
)

// Message statuses: a draft is written before the workflow update that uses
// it and committed by the update's activity, so a refused update leaves no
// visible half-record.
const (
	MessageDraft     = "draft"
	MessageCommitted = "committed"
	MessageDiscarded = "discarded"
)

// CaseMessage is a note, reply, feedback or other text on a case.
type CaseMessage struct {
	ID        string `gorm:"primaryKey;type:uuid"`
	CaseID    string `gorm:"type:uuid"`
	Kind      string
	BodyEnc   []byte
	Author    string
	Status    string
	CreatedAt time.Time
}

// Attachment is evidence attached to a case, content and name encrypted.
type Attachment struct {
	ID          string `gorm:"primaryKey;type:uuid"`
	CaseID      string `gorm:"type:uuid"`
	FileName    string `gorm:"-"` // clear, in memory only: stored sealed in FileNameEnc
	FileNameEnc []byte
	ContentType string
	SizeBytes   int64
	SHA256      []byte `gorm:"column:sha256"`
	ContentEnc  []byte
	CreatedAt   time.Time
}

// CaseAction records a transition written by a workflow activity, by the
// update id, so a retried activity writes nothing twice.
type CaseAction struct {
	ActionID  string `gorm:"primaryKey"`
	CaseID    string `gorm:"type:uuid"`
	Action    string
	FromState string
	ToState   string
	Actor     string
	AppliedAt time.Time
}

// DeadlineReminder records a reminder sent before a deadline.
type DeadlineReminder struct {
	CaseID  string `gorm:"primaryKey;type:uuid"`
	Kind    string `gorm:"primaryKey"`
	Ordinal int    `gorm:"primaryKey"`
	DueAt   time.Time
	SentAt  time.Time
}

// Escalation to supervisors or regulators.
type Escalation struct {
	ID           string  `gorm:"primaryKey;type:uuid"`
	CaseID       *string `gorm:"type:uuid"`
	Kind         string
	DeadlineKind string
	Status       string
	Reason       string
	DedupeKey    string
	CreatedAt    time.Time
}

// Notification is a notice to a complainant, at most one per DedupeKey.
type Notification struct {
	ID        string `gorm:"primaryKey;type:uuid"`
	CaseID    string `gorm:"type:uuid"`
	Kind      string
	DedupeKey string
	Channel   string
	Status    string
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
}

// IntakeIdempotency maps a client's idempotency key to the case it created.
type IntakeIdempotency struct {
	Key         string `gorm:"primaryKey"`
	RequestHash []byte
	CaseID      string `gorm:"type:uuid"`
	CreatedAt   time.Time
}

func (IntakeIdempotency) TableName() string { return "intake_idempotency" }

// FieldSourceMessageID is the sealing field of Case.SourceMessageIDEnc.
const FieldSourceMessageID = "source_message_id"

// InboundMessage is a mail or SMS from a complainant added to a case: Key is
// a keyed hash of its channel and its own id, so it is added once.
type InboundMessage struct {
	Key        []byte `gorm:"primaryKey"`
	CaseID     string `gorm:"type:uuid"`
	MessageID  string `gorm:"type:uuid"`
	ReceivedAt time.Time
}

// AuditView is the part of a case that audit digests cover: facts and state,
// never personal data.
func (c Case) AuditView() map[string]any {
	return map[string]any{
		"id": c.ID, "case_number": c.CaseNumber, "state": c.State, "category": c.Category, "channel": c.Channel,
		"assignee": c.Assignee, "version": c.Version, "rejection_reason": c.RejectionReason,
		"merged_into": c.MergedInto, "overdue": c.Overdue,
		"ack_due_at": c.AckDueAt, "resolution_due_at": c.ResolutionDueAt,
	}
}

// CaseSearchToken is one keyed search token of a case (crypto.SearchTokens).
type CaseSearchToken struct {
	TokenHash []byte `gorm:"primaryKey"`
	CaseID    string `gorm:"primaryKey;type:uuid"`
}
