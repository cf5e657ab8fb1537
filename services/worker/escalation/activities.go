// Package escalation implements the escalation workflow's activities against
// the record and the regulator adapters, and runs the escalation worker with
// its starter and triggers.
package escalation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/filing"
	"github.com/redress/redress/services/internal/regulator"
	wf "github.com/redress/redress/workflows/escalation"
)

// Activities implements wf.Activities.
type Activities struct {
	DB         *gorm.DB
	Keys       *crypto.Keyring
	Regulators *regulator.Directory
	// Intake answers the facts of cases and sends the incident notices to
	// their complainants (CaseFactsService).
	Intake store.Intake
	Log    *slog.Logger
	// Contact is the operator's contact point told to individuals in an
	// incident notice.
	Contact string
	// Alerts tells the compliance officers in the console and by mail
	// (identity's AlertService, with the escalation service's credential).
	Alerts alerts.Raiser
	// Alert mails AlertTo when a filing needs a supervisor (optional).
	Alert   regulator.MailSender
	AlertTo []string
	// Timing is told to the workflows of escalations opened by command
	// (Run sets it from Deps.Timing).
	Timing wf.Timing
}

var _ wf.Activities = (*Activities)(nil)

// LoadEscalation answers the workflow's snapshot.
func (a *Activities) LoadEscalation(ctx context.Context, id string) (wf.Snapshot, error) {
	return store.Snapshot(a.DB.WithContext(ctx), id)
}

// OpenEscalation writes the record of an escalation opened by command
// (escalation.Open), once per dedupe key, and notes that its workflow runs.
func (a *Activities) OpenEscalation(ctx context.Context, in wf.OpenInput) (wf.Opened, error) {
	o := in.Opening
	switch o.Kind {
	case wf.KindSLABreach, wf.KindMandatoryReport, wf.KindIncident, wf.KindRegulatorInquiry, wf.KindManual:
	default:
		return wf.Opened{}, temporal.NewNonRetryableApplicationError("unknown escalation kind "+o.Kind, wf.ErrTypeInvalidInput, nil)
	}
	e := store.Escalation{ID: in.EscalationID, Kind: o.Kind, DeadlineKind: o.DeadlineKind, Reason: o.Reason, DedupeKey: o.DedupeKey,
		Regulator: o.Regulator, DueAt: o.DueAt, DueRule: o.DueRule, DueCitation: o.DueCitation, OperatorClass: o.OperatorClass,
		LeakedDataType: o.LeakedDataType, LeakSource: o.LeakSource, DiscoveredAt: o.DiscoveredAt}
	if o.CaseID != "" {
		e.CaseID = &o.CaseID
	}
	if o.DeletionRequestID != "" {
		e.DeletionRequestID = &o.DeletionRequestID
	}
	actor := o.Actor
	if actor == "" {
		actor = store.SystemActor
	}
	err := a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if e, _, err = store.Create(tx, e, actor, o.CaseIDs); err != nil {
			return err
		}
		return tx.Model(&store.Escalation{}).Where("id = ? AND workflow_started_at IS NULL", in.EscalationID).
			Update("workflow_started_at", time.Now().UTC()).Error
	})
	return wf.Opened{EscalationID: e.ID, Timing: a.Timing}, err
}

// BuildPackage assembles the filing package once and stores it with its audit entry.
func (a *Activities) BuildPackage(ctx context.Context, id string) (string, error) {
	db := a.DB.WithContext(ctx)
	var p store.Package
	if err := db.Select("sha256").Where("escalation_id = ?", id).Limit(1).Find(&p).Error; err != nil {
		return "", err
	}
	if p.SHA256 != "" {
		return p.SHA256, nil
	}
	now := time.Now().UTC()
	b, err := filing.Build(ctx, a.DB, a.Intake, id, now)
	if err != nil {
		return "", err
	}
	err = db.Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&store.Package{
			EscalationID: id, Zip: b.Zip, SHA256: b.SHA256, AuditFrom: b.FromSeq, AuditTo: b.ToSeq, CreatedAt: now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		_, err := audit.Append(tx, audit.Entry{Actor: store.SystemActor, Action: "escalation.packaged", ObjectType: "escalation",
			ObjectID: id, AfterDigest: "sha256:" + b.SHA256,
			Details: map[string]any{"audit_from": b.FromSeq, "audit_to": b.ToSeq, "bytes": len(b.Zip)}, At: now})
		return err
	})
	if err != nil {
		return "", err
	}
	if err := db.Select("sha256").Where("escalation_id = ?", id).Take(&p).Error; err != nil {
		return "", err
	}
	return p.SHA256, nil
}

// Submit files the package through the regulator's adapter with the
// escalation id as idempotency key, and records the attempt once.
func (a *Activities) Submit(ctx context.Context, in wf.SubmitInput) (wf.SubmitResult, error) {
	db := a.DB.WithContext(ctx)
	var done store.Filing
	if err := db.Where("escalation_id = ? AND attempt = ?", in.EscalationID, in.Attempt).Limit(1).Find(&done).Error; err != nil {
		return wf.SubmitResult{}, err
	}
	if done.ID != "" { // recorded by an earlier try of this activity
		snap, err := store.Snapshot(db, in.EscalationID)
		return wf.SubmitResult{Outcome: done.Outcome, Reference: done.Reference, Snapshot: snap}, err
	}
	var e store.Escalation
	if err := db.Take(&e, "id = ?", in.EscalationID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return wf.SubmitResult{}, temporal.NewNonRetryableApplicationError("escalation not on record", wf.ErrTypeNotFound, err)
		}
		return wf.SubmitResult{}, err
	}
	var p store.Package
	if err := db.Take(&p, "escalation_id = ?", e.ID).Error; err != nil {
		return wf.SubmitResult{}, fmt.Errorf("package of %s: %w", e.ID, err)
	}
	m, _, err := filing.Read(p.Zip)
	if err != nil {
		return wf.SubmitResult{}, temporal.NewNonRetryableApplicationError(err.Error(), wf.ErrTypeInvalidInput, err)
	}
	manifest, _ := json.Marshal(m)
	ad := a.Regulators.For(e.Regulator)
	rc, err := ad.Submit(ctx, regulator.Filing{EscalationID: e.ID, Kind: e.Kind, IdempotencyKey: e.ID,
		Package: p.Zip, PackageSHA256: p.SHA256, Manifest: manifest})
	if err != nil {
		a.Log.Warn("regulator submission failed", "escalation_id", e.ID, "adapter", ad.Name(), "attempt", in.Attempt, "err", err)
		if errors.Is(err, regulator.ErrRejected) {
			return wf.SubmitResult{}, temporal.NewNonRetryableApplicationError(err.Error(), wf.ErrTypeRejected, err)
		}
		return wf.SubmitResult{}, err
	}
	var snap wf.Snapshot
	err = db.Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&store.Filing{ID: uuid.NewString(), EscalationID: e.ID,
			Attempt: in.Attempt, Adapter: ad.Name(), IdempotencyKey: e.ID, Outcome: rc.Outcome, Reference: rc.Reference,
			PackageSHA256: p.SHA256, At: now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 {
			var before store.Escalation
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&before, "id = ?", e.ID).Error; err != nil {
				return err
			}
			after := before
			after.Adapter, after.Version, after.UpdatedAt = ad.Name(), before.Version+1, &now
			if before.Status == wf.StatusOpen || before.Status == wf.StatusFiled {
				switch rc.Outcome {
				case regulator.Acknowledged:
					after.Status, after.AckReference, after.AcknowledgedAt = wf.StatusAcknowledged, rc.Reference, &now
					if after.FiledAt == nil {
						after.FiledAt, after.FilingReference = &now, rc.Reference
					}
				case regulator.Accepted:
					after.Status = wf.StatusFiled
					if after.FiledAt == nil {
						after.FiledAt, after.FilingReference = &now, rc.Reference
					}
				}
			}
			if err := tx.Select("*").Omit("created_at", "dedupe_key", "workflow_started_at").Save(&after).Error; err != nil {
				return err
			}
			if e.Kind == wf.KindMandatoryReport && rc.Outcome != regulator.ManualFiling {
				// Filed with the competent department: the "report" step is done.
				if err := store.RecordStep(tx, after, "report", store.SystemActor, now); err != nil {
					return err
				}
			}
			if _, err := audit.Append(tx, audit.Entry{Actor: store.SystemActor, Action: "escalation.submitted", ObjectType: "escalation",
				ObjectID: e.ID, BeforeDigest: audit.Digest(before.AuditView()), AfterDigest: audit.Digest(after.AuditView()),
				Details: map[string]any{"attempt": in.Attempt, "adapter": ad.Name(), "outcome": rc.Outcome, "reference": rc.Reference,
					"package_sha256": p.SHA256}, At: now}); err != nil {
				return err
			}
		}
		var err error
		snap, err = store.Snapshot(tx, e.ID)
		return err
	})
	return wf.SubmitResult{Outcome: rc.Outcome, Reference: rc.Reference, Snapshot: snap}, err
}

// ApplyAction writes an action of the workflow.
func (a *Activities) ApplyAction(ctx context.Context, in wf.ActionInput) (wf.Snapshot, error) {
	snap, err := store.Apply(a.DB.WithContext(ctx), a.Intake, in.EscalationID, in.Action)
	if err != nil {
		return snap, err
	}
	switch in.Action.Type { // a failed send retries the activity; the write above is done once
	case wf.ActSupervisorAlert:
		a.Log.Warn("escalation needs a supervisor: no acknowledgement from the regulator", "escalation_id", in.EscalationID)
		err = a.alertSupervisors(ctx, in.EscalationID, "ack", "The regulator has not acknowledged the filing after every submission, or refused it.")
	case wf.ActFollowUpOverdue:
		a.Log.Warn("regulator follow-up not answered by its due date", "escalation_id", in.EscalationID, "follow_up_id", in.Action.FollowUpID)
		err = a.mailSupervisors(ctx, in.EscalationID, alerts.EscalationOverdue, "follow-up/"+in.Action.FollowUpID, "missed a due date",
			"A question from the regulator ("+in.Action.FollowUpID+") was not answered by its due date "+dueText(in.Action.DueAt)+". The breach is on record.")
	case wf.ActDutyReminder, wf.ActDutyBreached:
		err = a.dutyAlert(ctx, in.EscalationID, in.Action)
	}
	return snap, err
}

// NotifyIndividuals has intake send the incident notice (PIPL Art. 57:
// what happened, the data types, the harm, the remedies, what they can do,
// the contact) to the complainant of every case of the incident, once per
// case: intake records each notice under "incident/<id>/<case>".
func (a *Activities) NotifyIndividuals(ctx context.Context, id string) (int, error) {
	db := a.DB.WithContext(ctx)
	var e store.Escalation
	if err := db.Take(&e, "id = ?", id).Error; err != nil {
		return 0, err
	}
	var cases []string
	if err := db.Model(&store.IncidentCase{}).Where("escalation_id = ?", id).Order("case_id").Pluck("case_id", &cases).Error; err != nil {
		return 0, err
	}
	sent := 0
	for len(cases) > 0 {
		page := cases[:min(500, len(cases))]
		cases = cases[len(page):]
		res, err := a.Intake.NotifyComplainants(ctx, &intakev1.NotifyComplainantsRequest{IdempotencyKey: "incident/" + id,
			EscalationId: id, CaseIds: page, Body: incidentText(e, a.Contact), Citation: wf.IncidentNoticeCitation})
		if err != nil {
			return sent, err
		}
		sent += int(res.Sent)
	}
	return sent, nil
}

func incidentText(e store.Escalation, contact string) string {
	if contact == "" {
		contact = "the operator's complaint channels"
	}
	return fmt.Sprintf("What happened: personal information of the type %q from %q may have been exposed (incident %s).\n"+
		"Possible harm: unwanted messages and calls, fraud attempts, misuse of your identity.\n"+
		"What we do: we stopped the exposure, are removing the data and have reported the incident to the regulator.\n"+
		"What you can do: be wary of calls and messages that use your data, change affected passwords, watch your accounts.\n"+
		"Contact: %s.", e.LeakedDataType, e.LeakSource, e.ID, contact)
}

// dutyAlert tells the supervisors that a dated duty is near its due time
// (a reminder) or has passed undone (a breach, already on record).
func (a *Activities) dutyAlert(ctx context.Context, id string, act wf.Action) error {
	var e store.Escalation
	if err := a.DB.WithContext(ctx).Take(&e, "id = ?", id).Error; err != nil {
		return err
	}
	var what string
	switch {
	case act.FollowUpID != "":
		what = "A question from the regulator (" + act.FollowUpID + ") is still unanswered; it is due " + dueText(act.DueAt) + "."
	case act.Reference == wf.DutyFiling:
		what = "The escalation is still not filed with the regulator; it should be by " + dueText(act.DueAt) + "."
		if e.Adapter == wf.AdapterManual {
			what += " File the package by hand and record the filing reference."
		}
	default:
		what = fmt.Sprintf("The report to the regulator is due %s (%s, %s) and is not filed.", dueText(act.DueAt), e.DueRule, e.DueCitation)
		if e.Kind == wf.KindIncident && e.GradedAt == nil {
			what += " The incident is NOT GRADED: it was detected from complaints and is not filed until an officer grades it."
		} else if e.Adapter == wf.AdapterManual {
			what += " File the package by hand and record the filing reference."
		}
		if e.DiscoveredAt != nil {
			what += " Discovered: " + dueText(*e.DiscoveredAt) + "."
		}
	}
	if act.Type == wf.ActDutyBreached {
		a.Log.Warn("escalation duty missed", "escalation_id", id, "duty", act.Reference)
		return a.mailSupervisors(ctx, id, alerts.EscalationOverdue, "breach/"+act.Reference+"/"+dueText(act.DueAt), "missed a due date",
			what+" The due time has passed: the breach is on record.")
	}
	return a.mailSupervisors(ctx, id, alerts.EscalationDue, "reminder/"+act.Reference+"/"+dueText(act.DueAt)+"/"+act.Step,
		"is due "+dueText(act.DueAt), what+" ("+act.Step+" of the time has passed.)")
}

func dueText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
