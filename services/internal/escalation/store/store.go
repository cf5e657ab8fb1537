// Package store holds the escalation record: GORM models of the escalation
// tables, creation of escalations (by the service, the triggers, the
// incident detector and the workflow of an escalation opened by command) and the writes of the escalation workflow's actions,
// each with its audit entry in the same transaction and idempotent by action id.
package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/audit"
	wf "github.com/redress/redress/workflows/escalation"
)

// Escalation is a row of escalations.
type Escalation struct {
	ID                  string  `gorm:"primaryKey;type:uuid"`
	CaseID              *string `gorm:"type:uuid"`
	DeletionRequestID   *string `gorm:"type:uuid"`
	Kind                string
	DeadlineKind        string
	Status              string
	Reason              string
	DedupeKey           string
	Regulator           string
	Adapter             string
	DueAt               *time.Time
	DueRule             string
	DueCitation         string
	FiledAt             *time.Time
	FilingReference     string
	AcknowledgedAt      *time.Time
	AckReference        string
	SupervisorAlertedAt *time.Time
	ClosedAt            *time.Time
	OpenedBy            string
	OperatorClass       string
	LeakedDataType      string
	LeakSource          string
	NotifyDecision      string
	NotifyReason        string
	// DiscoveredAt starts an incident's report clock (the earliest complaint
	// about the leak, or when an officer opened it); GradedAt is when an
	// officer graded it (detected incidents are not filed before).
	DiscoveredAt *time.Time
	GradedAt     *time.Time
	GradedBy     string
	// Severity is an incident's grade (wf.Severities); below the reporting
	// threshold the incident has no due date and is not filed.
	Severity          string
	Version           int64
	WorkflowStartedAt *time.Time
	CreatedAt         time.Time  `gorm:"autoCreateTime:false"`
	UpdatedAt         *time.Time `gorm:"autoUpdateTime:false"`
}

// AuditView is what audit digests cover.
func (e Escalation) AuditView() map[string]any {
	return map[string]any{
		"id": e.ID, "kind": e.Kind, "status": e.Status, "case_id": e.CaseID, "regulator": e.Regulator,
		"adapter": e.Adapter, "due_at": e.DueAt, "filing_reference": e.FilingReference,
		"ack_reference": e.AckReference, "acknowledged_at": e.AcknowledgedAt, "closed_at": e.ClosedAt,
		"operator_class": e.OperatorClass, "notify_decision": e.NotifyDecision, "version": e.Version,
		"discovered_at": e.DiscoveredAt, "severity": e.Severity,
	}
}

// Filing is one submission attempt.
type Filing struct {
	ID             string `gorm:"primaryKey;type:uuid"`
	EscalationID   string `gorm:"type:uuid"`
	Attempt        int
	Adapter        string
	IdempotencyKey string
	Outcome        string
	Reference      string
	PackageSHA256  string `gorm:"column:package_sha256"`
	At             time.Time
}

func (Filing) TableName() string { return "escalation_filings" }

// Package is the stored filing package.
type Package struct {
	EscalationID string `gorm:"primaryKey;type:uuid"`
	Zip          []byte
	SHA256       string `gorm:"column:sha256"`
	AuditFrom    int64
	AuditTo      int64
	CreatedAt    time.Time
}

func (Package) TableName() string { return "escalation_packages" }

// FollowUp statuses: a row is a draft until the workflow's action commits it.
const (
	FollowUpDraft     = "draft"
	FollowUpOpen      = "open"
	FollowUpAnswered  = "answered"
	FollowUpDiscarded = "discarded"
)

// FollowUp is a regulator's question with its due date and answer.
type FollowUp struct {
	ID               string `gorm:"primaryKey;type:uuid"`
	EscalationID     string `gorm:"type:uuid"`
	Question         string
	DueAt            time.Time
	Answer           string // clear only for an incident (see escalation.fieldAnswer)
	AnswerEnc        []byte // sealed under the person's subject key
	AnsweredAt       *time.Time
	AttachmentName   string
	AttachmentSHA256 string `gorm:"column:attachment_sha256"`
	Attachment       []byte
	Status           string
	CreatedBy        string
	CreatedAt        time.Time
}

func (FollowUp) TableName() string { return "escalation_followups" }

// Step is a done step of a mandatory report.
type Step struct {
	EscalationID string `gorm:"primaryKey;type:uuid"`
	Step         string `gorm:"primaryKey"`
	DoneAt       time.Time
	Actor        string
}

func (Step) TableName() string { return "escalation_steps" }

// IncidentCase links a case to its incident.
type IncidentCase struct {
	CaseID       string `gorm:"primaryKey;type:uuid"`
	EscalationID string `gorm:"type:uuid"`
	LinkedAt     time.Time
	LinkedBy     string
}

func (IncidentCase) TableName() string { return "incident_cases" }

// Breach is a dated duty of an escalation that passed undone (wf.Duty*).
type Breach struct {
	EscalationID string    `gorm:"primaryKey;type:uuid"`
	Duty         string    `gorm:"primaryKey"`
	DueAt        time.Time `gorm:"primaryKey"`
	BreachedAt   time.Time
	ActionID     string
}

func (Breach) TableName() string { return "escalation_breaches" }

// ActionRecord is an applied workflow action.
type ActionRecord struct {
	ActionID     string `gorm:"primaryKey"`
	EscalationID string `gorm:"type:uuid"`
	Action       string
	AppliedAt    time.Time
}

func (ActionRecord) TableName() string { return "escalation_actions" }

// SystemActor writes what no person did.
const SystemActor = "system:workflow"

// namespace scopes the escalation ids derived from dedupe keys.
var namespace = uuid.MustParse("6f1c2a52-7c1e-4d38-9a53-0e2b8d4f1a77")

// IDFor is the escalation id of a dedupe key: whoever opens under the key
// (the service in process, or another service through the workflow engine)
// names the same escalation and so the same workflow.
func IDFor(dedupeKey string) string { return uuid.NewSHA1(namespace, []byte(dedupeKey)).String() }

// Create inserts an escalation once per DedupeKey, with its audit entry.
// It answers the stored escalation and whether this call created it. Its id
// is derived from the dedupe key unless set.
func Create(tx *gorm.DB, e Escalation, actor string, caseIDs []string) (Escalation, bool, error) {
	if e.ID == "" {
		e.ID = IDFor(e.DedupeKey)
	}
	if e.Status == "" {
		e.Status = wf.StatusOpen
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	e.OpenedBy = actor
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(&e)
	if res.Error != nil {
		return e, false, res.Error
	}
	if res.RowsAffected == 0 {
		var got Escalation
		err := tx.Take(&got, "dedupe_key = ?", e.DedupeKey).Error
		return got, false, err
	}
	for _, id := range caseIDs {
		if err := tx.Create(&IncidentCase{CaseID: id, EscalationID: e.ID, LinkedAt: e.CreatedAt, LinkedBy: actor}).Error; err != nil {
			return e, false, err
		}
	}
	details := map[string]any{"kind": e.Kind, "dedupe_key": e.DedupeKey}
	if e.DueAt != nil {
		details["due_at"] = e.DueAt.UTC().Format(time.RFC3339)
		details["due_rule"] = e.DueRule
	}
	if len(caseIDs) > 0 {
		details["cases"] = len(caseIDs)
	}
	_, err := audit.Append(tx, audit.Entry{
		Actor: actor, Action: "escalation.opened", ObjectType: "escalation", ObjectID: e.ID,
		AfterDigest: audit.Digest(e.AuditView()), Details: details, At: e.CreatedAt,
	})
	if err != nil {
		return e, false, err
	}
	if e.CaseID != nil {
		_, err = audit.Append(tx, audit.Entry{
			Actor: actor, Action: "case.escalated", ObjectType: "case", ObjectID: *e.CaseID,
			Details: map[string]any{"escalation_id": e.ID, "kind": e.Kind}, At: e.CreatedAt,
		})
	}
	return e, true, err
}

// Snapshot reads the workflow's view of an escalation.
func Snapshot(tx *gorm.DB, id string) (wf.Snapshot, error) {
	var e Escalation
	if err := tx.Take(&e, "id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return wf.Snapshot{}, temporal.NewNonRetryableApplicationError("escalation not on record", wf.ErrTypeNotFound, err)
		}
		return wf.Snapshot{}, err
	}
	var attempts int64
	if err := tx.Model(&Filing{}).Where("escalation_id = ?", id).Count(&attempts).Error; err != nil {
		return wf.Snapshot{}, err
	}
	return wf.Snapshot{
		ID: e.ID, Kind: e.Kind, Status: e.Status, Adapter: e.Adapter, Version: e.Version, FiledAt: e.FiledAt,
		NotifyDecision: e.NotifyDecision, Attempts: int(attempts), Alerted: e.SupervisorAlertedAt != nil,
		DueAt: e.DueAt, ClockStart: e.ClockStart(), AwaitingGrade: e.Kind == wf.KindIncident && e.GradedAt == nil,
		BelowThreshold: e.Kind == wf.KindIncident && wf.BelowReportThreshold(e.Severity),
	}, nil
}

// ClockStart is where the escalation's dated duty starts: an incident's
// discovery, otherwise its opening.
func (e Escalation) ClockStart() time.Time {
	if e.DiscoveredAt != nil {
		return e.DiscoveredAt.UTC()
	}
	return e.CreatedAt.UTC()
}

func illegal(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), wf.ErrTypeIllegalAction, nil)
}

// Apply writes one action of the escalation's workflow and its audit entry.
// The action id is recorded first: a retry finds it and writes nothing.
// Linked cases are dated through intake (in).
func Apply(db *gorm.DB, in Intake, id string, a wf.Action) (wf.Snapshot, error) {
	var snap wf.Snapshot
	err := db.Transaction(func(tx *gorm.DB) error {
		at := a.At.UTC()
		if a.At.IsZero() {
			at = time.Now().UTC()
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ActionRecord{
			ActionID: a.ID, EscalationID: id, Action: a.Type, AppliedAt: at,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var err error
			snap, err = Snapshot(tx, id)
			return err
		}
		var before Escalation
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&before, "id = ?", id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return temporal.NewNonRetryableApplicationError("escalation not on record", wf.ErrTypeNotFound, err)
			}
			return err
		}
		if before.Status == wf.StatusClosed {
			return illegal("escalation is closed")
		}
		after := before
		details := map[string]any{"action_id": a.ID}
		if err := applyChange(tx, in, &after, a, at, details); err != nil {
			return err
		}
		after.Version, after.UpdatedAt = before.Version+1, &at
		if err := tx.Select("*").Omit("created_at", "dedupe_key", "workflow_started_at").Save(&after).Error; err != nil {
			return err
		}
		actor := a.Actor
		if actor == "" {
			actor = SystemActor
		}
		if _, err := audit.Append(tx, audit.Entry{
			Actor: actor, Action: "escalation." + a.Type, ObjectType: "escalation", ObjectID: id,
			BeforeDigest: audit.Digest(before.AuditView()), AfterDigest: audit.Digest(after.AuditView()),
			Details: details, At: at,
		}); err != nil {
			return err
		}
		var err error
		snap, err = Snapshot(tx, id)
		return err
	})
	return snap, err
}

func applyChange(tx *gorm.DB, in Intake, e *Escalation, a wf.Action, at time.Time, details map[string]any) error {
	switch a.Type {
	case wf.ActRecordFiling:
		if e.Status != wf.StatusOpen {
			return illegal("escalation is %s: no filing pending", e.Status)
		}
		e.Status, e.FilingReference, e.FiledAt = wf.StatusFiled, a.Reference, &at
		details["reference"] = a.Reference
		if e.Kind == wf.KindMandatoryReport { // filed by hand with the competent department
			if err := RecordStep(tx, *e, "report", a.Actor, at); err != nil {
				return err
			}
		}
	case wf.ActAcknowledge:
		if e.Status != wf.StatusFiled {
			return illegal("escalation is %s: only a filed escalation is acknowledged", e.Status)
		}
		e.Status, e.AckReference, e.AcknowledgedAt = wf.StatusAcknowledged, a.Reference, &at
		details["reference"] = a.Reference
	case wf.ActAddFollowUp, wf.ActAnswerFollowUp:
		return commitFollowUp(tx, e, a, at, details)
	case wf.ActRecordStep:
		if err := RecordStep(tx, *e, a.Step, a.Actor, at); err != nil {
			return err
		}
		details["step"] = a.Step
	case wf.ActClose:
		e.Status, e.ClosedAt = wf.StatusClosed, &at
	case wf.ActLinkCases:
		for _, c := range a.CaseIDs {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&IncidentCase{CaseID: c, EscalationID: e.ID, LinkedAt: at, LinkedBy: a.Actor})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				var other IncidentCase
				if err := tx.Take(&other, "case_id = ?", c).Error; err != nil {
					return err
				}
				if other.EscalationID != e.ID {
					return illegal("case %s already belongs to incident %s", c, other.EscalationID)
				}
			}
		}
		details["cases"] = a.CaseIDs
		return discoveredEarlier(tx, in, e, a.CaseIDs, details)
	case wf.ActGrade:
		class := a.OperatorClass
		if class == "" {
			class = e.OperatorClass
		}
		if !wf.ValidOperatorClass(class) || !wf.ValidSeverity(a.Severity) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("grade needs an operator class and a severity (got %q, %q)", class, a.Severity), wf.ErrTypeInvalidInput, nil)
		}
		details["old_severity"], details["old_due_at"] = e.Severity, timeText(e.DueAt)
		e.OperatorClass, e.Severity, e.DueRule, e.DueCitation = class, a.Severity, wf.IncidentRuleID, wf.IncidentCitation
		e.GradedAt, e.GradedBy = &at, a.Actor
		reportDue(e)
		details["operator_class"], details["severity"], details["due_at"] = class, a.Severity, timeText(e.DueAt)
		details["discovered_at"] = e.ClockStart().Format(time.RFC3339)
	case wf.ActSetDiscovery:
		d := a.DiscoveredAt.UTC()
		if d.IsZero() || d.After(at) {
			return temporal.NewNonRetryableApplicationError("the discovery time must be set and not in the future", wf.ErrTypeInvalidInput, nil)
		}
		details["old_discovered_at"], details["old_due_at"] = e.ClockStart().Format(time.RFC3339), timeText(e.DueAt)
		e.DiscoveredAt = &d
		reportDue(e)
		details["discovered_at"], details["due_at"] = d.Format(time.RFC3339), timeText(e.DueAt)
	case wf.ActNotifyDecision:
		e.NotifyDecision, e.NotifyReason = a.Decision, a.Reference
		details["decision"] = a.Decision
	case wf.ActSupervisorAlert:
		e.SupervisorAlertedAt = &at
	case wf.ActAckReminder:
		details["attempt"] = a.Reference
	case wf.ActFollowUpOverdue:
		var f FollowUp
		if err := tx.Select("id", "due_at").Where("id = ? AND escalation_id = ? AND status = ?", a.FollowUpID, e.ID, FollowUpOpen).
			Limit(1).Find(&f).Error; err != nil {
			return err
		}
		if f.ID == "" {
			return illegal("follow-up %s is not open", a.FollowUpID)
		}
		details["follow_up_id"] = a.FollowUpID
		return recordBreach(tx, e, wf.DutyFollowUpPrefix+a.FollowUpID, f.DueAt, a, at, details)
	case wf.ActDutyReminder:
		details["duty"], details["mark"], details["due_at"] = a.Reference, a.Step, a.DueAt.UTC().Format(time.RFC3339)
		if a.FollowUpID != "" {
			details["follow_up_id"] = a.FollowUpID
		}
	case wf.ActDutyBreached:
		if a.Reference != wf.DutyReport && a.Reference != wf.DutyFiling {
			return temporal.NewNonRetryableApplicationError("unknown duty "+a.Reference, wf.ErrTypeInvalidInput, nil)
		}
		return recordBreach(tx, e, a.Reference, a.DueAt, a, at, details)
	default:
		return temporal.NewNonRetryableApplicationError("unknown action "+a.Type, wf.ErrTypeInvalidInput, nil)
	}
	return nil
}

// discoveredEarlier moves an incident's discovery to the earliest receipt of
// the cases just linked when that is earlier (the operator knew of the leak
// from then), and its report deadline with it.
func discoveredEarlier(tx *gorm.DB, in Intake, e *Escalation, caseIDs []string, details map[string]any) error {
	first, err := FirstReceived(tx.Statement.Context, in, caseIDs)
	if err != nil {
		return err
	}
	if first == nil || !first.Before(e.ClockStart()) {
		return nil
	}
	d := first.UTC()
	e.DiscoveredAt = &d
	details["discovered_at"] = d.Format(time.RFC3339)
	if reportDue(e) {
		details["due_at"] = timeText(e.DueAt)
	}
	return nil
}

// reportDue sets an incident's report due date from its operator class and
// discovery: none when graded below the reporting threshold. It answers
// false, changing nothing, for an incident without a known class.
func reportDue(e *Escalation) bool {
	if !wf.ValidOperatorClass(e.OperatorClass) {
		return false
	}
	if wf.BelowReportThreshold(e.Severity) {
		e.DueAt = nil
		return true
	}
	due, _ := wf.IncidentDeadline(e.OperatorClass, e.ClockStart())
	e.DueAt = &due
	return true
}

// timeText is an optional time as audit details carry it ("" for none).
func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// recordBreach writes the breach row of a missed duty (once per duty and due
// time); the caller's audit entry carries the same facts.
func recordBreach(tx *gorm.DB, e *Escalation, duty string, due time.Time, a wf.Action, at time.Time, details map[string]any) error {
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Breach{EscalationID: e.ID, Duty: duty, DueAt: due.UTC(),
		BreachedAt: at, ActionID: a.ID}).Error; err != nil {
		return err
	}
	details["duty"], details["due_at"] = duty, due.UTC().Format(time.RFC3339)
	if e.DueRule != "" && duty == wf.DutyReport {
		details["due_rule"] = e.DueRule
	}
	return nil
}

// commitFollowUp turns the service's draft into the record: a question
// becomes open; an answer (drafted on its question row) becomes answered.
func commitFollowUp(tx *gorm.DB, e *Escalation, a wf.Action, at time.Time, details map[string]any) error {
	if e.Status != wf.StatusFiled && e.Status != wf.StatusAcknowledged {
		return illegal("escalation is %s: follow-ups need a filed escalation", e.Status)
	}
	q := tx.Model(&FollowUp{}).Where("id = ? AND escalation_id = ?", a.FollowUpID, e.ID)
	var res *gorm.DB
	if a.Type == wf.ActAddFollowUp {
		res = q.Where("status = ?", FollowUpDraft).Update("status", FollowUpOpen)
	} else {
		res = q.Where("status = ? AND (answer <> '' OR answer_enc IS NOT NULL)", FollowUpOpen).Updates(map[string]any{"status": FollowUpAnswered, "answered_at": at})
	}
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return illegal("follow-up %s is not pending on this escalation", a.FollowUpID)
	}
	details["follow_up_id"] = a.FollowUpID
	return nil
}

// LinkCases adds detected cases to an open incident, each with its audit
// entry, in one statement and one chain append (the incident detector's
// links; officers link through the workflow).
func LinkCases(tx *gorm.DB, escalationID string, caseIDs []string, actor string, at time.Time) error {
	if len(caseIDs) == 0 {
		return nil
	}
	var linked []string
	if err := tx.Raw(`INSERT INTO incident_cases (case_id, escalation_id, linked_at, linked_by)
		SELECT unnest(?::uuid[]), ?, ?, ? ON CONFLICT DO NOTHING RETURNING case_id`,
		"{"+strings.Join(caseIDs, ",")+"}", escalationID, at, actor).Scan(&linked).Error; err != nil { // ids come from the record: uuids

		return err
	}
	entries := make([]audit.Entry, len(linked))
	for i, c := range linked {
		entries[i] = audit.Entry{Actor: actor, Action: "escalation.case_linked", ObjectType: "escalation", ObjectID: escalationID,
			Details: map[string]any{"case_id": c}, At: at}
	}
	_, err := audit.AppendAll(tx, entries)
	return err
}

// RecordStep records a mandatory-report step once; the case's timeline shows
// it too (the case is where an agent looks).
func RecordStep(tx *gorm.DB, e Escalation, step, actor string, at time.Time) error {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Step{EscalationID: e.ID, Step: step, DoneAt: at, Actor: actor})
	if res.Error != nil || res.RowsAffected == 0 || e.CaseID == nil {
		return res.Error
	}
	_, err := audit.Append(tx, audit.Entry{
		Actor: actor, Action: "case.mandatory_report_step", ObjectType: "case", ObjectID: *e.CaseID,
		Details: map[string]any{"escalation_id": e.ID, "step": step}, At: at,
	})
	return err
}
