package deletionworker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/signed"
	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/deletion"
	"github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/policy"
)

// certificate is the deletion certificate given to the requester and the
// regulator: what each system held, what was done, what is left, who approved.
type certificate struct {
	DeletionID      string            `json:"deletion_id"`
	Reference       string            `json:"reference"`
	Type            string            `json:"type"`
	Status          string            `json:"status"`
	Step            string            `json:"step"`
	SubmittedAt     time.Time         `json:"submitted_at"`
	IdentityMethod  string            `json:"identity_method"`
	PlanDigest      string            `json:"plan_digest"`
	ApprovedBy      string            `json:"approved_by"`
	ApprovedAt      *time.Time        `json:"approved_at"`
	RestrictedUntil *time.Time        `json:"restricted_until,omitempty"`
	Systems         []certificateItem `json:"systems"`
	IssuedAt        time.Time         `json:"issued_at"`
	// The same in words, per system and outcome, in both languages.
	StatementEN []string `json:"statement_en"`
	StatementZH []string `json:"statement_zh"`
}

type certificateItem struct {
	Connector    string    `json:"connector"`
	Found        int64     `json:"found"`
	Action       string    `json:"action"`
	Affected     int64     `json:"affected"`
	Remaining    int64     `json:"remaining"`
	BeforeDigest string    `json:"before_digest"`
	AfterDigest  string    `json:"after_digest"`
	Receipt      string    `json:"receipt"`
	Outcomes     []outcome `json:"outcomes"`
}

// Finish re-reads every connector of the step, completes the evidence and
// issues the certificate; the request becomes completed, restricted (items
// kept under a retention floor) or failed (data left after retries).
func (a *Activities) Finish(ctx context.Context, in wf.FinishInput) (wf.Snapshot, error) {
	snap, _, err := a.finish(ctx, in, nil, nil)
	return snap, err
}

// finish is Finish. A batch passes the request it planned in this pass
// (fresh: no certificate can exist yet, and the record, plan and evidence
// are as the plan's transaction left them) and the connectors its verify
// found empty moments before (verified: not counted again). It answers the
// certificate it issued too (zero when there was nothing to do).
func (a *Activities) finish(ctx context.Context, in wf.FinishInput, fresh *planned, verified map[string]bool) (wf.Snapshot, certificate, error) {
	var (
		r    deletion.Request
		plan wf.Plan
		ev   []deletion.Evidence
	)
	if fresh != nil {
		r, plan = fresh.req, fresh.plan
		ev = slices.Clone(fresh.evidence)
	} else {
		var (
			done bool
			err  error
		)
		if r, plan, ev, done, err = a.finishing(ctx, in); err != nil || done {
			return snapshot(r), certificate{}, err
		}
	}
	inStep := map[string]bool{}
	for _, it := range plan.Items {
		if in.Step == connectors.StepExecute || it.Action == wf.ActionRestrict {
			inStep[it.Connector] = true
		}
	}
	receipts := map[string]wf.Receipt{}
	for _, rc := range in.Receipts {
		receipts[rc.Connector] = rc
	}
	s, err := a.subject(ctx, r.ID)
	if err != nil {
		return wf.Snapshot{}, certificate{}, err
	}
	defer heartbeat(ctx)()
	failed := false
	for i := range ev {
		e := &ev[i]
		if !inStep[e.Connector] {
			if e.AfterDigest == "" {
				e.AfterDigest = e.BeforeDigest
			}
			continue
		}
		c, err := a.reg.get(ctx, a, e.Connector)
		if err != nil {
			return wf.Snapshot{}, certificate{}, err
		}
		var left int64
		if !verified[e.Connector] {
			left, err = c.Remaining(ctx, s, in.Step)
			if errors.Is(err, connectors.ErrAwaitingCallback) {
				left, err = 1, nil
			}
			if err != nil {
				return wf.Snapshot{}, certificate{}, err
			}
		}
		after, err := c.Locate(ctx, s)
		if err != nil {
			return wf.Snapshot{}, certificate{}, err
		}
		rc := receipts[e.Connector]
		if in.Step == connectors.StepExecute {
			e.Affected = rc.Affected
		} else {
			e.Affected += rc.Affected
		}
		e.Remaining, e.AfterDigest = left, after.Digest
		if rc.Reference != "" {
			e.Receipt = rc.Reference
		}
		failed = failed || left > 0
	}
	status := wf.StatusCompleted
	switch {
	case failed:
		status = wf.StatusFailed
	case in.Step == connectors.StepExecute && plan.RestrictUntil != nil:
		status = wf.StatusRestricted
	}
	now := time.Now().UTC()
	cert := certificate{DeletionID: r.ID, Reference: "DR-" + r.ID[:8], Type: r.Type, Status: status, Step: in.Step, SubmittedAt: r.CreatedAt,
		IdentityMethod: r.IdentityMethod, PlanDigest: r.PlanDigest, ApprovedBy: r.ApprovedBy, ApprovedAt: r.ApprovedAt,
		RestrictedUntil: plan.RestrictUntil, IssuedAt: now}
	for _, e := range ev {
		cert.Systems = append(cert.Systems, certificateItem{Connector: e.Connector, Found: e.Found, Action: e.Action, Affected: e.Affected,
			Remaining: e.Remaining, BeforeDigest: e.BeforeDigest, AfterDigest: e.AfterDigest, Receipt: e.Receipt,
			Outcomes: outcomesOf(plan.Items, e.Connector, in.Step, e.Remaining)})
	}
	cert.StatementEN, cert.StatementZH = statements(cert.Systems)
	unsigned, err := json.Marshal(cert)
	if err != nil {
		return wf.Snapshot{}, certificate{}, err
	}
	body, err := signed.Sign(unsigned, a.Keys.SigningKey())
	if err != nil {
		return wf.Snapshot{}, certificate{}, err
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	var out deletion.Request
	err = a.audited(ctx, func(tx *gorm.DB) ([]audit.Entry, error) {
		if len(ev) > 0 { // one upsert for every system's row
			if err := tx.Save(&ev).Error; err != nil {
				return nil, err
			}
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&deletion.Certificate{DeletionID: r.ID, Body: string(body), Digest: digest, IssuedAt: now}).Error; err != nil {
			return nil, err
		}
		var sup []deletion.Suppression
		if s.PhoneIndex != nil {
			sup = append(sup, deletion.Suppression{Kind: "phone", Hash: s.PhoneIndex, DeletionID: r.ID, CreatedAt: now})
		}
		if s.EmailIndex != nil {
			sup = append(sup, deletion.Suppression{Kind: "email", Hash: s.EmailIndex, DeletionID: r.ID, CreatedAt: now})
		}
		if len(sup) > 0 && status != wf.StatusFailed {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&sup).Error; err != nil {
				return nil, err
			}
		}
		locked, err := a.request(tx.Clauses(clause.Locking{Strength: "UPDATE"}), r.ID)
		if err != nil {
			return nil, err
		}
		before := audit.Digest(locked.AuditView())
		locked.Status, locked.UpdatedAt = status, now
		if err := tx.Save(&locked).Error; err != nil {
			return nil, err
		}
		out = locked
		details := map[string]any{"step": in.Step, "certificate_digest": digest, "status": status}
		for _, e := range ev {
			details[e.Connector] = map[string]any{"found": e.Found, "affected": e.Affected, "remaining": e.Remaining}
		}
		return []audit.Entry{
			{Actor: system, Action: "deletion.evidence_recorded", ObjectType: "deletion_request", ObjectID: r.ID, Details: details},
			{Actor: system, Action: "deletion.certificate_issued", ObjectType: "deletion_request", ObjectID: r.ID,
				BeforeDigest: before, AfterDigest: audit.Digest(locked.AuditView()), Details: map[string]any{"certificate_digest": digest, "status": status}},
		}, nil
	})
	return snapshot(out), cert, err
}

// finishing reads what Finish works from: the request, its plan and its
// evidence; done when the request is certified for this step already.
func (a *Activities) finishing(ctx context.Context, in wf.FinishInput) (r deletion.Request, plan wf.Plan, ev []deletion.Evidence, done bool, err error) {
	if r, err = a.request(a.DB.WithContext(ctx), in.DeletionID); err != nil {
		return
	}
	var prior deletion.Certificate
	if a.DB.WithContext(ctx).Take(&prior, "deletion_id = ?", r.ID).Error == nil {
		var c certificate
		if json.Unmarshal([]byte(prior.Body), &c) == nil && c.Step == in.Step {
			return r, plan, nil, true, nil
		}
	}
	if plan, err = a.storedPlan(ctx, r.ID); err != nil {
		return
	}
	err = a.DB.WithContext(ctx).Where("deletion_id = ?", r.ID).Order("connector").Find(&ev).Error
	return
}

// RecordBreach opens the sla_breach escalation (once).
func (a *Activities) RecordBreach(ctx context.Context, in wf.BreachInput) error {
	return a.escalate(ctx, in.DeletionID, "sla_breach", "deletion/"+in.DeletionID+"/sla_breach",
		"deletion request not answered by "+in.DueAt.UTC().Format(time.RFC3339), map[string]any{"due_at": in.DueAt})
}

// Escalate opens a manual escalation for a connector that still holds data.
func (a *Activities) Escalate(ctx context.Context, in wf.EscalateInput) error {
	return a.escalate(ctx, in.DeletionID, "manual", "deletion/"+in.DeletionID+"/"+in.Connector+"/"+in.Reason,
		fmt.Sprintf("connector %s: %s after retries", in.Connector, in.Reason), map[string]any{"connector": in.Connector})
}

// escalate opens the escalation through the escalation service (idempotent
// by its dedupe key) and, once, records on the request that it did.
func (a *Activities) escalate(ctx context.Context, id, kind, dedupe, reason string, details map[string]any) error {
	if a.Escalations == nil {
		return errors.New("no escalation opener configured")
	}
	r, err := a.request(a.DB.WithContext(ctx), id)
	if err != nil {
		return err
	}
	o := escalation.Opening{Kind: kind, DedupeKey: dedupe, DeletionRequestID: r.ID, DeadlineKind: "deletion", Reason: reason}
	if r.CaseID != nil {
		o.CaseID = *r.CaseID
	}
	eid, err := a.Escalations.Open(ctx, o)
	if err != nil {
		return err
	}
	return a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&deletion.Receipt{DeletionID: id, Connector: "escalation",
			Step: dedupe, Receipt: fmt.Sprintf(`{"escalation_id":%q}`, eid), CreatedAt: time.Now().UTC()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		details["escalation_id"], details["kind"] = eid, kind
		_, err := audit.Append(tx, audit.Entry{Actor: system, Action: "deletion.escalated", ObjectType: "deletion_request", ObjectID: id, Details: details})
		return err
	})
}

// Remind tells those who may approve that a plan awaits them (an alert
// through identity's AlertService, one per reminder however often the
// activity is retried) and records the reminder.
func (a *Activities) Remind(ctx context.Context, id string) error {
	if a.Alerts != nil {
		var r deletion.Request
		if err := a.DB.WithContext(ctx).Select("id", "due_at").Take(&r, "id = ?", id).Error; err != nil {
			return err
		}
		key := "deletion/" + id + "/approval"
		if activity.IsActivity(ctx) { // one alert per reminder: its activity id is stable across retries
			info := activity.GetInfo(ctx)
			key += "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID
		}
		due := r.DueAt.UTC()
		if err := a.Alerts.Raise(ctx, alerts.Event{Kind: alerts.DeletionApproval, Key: key, SubjectType: "deletion_request",
			SubjectRef: "DR-" + id[:8], Note: "deletion plan waits for approval", Link: "/deletions/" + id, DueAt: &due}); err != nil {
			return err
		}
	}
	return a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{Actor: system, Action: "deletion.approval_reminder", ObjectType: "deletion_request", ObjectID: id})
		return err
	})
}

// Notify tells the requester the outcome, once per kind (the receipt table
// keeps the notice's key).
func (a *Activities) Notify(ctx context.Context, in wf.NoticeInput) error {
	return a.notify(ctx, in, nil)
}

// told is what a batch pass holds for the outcome notice of a request it
// planned and certified itself: its record, its key and what its
// certificate says. No notice of that outcome can have gone out before the
// certificate, so nothing is read back.
type told struct {
	req        deletion.Request
	key        crypto.SubjectKey
	statements []string
}

func (a *Activities) notify(ctx context.Context, in wf.NoticeInput, known *told) error {
	if known == nil {
		var seen int64
		a.DB.WithContext(ctx).Model(&deletion.Receipt{}).Where("deletion_id = ? AND connector = 'notice' AND step = ?", in.DeletionID, in.Kind).Count(&seen)
		if seen > 0 {
			return nil
		}
		r, err := a.request(a.DB.WithContext(ctx), in.DeletionID)
		if err != nil {
			return err
		}
		key, err := a.Keys.SubjectKey(a.DB.WithContext(ctx), r.SubjectKeyID)
		if errors.Is(err, crypto.ErrShredded) {
			return nonRetryable("the requester's address is no longer readable")
		}
		if err != nil { // the database, not the requester: retried
			return err
		}
		known = &told{req: r, key: key, statements: a.certificateStatements(ctx, r)}
	}
	r, key := known.req, known.key
	to := notify.Recipient{Preferred: notify.ChannelEmail}
	if p, err := key.Open("deletion.phone", r.PhoneEnc); err == nil && r.PhoneEnc != nil {
		to.Phone = string(p)
	}
	if e, err := key.Open("deletion.email", r.EmailEnc); err == nil && r.EmailEnc != nil {
		to.Email = string(e)
	}
	r.ReasonText = deletion.OpenText(key, nil, deletion.FieldReasonText, r.ReasonTextEnc)
	if in.Kind == wf.NoticeExtended {
		r.ReasonText = ""
		if r.ExtensionReasonTextID != nil {
			enc, _, err := deletion.StoredReasonText(a.DB.WithContext(ctx), r.ID, *r.ExtensionReasonTextID)
			if err != nil {
				return err
			}
			r.ReasonText = deletion.OpenText(key, nil, deletion.FieldReasonText, enc)
		}
	}
	n := notify.Notice{Kind: notify.KindResult, Language: r.Language, CaseNumber: "DR-" + r.ID[:8], DedupeKey: "deletion/" + r.ID + "/" + in.Kind,
		Body: outcomeText(r, in.Kind, known.statements)}
	if in.Kind == wf.StatusRejected {
		n.Kind, n.ReasonCode = notify.KindRejection, r.ReasonCode
	}
	if in.Kind == wf.NoticeExtended {
		n.Kind = notify.KindReply
	}
	if to.Channel() != "" {
		if err := a.Sender.Send(ctx, to, n); err != nil {
			if errors.Is(err, notify.ErrPermanent) {
				return nonRetryable(err.Error())
			}
			return err
		}
	}
	// Sent: record it even when the worker is stopping (this activity's
	// context cancelled), or the retry would send the notice again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return a.DB.WithContext(rctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&deletion.Receipt{DeletionID: r.ID, Connector: "notice",
		Step: in.Kind, Receipt: `{"channel":"` + to.Channel() + `"}`, CreatedAt: time.Now().UTC()}).Error
}

// ForgetRequester crypto-shreds the key of the request's own copy of the
// requester's phone and email once the completion notice is out: the record
// of the request stays (register, evidence, certificate), the identifiers do
// not, and the suppression hashes keep the data from coming back.
func (a *Activities) ForgetRequester(ctx context.Context, id string) error {
	return a.audited(ctx, func(tx *gorm.DB) ([]audit.Entry, error) {
		r, err := a.request(tx.Clauses(clause.Locking{Strength: "UPDATE"}), id)
		if err != nil {
			return nil, err
		}
		if r.Status != wf.StatusCompleted {
			return nil, nonRetryable("the request is not completed")
		}
		if _, err := a.Keys.SubjectKey(tx, r.SubjectKeyID); errors.Is(err, crypto.ErrShredded) {
			return nil, nil // done by an earlier attempt
		} else if err != nil {
			return nil, err
		}
		if err := a.Keys.Shred(tx, r.SubjectKeyID); err != nil {
			return nil, err
		}
		return []audit.Entry{{Actor: system, Action: "deletion.requester_forgotten", ObjectType: "deletion_request", ObjectID: id,
			Details: map[string]any{"subject_key_id": r.SubjectKeyID}}}, nil
	})
}

// certificateStatements answers what the certificate says was done, system
// by system, in the requester's language (none before a certificate).
func (a *Activities) certificateStatements(ctx context.Context, r deletion.Request) []string {
	var c deletion.Certificate
	if err := a.DB.WithContext(ctx).Take(&c, "deletion_id = ?", r.ID).Error; err != nil {
		return nil
	}
	var cert certificate
	if err := json.Unmarshal([]byte(c.Body), &cert); err != nil {
		return nil
	}
	return cert.statementsIn(r.Language)
}

// statementsIn answers the certificate's statements in language.
func (c certificate) statementsIn(language string) []string {
	if language == notify.LangEN {
		return c.StatementEN
	}
	return c.StatementZH
}

func outcomeText(r deletion.Request, kind string, done []string) string {
	en := r.Language == notify.LangEN
	list := ""
	for _, line := range done {
		list += "\n- " + line
	}
	switch kind {
	case wf.StatusCompleted:
		if en {
			return "Your deletion request is complete. What we did with your personal information, system by system:" + list +
				"\nYour deletion certificate reference is DR-" + r.ID[:8] + "."
		}
		return "您的删除申请已办结。我们对您个人信息的处理情况（逐个系统）：" + list + "\n删除证明编号：DR-" + r.ID[:8] + "。"
	case wf.StatusRestricted:
		until := ""
		if r.RestrictedUntil != nil {
			until = r.RestrictedUntil.Format("2006-01-02")
		}
		citeEN, citeZH := policy.LogRetentionCitation(calendar.DateOf(time.Now(), calendar.Shanghai()))
		if en {
			return "Your deletion request is done, except for network logs the law requires us to keep (" + citeEN + "): they are restricted to storage and security and will be deleted on " + until + ". System by system:" + list +
				"\nYour deletion certificate reference is DR-" + r.ID[:8] + "."
		}
		return "您的删除申请已处理；法律要求留存的网络日志（" + citeZH + "）仅作存储和安全用途，将于 " + until + " 删除。逐个系统：" + list + "\n删除证明编号：DR-" + r.ID[:8] + "。"
	case wf.NoticeExtended:
		if en {
			return "We need more time to complete your deletion request. The new due date is " + i18n.LegalTime(i18n.EN, r.DueAt) + ". " +
				extensionReasonEN[r.ExtensionReasonCode] + " " + r.ReasonText
		}
		return "您的删除申请需要更多处理时间，新的办理期限为 " + i18n.LegalTime(i18n.ZH, r.DueAt) + "。" + extensionReasonZH[r.ExtensionReasonCode] + r.ReasonText
	case wf.StatusFailed:
		if en {
			return "We could not yet confirm the deletion in every system; a person is following up and we will write again."
		}
		return "部分系统的删除尚未确认，已转人工跟进，我们将再次通知您。"
	}
	if en {
		return "Your request was refused: " + r.ReasonText + " You may complain to the authorities or bring a lawsuit (" + policy.PIPL("50") + ")."
	}
	return "您的申请未被受理：" + r.ReasonText + " 您可以向有关部门投诉或依法向人民法院提起诉讼（" + policy.CitationIn(policy.PIPL("50"), "zh") + "）。"
}

// Reasons of an extension as the requester reads them, before the
// operator's text.
var (
	extensionReasonEN = map[string]string{
		"complexity":         "Reason: the request is complex.",
		"number_of_requests": "Reason: we received many requests.",
		"other":              "Reason:",
	}
	extensionReasonZH = map[string]string{
		"complexity":         "原因：申请较为复杂。",
		"number_of_requests": "原因：收到的申请数量较多。",
		"other":              "原因：",
	}
)
