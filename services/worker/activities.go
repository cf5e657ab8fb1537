// Package worker implements the complaint workflow's activities against the
// PostgreSQL record and runs the Temporal worker. Each activity writes its
// change and the change's audit entry in one transaction, and is idempotent:
// a retry finds its earlier write and changes nothing.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/calendars"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/policy"
)

// Activities implements complaint.Activities.
type Activities struct {
	DB     *gorm.DB
	Keys   *crypto.Keyring
	Policy *policy.Engine
	Sender notify.Sender
	Log    *slog.Logger
	// Escalations opens the SLA-breach escalations (escalation.Command).
	Escalations EscalationOpener
	// Alerts tells the assignee and the supervisors of reminders and
	// breaches (nil: nobody is told beyond the audit chain).
	Alerts alerts.Raiser
	// Calendars brings confirmed calendars into the policy engine's set
	// before a recomputation (nil: the set as it is).
	Calendars *calendars.Store

	noticesOnce sync.Once
	notices     *noticeRecorder // started on the first notice (noticerecord.go)
}

// EscalationOpener opens an escalation once per dedupe key (escalation.Open):
// escalations are the escalation service's record, never written here.
type EscalationOpener interface {
	Open(ctx context.Context, o escalation.Opening) (string, error)
}

var _ complaint.Activities = (*Activities)(nil)

const systemActor = "system:workflow"

// LoadCase reads the case for its workflow. The starter notes on the case
// that the workflow runs (a page of starts in one statement); noting it here
// too cost every new case a commit of its own inside its first task.
func (a *Activities) LoadCase(ctx context.Context, caseID string) (complaint.CaseSnapshot, error) {
	dbc := a.DB.WithContext(ctx)
	snap, c, err := a.snapshotAndCase(dbc, caseID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return snap, temporal.NewNonRetryableApplicationError("case not on record", complaint.ErrTypeCaseNotFound, err)
	}
	if err != nil {
		return snap, err
	}
	return snap, a.openDutyEscalations(ctx, c)
}

// mandatoryCategories need a mandatory report (CSL 2016 Art. 47/48).
var mandatoryCategories = []string{"prohibited_information", "malicious_program"}

// openDutyEscalations opens the escalations a case's facts call for: a
// mandatory report for a case about prohibited information or a malicious
// program, due when the policy says the case must be dealt with (cn/C2,
// cn/C3), and a regulator inquiry for a referral with a due date. The facts
// are fixed at submission; every run of the case's workflow asks again, and
// the escalation service opens each once (by its dedupe key).
func (a *Activities) openDutyEscalations(ctx context.Context, c records.Case) error {
	var open []escalation.Opening
	if slices.Contains(mandatoryCategories, c.Category) {
		d, err := a.Policy.Decide(policy.Facts{Pack: c.PolicyPack, Kind: c.Kind, Category: c.Category, Channel: c.Channel,
			ReferringBody: c.ReferringBody, ReceivedAt: c.ReceivedAt, RegulatorDueAt: c.RegulatorDueAt})
		if err != nil {
			return temporal.NewNonRetryableApplicationError("mandatory report: "+err.Error(), complaint.ErrTypeInvalidInput, err)
		}
		due := d.Resolution.DueAt
		open = append(open, escalation.Opening{Kind: escalation.KindMandatoryReport, DedupeKey: escalation.KindMandatoryReport + "/" + c.ID,
			CaseID: c.ID, DueAt: &due, DueRule: d.Resolution.RuleID, DueCitation: d.Resolution.Citation, Regulator: "cac",
			Reason: "case in category " + c.Category + ": stop, eliminate, keep records, report"})
	}
	if c.Channel == "regulator_referral" && c.RegulatorDueAt != nil {
		open = append(open, escalation.Opening{Kind: escalation.KindRegulatorInquiry, DedupeKey: escalation.KindRegulatorInquiry + "/" + c.ID,
			CaseID: c.ID, DueAt: c.RegulatorDueAt, DueRule: "cn/P6", DueCitation: policy.RegulatorReferralCitation,
			Regulator: c.ReferringBody, Reason: "referral from " + c.ReferringBody + " with a due date"})
	}
	if len(open) == 0 || c.State == "merged" {
		return nil
	}
	if a.Escalations == nil {
		return errors.New("no escalation opener configured")
	}
	for _, o := range open {
		if _, err := a.Escalations.Open(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

func (a *Activities) snapshot(tx *gorm.DB, caseID string) (complaint.CaseSnapshot, error) {
	snap, _, err := a.snapshotAndCase(tx, caseID)
	return snap, err
}

// snapshotColumns are what a snapshot, the quiet period and the duty
// escalations read of a case: not its sealed fields (the description alone
// can be kilobytes), which a workflow never needs.
var snapshotColumns = []string{"id", "case_number", "state", "assignee", "overdue", "version", "kind", "category",
	"channel", "referring_body", "policy_pack", "received_at", "regulator_due_at"}

// snapshotAndCase is snapshot, with the case's row as read for it.
func (a *Activities) snapshotAndCase(tx *gorm.DB, caseID string) (complaint.CaseSnapshot, records.Case, error) {
	var c records.Case
	if err := tx.Select(snapshotColumns).Take(&c, "id = ?", caseID).Error; err != nil {
		return complaint.CaseSnapshot{}, c, err
	}
	var deadlines []records.Deadline
	if err := tx.Find(&deadlines, "case_id = ?", caseID).Error; err != nil {
		return complaint.CaseSnapshot{}, c, err
	}
	snap := complaint.CaseSnapshot{
		CaseID: c.ID, CaseNumber: c.CaseNumber, State: c.State, Assignee: c.Assignee, Category: c.Category,
		Overdue: c.Overdue, Version: c.Version, QuietPeriod: a.quietPeriod(c),
	}
	for _, d := range deadlines {
		info := complaint.DeadlineInfo{
			Kind: d.Kind, DueAt: d.DueAt, RuleID: d.RuleID, Provisional: d.Provisional,
			Pausable: d.Pausable, Reminders: d.Reminders, Status: d.Status,
		}
		switch d.Kind {
		case complaint.DeadlineAcknowledgement:
			snap.Acknowledgement = info
		case complaint.DeadlineResolution:
			snap.Resolution = info
		}
	}
	return snap, c, nil
}

// quietPeriod is the policy's wait after resolution before closing by itself.
func (a *Activities) quietPeriod(c records.Case) time.Duration {
	d, err := a.Policy.Decide(policy.Facts{
		Pack: c.PolicyPack, Kind: c.Kind, Category: c.Category, Channel: c.Channel,
		ReferringBody: c.ReferringBody, ReceivedAt: c.ReceivedAt, RegulatorDueAt: c.RegulatorDueAt,
	})
	if err != nil || d.QuietPeriod <= 0 {
		return 7 * 24 * time.Hour
	}
	return d.QuietPeriod
}

// ApplyTransition writes one state change and its audit entry. The action id
// (the update id) is recorded first: a retry finds it and writes nothing.
func (a *Activities) ApplyTransition(ctx context.Context, in complaint.TransitionInput) (complaint.CaseSnapshot, error) {
	var snap complaint.CaseSnapshot
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&records.CaseAction{
			ActionID: in.ActionID, CaseID: in.CaseID, Action: in.Action, FromState: in.FromState,
			ToState: in.ToState, Actor: actorOf(in.Args), AppliedAt: in.At,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 { // applied by an earlier attempt
			var err error
			snap, err = a.snapshot(tx, in.CaseID)
			return err
		}
		var before records.Case
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Omit("lookup_code_hash", "lookup_code_enc", "description").Take(&before, "id = ?", in.CaseID).Error; err != nil {
			return err
		}
		if before.State != in.FromState {
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("case is %s, not %s", before.State, in.FromState), complaint.ErrTypeIllegalTransition, nil)
		}
		after := before
		after.State, after.Version, after.UpdatedAt = in.ToState, before.Version+1, in.At
		switch in.Action {
		case complaint.UpdateAssign:
			after.Assignee = in.Args.Assignee
		case complaint.UpdateReject:
			after.RejectionReason = in.Args.ReasonCode
		case complaint.UpdateMerge:
			after.MergedInto = &in.Args.PrimaryCaseID
		}
		for _, ch := range in.DeadlineChanges {
			if err := applyDeadlineChange(tx, &after, ch, in.At); err != nil {
				return err
			}
		}
		if err := tx.Model(&records.Case{}).Where("id = ?", in.CaseID).Updates(map[string]any{
			"state": after.State, "version": after.Version, "updated_at": after.UpdatedAt, "assignee": after.Assignee,
			"rejection_reason": after.RejectionReason, "merged_into": after.MergedInto,
			"resolution_due_at": after.ResolutionDueAt,
		}).Error; err != nil {
			return err
		}
		if in.Args.MessageID != "" {
			res := tx.Model(&records.CaseMessage{}).Where("id = ? AND case_id = ?", in.Args.MessageID, in.CaseID).
				Update("status", records.MessageCommitted)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return temporal.NewNonRetryableApplicationError("message not on record for this case", complaint.ErrTypeInvalidInput, nil)
			}
		}
		details := map[string]any{"from": in.FromState, "to": in.ToState, "action_id": in.ActionID}
		for k, v := range map[string]string{"message_id": in.Args.MessageID, "reason_code": in.Args.ReasonCode,
			"assignee": in.Args.Assignee, "primary_case_id": in.Args.PrimaryCaseID} {
			if v != "" {
				details[k] = v
			}
		}
		if _, err := audit.Append(tx, audit.Entry{
			Actor: actorOf(in.Args), Action: "case." + in.Action, ObjectType: "case", ObjectID: in.CaseID,
			BeforeDigest: audit.Digest(before.AuditView()), AfterDigest: audit.Digest(after.AuditView()),
			Details: details, At: in.At,
		}); err != nil {
			return err
		}
		var err error
		snap, err = a.snapshot(tx, in.CaseID)
		return err
	})
	return snap, err
}

func applyDeadlineChange(tx *gorm.DB, c *records.Case, ch complaint.DeadlineChange, at time.Time) error {
	updates := map[string]any{"status": ch.Status}
	switch ch.Status {
	case "met":
		updates["met_at"] = at
	case "paused":
		updates["paused_at"] = at
	case "open":
		updates["paused_at"] = nil
		if !ch.DueAt.IsZero() {
			updates["due_at"] = ch.DueAt
			if ch.Kind == complaint.DeadlineResolution {
				c.ResolutionDueAt = ch.DueAt
			}
		}
	default:
		return fmt.Errorf("unknown deadline status %q", ch.Status)
	}
	q := tx.Model(&records.Deadline{}).Where("case_id = ? AND kind = ?", c.ID, ch.Kind)
	if ch.Status == "met" {
		q = q.Where("status <> 'met'") // a breached deadline met late keeps its breach time
	}
	return q.Updates(updates).Error
}

// ExtendDeadline computes the resolution deadline after a pause from the rule
// stored with it; the resume transition writes it.
func (a *Activities) ExtendDeadline(ctx context.Context, in complaint.ExtendInput) (complaint.DeadlineInfo, error) {
	var d records.Deadline
	if err := a.DB.WithContext(ctx).Take(&d, "case_id = ? AND kind = ?", in.CaseID, complaint.DeadlineResolution).Error; err != nil {
		return complaint.DeadlineInfo{}, err
	}
	ext, err := a.Policy.ExtendForPause(policy.Deadline{
		Kind: d.Kind, DueAt: d.DueAt, RuleID: d.RuleID, Citation: d.Citation, Provisional: d.Provisional,
		Pausable: d.Pausable, Reminders: d.Reminders,
	}, in.PausedFrom, in.PausedUntil)
	if err != nil {
		return complaint.DeadlineInfo{}, temporal.NewNonRetryableApplicationError(err.Error(), complaint.ErrTypeInvalidInput, err)
	}
	return complaint.DeadlineInfo{
		Kind: d.Kind, DueAt: ext.DueAt, RuleID: ext.RuleID, Provisional: ext.Provisional,
		Pausable: ext.Pausable, Reminders: ext.Reminders, Status: "open",
	}, nil
}

// RecordBreach marks the deadline missed and the case overdue, once, and
// opens the sla_breach escalation through the escalation service (idempotent
// by its dedupe key, so a retry opens nothing twice).
func (a *Activities) RecordBreach(ctx context.Context, in complaint.BreachInput) error {
	if a.Escalations == nil {
		return errors.New("no escalation opener configured")
	}
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		res := tx.Model(&records.Deadline{}).Where("case_id = ? AND kind = ? AND status = 'open'", in.CaseID, in.Kind).
			Updates(map[string]any{"status": "breached", "breached_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		if err := tx.Model(&records.Case{}).Where("id = ?", in.CaseID).Update("overdue", true).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{
			Actor: systemActor, Action: "case.deadline_breached", ObjectType: "case", ObjectID: in.CaseID,
			Details: map[string]any{"deadline": in.Kind, "due_at": in.DueAt.UTC().Format(time.RFC3339), "escalation": "sla_breach"},
		})
		return err
	})
	if err != nil {
		return err
	}
	_, err = a.Escalations.Open(ctx, escalation.Opening{
		Kind: escalation.KindSLABreach, DedupeKey: "sla_breach/" + in.CaseID + "/" + in.Kind, CaseID: in.CaseID, DeadlineKind: in.Kind,
		Reason: fmt.Sprintf("%s deadline %s missed", in.Kind, in.DueAt.UTC().Format(time.RFC3339)),
	})
	if err != nil {
		return err
	}
	return a.alertCase(ctx, alerts.CaseOverdue, in.CaseID, "breach/"+in.Kind, in.Kind+" deadline missed", in.DueAt)
}

// RecordReminder records a reminder before a deadline, once per ordinal,
// and alerts the assignee and the supervisors (once per ordinal too: a
// retry after the record was written raises the same event again, which
// adds nothing).
func (a *Activities) RecordReminder(ctx context.Context, in complaint.ReminderInput) error {
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&records.DeadlineReminder{
			CaseID: in.CaseID, Kind: in.Kind, Ordinal: in.Ordinal, DueAt: in.DueAt, SentAt: time.Now().UTC(),
		})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		a.Log.Info("deadline reminder", "case_id", in.CaseID, "deadline", in.Kind, "ordinal", in.Ordinal)
		_, err := audit.Append(tx, audit.Entry{
			Actor: systemActor, Action: "case.deadline_reminder", ObjectType: "case", ObjectID: in.CaseID,
			Details: map[string]any{"deadline": in.Kind, "ordinal": in.Ordinal, "due_at": in.DueAt.UTC().Format(time.RFC3339)},
		})
		return err
	})
	if err != nil {
		return err
	}
	return a.alertCase(ctx, alerts.CaseAtRisk, in.CaseID, fmt.Sprintf("reminder/%s/%d", in.Kind, in.Ordinal),
		fmt.Sprintf("%s deadline near (reminder %d)", in.Kind, in.Ordinal), in.DueAt)
}

// alertCase raises an alert about a case for its assignee and the
// supervisors: the case number, the deadline's kind and due time, a link.
func (a *Activities) alertCase(ctx context.Context, kind alerts.Kind, caseID, event, note string, due time.Time) error {
	if a.Alerts == nil {
		return nil
	}
	var c records.Case
	if err := a.DB.WithContext(ctx).Select("id", "case_number", "assignee").Take(&c, "id = ?", caseID).Error; err != nil {
		return err
	}
	due = due.UTC()
	return a.Alerts.Raise(ctx, alerts.Event{Kind: kind, Key: "case/" + caseID + "/" + event, SubjectType: "case",
		SubjectRef: c.CaseNumber, Note: note, Link: "/cases/" + caseID, DueAt: &due, Assignee: c.Assignee})
}

func actorOf(args complaint.Action) string {
	if args.Actor == "" {
		return systemActor
	}
	return args.Actor
}
