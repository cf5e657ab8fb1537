// Package deletionworker runs DeletionWorkflow and its activities: the only
// code that writes a deletion request's state after submission, and the only
// place the requester's identifiers are decrypted to reach the connectors.
package deletionworker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/calendars"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/policy"
)

// AutoApproval says which plans need no reviewer: requests from these
// sources whose plan uses only these actions and touches at most MaxRows.
type AutoApproval struct {
	Sources []string
	Actions []string
	MaxRows int64
}

// DefaultAutoApproval approves self-service and pipeline requests whose plan
// the connectors can carry out and check by themselves; anything an agent
// entered, or that needs a person or a remote system, goes to a reviewer.
// (The service lets only automation credentials declare these sources.)
var DefaultAutoApproval = AutoApproval{
	Sources: []string{"self", "pipeline"},
	Actions: []string{wf.ActionDelete, wf.ActionMask, wf.ActionRestrict, wf.ActionShred},
	MaxRows: 10000,
}

func (r AutoApproval) approves(req deletion.Request, items []wf.PlanItem) bool {
	if !slices.Contains(r.Sources, req.Source) {
		return false
	}
	// A person's attestation is one person's word: a second person reviews
	// the plan. A SELF request counts only when the requester's code verified it.
	if req.IdentityMethod == "attestation" && (req.AttestedByHuman || req.Source == "self") {
		return false
	}
	var rows int64
	for _, it := range items {
		if !slices.Contains(r.Actions, it.Action) {
			return false
		}
		rows += it.Count
	}
	return rows <= r.MaxRows
}

// Activities implements wf.Activities.
type Activities struct {
	DB         *gorm.DB
	Keys       *crypto.Keyring
	Sender     notify.Sender
	Log        *slog.Logger
	Auto       AutoApproval
	HTTPClient *http.Client // webhook connectors; nil = default
	// Escalations opens the request's escalations (escalation.Command).
	Escalations EscalationOpener
	// Erasure reaches intake's ErasureService (the own-data connector) with
	// the deletion service's credential.
	Erasure intakev1.ErasureServiceClient
	// Alerts tells those who may approve of plans waiting for them
	// (identity's AlertService, with the deletion service's credential).
	Alerts alerts.Raiser
	// Policy and Calendars recompute a due date when a calendar is confirmed.
	Policy    *policy.Engine
	Calendars *calendars.Store
	reg       registry
}

// EscalationOpener opens an escalation once per dedupe key (escalation.Open):
// escalations are the escalation service's record, never written here.
type EscalationOpener interface {
	Open(ctx context.Context, o escalation.Opening) (string, error)
}

var _ wf.Activities = (*Activities)(nil)

const system = "system:workflow"

func nonRetryable(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, "InvalidInput", nil)
}

func (a *Activities) request(tx *gorm.DB, id string) (deletion.Request, error) {
	var r deletion.Request
	err := tx.Take(&r, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, nonRetryable("no such deletion request")
	}
	return r, err
}

func snapshot(r deletion.Request) wf.Snapshot {
	return wf.Snapshot{Status: r.Status, IdentityVerified: r.IdentityVerified(), DueAt: r.DueAt,
		PlanDigest: r.PlanDigest, ApprovedBy: r.ApprovedBy, Source: r.Source, Extended: r.ExtendedAt != nil}
}

// change applies fn to the request inside a transaction with its audit entry.
func (a *Activities) change(ctx context.Context, id, actor, action string, details map[string]any, fn func(tx *gorm.DB, r *deletion.Request) (bool, error)) (wf.Snapshot, error) {
	var out deletion.Request
	err := a.audited(ctx, func(tx *gorm.DB) ([]audit.Entry, error) {
		r, err := a.request(tx.Clauses(clause.Locking{Strength: "UPDATE"}), id)
		if err != nil {
			return nil, err
		}
		before := audit.Digest(r.AuditView())
		changed, err := fn(tx, &r)
		if err != nil || !changed {
			out = r
			return nil, err
		}
		r.UpdatedAt = time.Now().UTC()
		if err := tx.Save(&r).Error; err != nil {
			return nil, err
		}
		out = r
		return []audit.Entry{{Actor: actor, Action: action, ObjectType: "deletion_request", ObjectID: id,
			BeforeDigest: before, AfterDigest: audit.Digest(r.AuditView()), Details: details}}, nil
	})
	return snapshot(out), err
}

// Load answers the request's snapshot.
func (a *Activities) Load(ctx context.Context, id string) (wf.Snapshot, error) {
	r, err := a.request(a.DB.WithContext(ctx), id)
	return snapshot(r), err
}

// SetStatus moves the request (no-op when already there).
func (a *Activities) SetStatus(ctx context.Context, in wf.StatusInput) (wf.Snapshot, error) {
	return a.change(ctx, in.DeletionID, in.Actor, "deletion.status_changed", map[string]any{"status": in.Status, "reason_code": in.ReasonCode},
		func(tx *gorm.DB, r *deletion.Request) (bool, error) {
			if r.Status == in.Status {
				return false, nil
			}
			r.Status = in.Status
			if in.ReasonCode != "" {
				r.ReasonCode, r.ReasonTextEnc = in.ReasonCode, nil
			}
			if in.ReasonTextID != "" {
				// The sealed text is copied as is: same key, same field.
				enc, ok, err := deletion.StoredReasonText(tx, r.ID, in.ReasonTextID)
				if err != nil {
					return false, err
				}
				if !ok {
					return false, fmt.Errorf("reason text %s of request %s is not on record", in.ReasonTextID, r.ID)
				}
				r.ReasonTextEnc = enc
			}
			return true, nil
		})
}

// RecordIdentity marks an identifier verified (or the attestation).
func (a *Activities) RecordIdentity(ctx context.Context, id string, act wf.Action) (wf.Snapshot, error) {
	return a.change(ctx, id, act.Actor, "deletion.identity_verified", map[string]any{"method": act.Method, "channel": act.Channel},
		func(tx *gorm.DB, r *deletion.Request) (bool, error) {
			now := time.Now().UTC()
			switch {
			case act.Method == "attestation":
				if r.IdentityMethod == "attestation" {
					return false, nil
				}
				r.IdentityMethod = "attestation"
				if r.AttestedBy != act.Actor {
					// The service records who attested and whether a person did;
					// an attestation it did not record counts as a person's word.
					r.AttestedBy, r.AttestedByHuman = act.Actor, true
				}
			case act.Channel == notify.ChannelSMS && r.PhoneVerifiedAt == nil:
				r.PhoneVerifiedAt, r.IdentityMethod = &now, "otp"
			case act.Channel == notify.ChannelEmail && r.EmailVerifiedAt == nil:
				r.EmailVerifiedAt, r.IdentityMethod = &now, "otp"
			default:
				return false, nil
			}
			return true, nil
		})
}

// RecordApproval records the reviewer and the approved digest.
func (a *Activities) RecordApproval(ctx context.Context, id string, act wf.Action) (wf.Snapshot, error) {
	return a.change(ctx, id, act.Actor, "deletion.plan_approved", map[string]any{"plan_digest": act.PlanDigest},
		func(tx *gorm.DB, r *deletion.Request) (bool, error) {
			if r.ApprovedBy != "" {
				return false, nil
			}
			if r.PlanDigest != act.PlanDigest {
				return false, nonRetryable("the plan changed since it was reviewed")
			}
			if act.Actor == r.SubmittedBy || act.Actor == r.AttestedBy {
				return false, nonRetryable("the approver submitted the request or attested the requester: a second person approves")
			}
			now := time.Now().UTC()
			r.ApprovedBy, r.ApprovedAt = act.Actor, &now
			return true, nil
		})
}

// RecordExtension moves the due date once, keeping the one before; a retry
// after it was recorded changes nothing.
func (a *Activities) RecordExtension(ctx context.Context, id string, act wf.Action) (wf.Snapshot, error) {
	details := map[string]any{} // filled in by fn, written with the audit entry after it
	return a.change(ctx, id, act.Actor, "deletion.deadline_extended", details,
		func(tx *gorm.DB, r *deletion.Request) (bool, error) {
			if r.ExtendedAt != nil {
				return false, nil
			}
			if !act.NewDueAt.After(r.DueAt) || act.ReasonCode == "" {
				return false, nonRetryable("an extension needs a reason code and a later due date")
			}
			now := time.Now().UTC()
			old := r.DueAt
			r.OriginalDueAt, r.ExtendedAt, r.ExtendedBy, r.ExtensionReasonCode = &old, &now, act.Actor, act.ReasonCode
			r.DueAt, r.DueRule = act.NewDueAt.UTC(), act.NewDueRule
			if act.ReasonTextID != "" {
				t := act.ReasonTextID
				r.ExtensionReasonTextID = &t
			}
			details["old_due_at"], details["new_due_at"], details["due_rule"], details["reason_code"] = old, r.DueAt, r.DueRule, act.ReasonCode
			return true, nil
		})
}

// EnabledConnectors lists the connectors to search, by name.
func (a *Activities) EnabledConnectors(ctx context.Context) ([]string, error) {
	var names []string
	err := a.DB.WithContext(ctx).Model(&deletion.Connector{}).Where("enabled").Order("name").Pluck("name", &names).Error
	return names, err
}

// subjectMemo keeps one request's decrypted identifiers for the length of
// a batch pass over it (withSubjectMemo), which reaches the connectors
// five times: read and unwrapped once instead of each time.
type subjectMemo struct {
	id  string
	s   connectors.Subject
	key *crypto.SubjectKey // when the pass read the record itself (rememberSubject)
}

type subjectMemoKey struct{}

// withSubjectMemo answers ctx keeping the subject subject reads first.
func withSubjectMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, subjectMemoKey{}, &subjectMemo{})
}

// subject decrypts the request's verified identifiers (never leaves the activity).
func (a *Activities) subject(ctx context.Context, id string) (connectors.Subject, error) {
	m, _ := ctx.Value(subjectMemoKey{}).(*subjectMemo)
	if m != nil && m.id == id {
		return m.s, nil
	}
	s, err := a.readSubject(ctx, id)
	if err == nil && m != nil {
		m.id, m.s = id, s
	}
	return s, err
}

// rememberSubject decrypts r's identifiers into the pass's memo from the
// record the pass has just read, instead of reading it again.
func (a *Activities) rememberSubject(ctx context.Context, r deletion.Request) error {
	m, _ := ctx.Value(subjectMemoKey{}).(*subjectMemo)
	if m == nil {
		return nil
	}
	s, key, err := a.subjectOf(ctx, r)
	if err == nil {
		m.id, m.s, m.key = r.ID, s, &key
	}
	return err
}

// rememberedKey answers the key rememberSubject kept for request id (nil:
// none kept, read it).
func rememberedKey(ctx context.Context, id string) *crypto.SubjectKey {
	if m, _ := ctx.Value(subjectMemoKey{}).(*subjectMemo); m != nil && m.id == id {
		return m.key
	}
	return nil
}

func (a *Activities) readSubject(ctx context.Context, id string) (connectors.Subject, error) {
	r, err := a.request(a.DB.WithContext(ctx), id)
	if err != nil {
		return connectors.Subject{}, err
	}
	s, _, err := a.subjectOf(ctx, r)
	return s, err
}

func (a *Activities) subjectOf(ctx context.Context, r deletion.Request) (connectors.Subject, crypto.SubjectKey, error) {
	s := connectors.Subject{DeletionID: r.ID}
	if !r.IdentityVerified() {
		return s, crypto.SubjectKey{}, nonRetryable("identity not verified: nothing is searched")
	}
	key, err := a.Keys.SubjectKey(a.DB.WithContext(ctx), r.SubjectKeyID)
	if err != nil {
		return s, key, err
	}
	attested := r.IdentityMethod == "attestation"
	if r.PhoneEnc != nil && (attested || r.PhoneVerifiedAt != nil) {
		p, err := key.Open("deletion.phone", r.PhoneEnc)
		if err != nil {
			return s, key, err
		}
		s.Phone = &connectors.Phone{Number: crypto.NormalisePhone(string(p)), From: r.PhoneHeldFrom, Until: r.PhoneHeldUntil}
		s.PhoneIndex = r.PhoneIndex
	}
	if r.EmailEnc != nil && (attested || r.EmailVerifiedAt != nil) {
		e, err := key.Open("deletion.email", r.EmailEnc)
		if err != nil {
			return s, key, err
		}
		s.Email = strings.ToLower(string(e))
		s.EmailIndex = r.EmailIndex
	}
	return s, key, nil
}

// Locate asks one connector what it holds of the subject.
func (a *Activities) Locate(ctx context.Context, id, name string) (wf.Located, error) {
	s, err := a.subject(ctx, id)
	if err != nil {
		return wf.Located{}, err
	}
	c, release, err := a.slot(ctx, name)
	if err != nil {
		return wf.Located{}, err
	}
	defer release()
	f, err := c.Locate(ctx, s)
	if err != nil {
		return wf.Located{}, err
	}
	today := calendar.DateOf(time.Now(), calendar.Shanghai())
	for i := range f.Items {
		// A mapping's retention citation as the law in force today words it.
		f.Items[i].Connector, f.Items[i].Citation = name, policy.CitationInForce(f.Items[i].Citation, today)
	}
	return wf.Located{Connector: name, Items: f.Items, Digest: f.Digest}, nil
}

func planDigest(items []wf.PlanItem) string {
	b, _ := json.Marshal(items)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BuildPlan stores the plan once (a retry answers the stored one), prefills
// the evidence with what was found, and applies the auto-approval rules.
func (a *Activities) BuildPlan(ctx context.Context, id string, found []wf.Located) (wf.Plan, error) {
	plan, _, err := a.buildPlan(ctx, id, found, false)
	return plan, err
}

// statusEntry moves r to status and answers the audit entry SetStatus
// writes for that move.
func statusEntry(r *deletion.Request, status string) audit.Entry {
	before := audit.Digest(r.AuditView())
	r.Status = status
	return audit.Entry{Actor: system, Action: "deletion.status_changed", ObjectType: "deletion_request", ObjectID: r.ID,
		BeforeDigest: before, AfterDigest: audit.Digest(r.AuditView()), Details: map[string]any{"status": status, "reason_code": ""}}
}

// buildPlan is BuildPlan; with through, as a batch runs it, the moves to
// locating before and, once auto-approved, to executing after are recorded
// in the same transaction: one hold of the audit chain's head instead of
// three. It answers too, when through and the plan it built here was
// auto-approved, what the batch carries on with (nil otherwise).
func (a *Activities) buildPlan(ctx context.Context, id string, found []wf.Located, through bool) (wf.Plan, *planned, error) {
	var (
		plan wf.Plan
		made *planned
	)
	err := a.audited(ctx, func(tx *gorm.DB) ([]audit.Entry, error) {
		r, err := a.request(tx.Clauses(clause.Locking{Strength: "UPDATE"}), id)
		if err != nil {
			return nil, err
		}
		var stored deletion.Plan
		if err := tx.Take(&stored, "deletion_id = ?", id).Error; err == nil {
			plan, err = planOf(stored)
			return nil, err
		}
		var items []wf.PlanItem
		for _, f := range found {
			items = append(items, f.Items...)
		}
		plan = wf.Plan{Items: items, Digest: planDigest(items), AutoApproved: a.Auto.approves(r, items)}
		for _, it := range items {
			if it.RestrictUntil != nil && (plan.RestrictUntil == nil || it.RestrictUntil.After(*plan.RestrictUntil)) {
				plan.RestrictUntil = it.RestrictUntil
			}
		}
		now := time.Now().UTC().Truncate(time.Microsecond) // as stored: the batch carries r on
		b, _ := json.Marshal(items)
		if err := tx.Create(&deletion.Plan{DeletionID: id, Items: string(b), Digest: plan.Digest, AutoApproved: plan.AutoApproved, CreatedAt: now}).Error; err != nil {
			return nil, err
		}
		ev := make([]deletion.Evidence, 0, len(found))
		for _, f := range found {
			e := deletion.Evidence{DeletionID: id, Connector: f.Connector, BeforeDigest: f.Digest, CreatedAt: now}
			var acts []string
			for _, it := range f.Items {
				e.Found += it.Count
				if !slices.Contains(acts, it.Action) {
					acts = append(acts, it.Action)
				}
			}
			e.Action = strings.Join(acts, "+")
			if e.Action == "" {
				e.Action = "none"
			}
			ev = append(ev, e)
		}
		if len(ev) > 0 {
			if err := tx.Create(&ev).Error; err != nil {
				return nil, err
			}
		}
		entries := []audit.Entry{}
		if through && r.Status != wf.StatusLocating {
			entries = append(entries, statusEntry(&r, wf.StatusLocating))
		}
		before := audit.Digest(r.AuditView())
		r.PlanDigest, r.Status, r.RestrictedUntil, r.UpdatedAt = plan.Digest, wf.StatusAwaitingApproval, plan.RestrictUntil, now
		counts := map[string]int64{}
		for _, it := range items {
			counts[it.Connector+"/"+it.Target+"/"+it.Action] += it.Count
		}
		if plan.AutoApproved {
			r.ApprovedBy, r.ApprovedAt = "system:auto-approval", &now
		}
		entries = append(entries, audit.Entry{Actor: system, Action: "deletion.plan_built", ObjectType: "deletion_request", ObjectID: id,
			BeforeDigest: before, AfterDigest: audit.Digest(r.AuditView()),
			Details: map[string]any{"plan_digest": plan.Digest, "items": counts, "auto_approved": plan.AutoApproved}})
		if plan.AutoApproved {
			entries = append(entries, audit.Entry{Actor: "system:auto-approval", Action: "deletion.plan_approved", ObjectType: "deletion_request",
				ObjectID: id, Details: map[string]any{"plan_digest": plan.Digest, "rule": "source+actions"}})
			if through {
				entries = append(entries, statusEntry(&r, wf.StatusExecuting))
			}
		}
		if err := tx.Save(&r).Error; err != nil {
			return nil, err
		}
		if through && plan.AutoApproved {
			made = &planned{req: r, plan: plan, evidence: ev}
		}
		return entries, nil
	})
	if err != nil {
		return plan, nil, err
	}
	return plan, made, nil
}

// storedPlan answers the request's plan as stored.
func (a *Activities) storedPlan(ctx context.Context, id string) (wf.Plan, error) {
	var stored deletion.Plan
	if err := a.DB.WithContext(ctx).Take(&stored, "deletion_id = ?", id).Error; err != nil {
		return wf.Plan{}, err
	}
	return planOf(stored)
}

func planOf(p deletion.Plan) (wf.Plan, error) {
	var items []wf.PlanItem
	if err := json.Unmarshal([]byte(p.Items), &items); err != nil {
		return wf.Plan{}, err
	}
	out := wf.Plan{Items: items, Digest: p.Digest, AutoApproved: p.AutoApproved}
	for _, it := range items {
		if it.RestrictUntil != nil && (out.RestrictUntil == nil || it.RestrictUntil.After(*out.RestrictUntil)) {
			out.RestrictUntil = it.RestrictUntil
		}
	}
	return out, nil
}

// approvedPlan answers the stored plan when it is exactly the approved one.
func (a *Activities) approvedPlan(ctx context.Context, id, digest string) (wf.Plan, error) {
	r, err := a.request(a.DB.WithContext(ctx), id)
	if err != nil {
		return wf.Plan{}, err
	}
	var stored deletion.Plan
	if err := a.DB.WithContext(ctx).Take(&stored, "deletion_id = ?", id).Error; err != nil {
		return wf.Plan{}, err
	}
	if r.ApprovedBy == "" || stored.Digest != digest || r.PlanDigest != digest || planDigest(mustItems(stored)) != digest {
		return wf.Plan{}, nonRetryable("the plan is not the approved plan: nothing executed")
	}
	return planOf(stored)
}

func mustItems(p deletion.Plan) []wf.PlanItem {
	var items []wf.PlanItem
	_ = json.Unmarshal([]byte(p.Items), &items)
	return items
}

// Apply carries out one connector's part of the approved plan, once: the
// receipt is stored with the action's audit entry, and a rerun after a crash
// answers the stored receipt instead of acting again.
func (a *Activities) Apply(ctx context.Context, in wf.ApplyInput) (wf.Receipt, error) {
	return a.apply(ctx, in, false, nil)
}

// apply is Apply; with thenVerifying, as a batch runs the last connector of
// a step, the move to verifying is recorded with the receipt (one hold of
// the audit chain's head instead of two). A batch passes the plan it built
// and approved itself moments before (fresh): no receipt of it can exist
// yet and it is the approved plan, so neither is read back.
func (a *Activities) apply(ctx context.Context, in wf.ApplyInput, thenVerifying bool, fresh *planned) (wf.Receipt, error) {
	var plan wf.Plan
	if fresh != nil && fresh.plan.Digest == in.PlanDigest {
		plan = fresh.plan
	} else {
		var prior deletion.Receipt
		if err := a.DB.WithContext(ctx).Take(&prior, "deletion_id = ? AND connector = ? AND step = ?", in.DeletionID, in.Connector, in.Step).Error; err == nil {
			var rc wf.Receipt
			if err := json.Unmarshal([]byte(prior.Receipt), &rc); err != nil {
				return rc, err
			}
			rc.Replayed = true
			return rc, nil
		}
		var err error
		if plan, err = a.approvedPlan(ctx, in.DeletionID, in.PlanDigest); err != nil {
			return wf.Receipt{}, err
		}
	}
	var items []wf.PlanItem
	for _, it := range plan.Items {
		if it.Connector == in.Connector && (in.Step == connectors.StepExecute || it.Action == wf.ActionRestrict) {
			items = append(items, it)
		}
	}
	s, err := a.subject(ctx, in.DeletionID)
	if err != nil {
		return wf.Receipt{}, err
	}
	c, release, err := a.slot(ctx, in.Connector)
	if err != nil {
		return wf.Receipt{}, err
	}
	defer release()
	res, err := c.Apply(ctx, s, in.Step, items)
	if err != nil {
		return wf.Receipt{}, err
	}
	rc := wf.Receipt{Connector: in.Connector, Step: in.Step, Affected: res.Affected, Reference: res.Reference}
	if rc.Reference == "" {
		rc.Reference = uuid.NewString()
	}
	b, _ := json.Marshal(rc)
	err = a.audited(ctx, func(tx *gorm.DB) ([]audit.Entry, error) {
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&deletion.Receipt{DeletionID: in.DeletionID, Connector: in.Connector,
			Step: in.Step, Receipt: string(b), CreatedAt: time.Now().UTC()})
		if ins.Error != nil || ins.RowsAffected == 0 {
			return nil, ins.Error
		}
		entries := []audit.Entry{{Actor: "connector:" + in.Connector, Action: "deletion.connector_applied", ObjectType: "deletion_request",
			ObjectID: in.DeletionID, Details: map[string]any{"connector": in.Connector, "step": in.Step, "affected": rc.Affected,
				"reference": rc.Reference, "plan_digest": in.PlanDigest}}}
		if thenVerifying {
			r, err := a.request(tx.Clauses(clause.Locking{Strength: "UPDATE"}), in.DeletionID)
			if err != nil {
				return nil, err
			}
			if r.Status != wf.StatusVerifying {
				entries = append(entries, statusEntry(&r, wf.StatusVerifying))
				r.UpdatedAt = time.Now().UTC()
				if err := tx.Save(&r).Error; err != nil {
					return nil, err
				}
			}
		}
		return entries, nil
	})
	return rc, err
}

// slot answers a connector once one of its concurrency slots is free. The
// activity heartbeats from the start, so waiting for a slot during a bulk run
// is not mistaken for a dead worker; release frees the slot and stops it.
func (a *Activities) slot(ctx context.Context, name string) (connectors.Connector, func(), error) {
	stop := heartbeat(ctx)
	c, err := a.reg.get(ctx, a, name)
	if err != nil {
		stop()
		return nil, nil, err
	}
	free, err := c.acquire(ctx)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return c.Connector, func() { free(); stop() }, nil
}

// heartbeat reports progress while a long connector action runs.
func heartbeat(ctx context.Context) func() {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// Verify re-queries a connector; data still there is an error the workflow retries.
func (a *Activities) Verify(ctx context.Context, in wf.VerifyInput) (int64, error) {
	s, err := a.subject(ctx, in.DeletionID)
	if err != nil {
		return 0, err
	}
	c, release, err := a.slot(ctx, in.Connector)
	if err != nil {
		return 0, err
	}
	defer release()
	n, err := c.Remaining(ctx, s, in.Step)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		return n, temporal.NewApplicationError(fmt.Sprintf("%d items remain in %s", n, in.Connector), wf.ErrDataRemaining)
	}
	return 0, nil
}
