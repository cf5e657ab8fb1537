package escalation

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/notify"
	wf "github.com/redress/redress/workflows/escalation"
)

// alertSupervisors mails the people who watch escalations (REDRESS_COMPLIANCE_EMAILS)
// that a filing needs them: no acknowledgement after every re-submission, or
// a refusal. Ids and codes only. The Message-ID is stable per escalation, so
// a resend after a failed activity attempt is recognisably the same alert.
func (a *Activities) alertSupervisors(ctx context.Context, id, key, what string) error {
	return a.mailSupervisors(ctx, id, alerts.EscalationOverdue, key, "needs a supervisor", what)
}

// mailSupervisors sends one alert about escalation id to the compliance
// officers, in their console (and mail, per their preferences) through
// identity's AlertService, and to REDRESS_COMPLIANCE_EMAILS; subject
// follows "Escalation <id> ".
func (a *Activities) mailSupervisors(ctx context.Context, id string, kind alerts.Kind, key, subject, what string) error {
	var e store.Escalation
	if err := a.DB.WithContext(ctx).Take(&e, "id = ?", id).Error; err != nil {
		return err
	}
	if a.Alerts != nil {
		link := "/escalations/" + id
		if e.Kind == wf.KindIncident {
			link = "/incidents/" + id
		}
		if err := a.Alerts.Raise(ctx, alerts.Event{Kind: kind, Key: "escalation/" + id + "/" + key, SubjectType: "escalation",
			SubjectRef: id, Note: e.Kind + ": " + subject, Link: link, DueAt: e.DueAt}); err != nil {
			return fmt.Errorf("supervisor alert: %w", err)
		}
	}
	if a.Alert == nil || len(a.AlertTo) == 0 {
		return nil
	}
	caseNumber := "-"
	if e.CaseID != nil {
		if cs, err := store.CaseFacts(ctx, a.Intake, []string{*e.CaseID}); err == nil {
			caseNumber = cs[0].CaseNumber
		}
	}
	var filings int64
	a.DB.WithContext(ctx).Model(&store.Filing{}).Where("escalation_id = ?", id).Count(&filings)
	due := "-"
	if e.DueAt != nil {
		due = e.DueAt.UTC().Format(time.RFC3339)
	}
	for _, to := range a.AlertTo {
		var msg bytes.Buffer
		fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: Escalation %s %s\r\n", a.Alert.FromAddress(), to, id, subject)
		fmt.Fprintf(&msg, "Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
			time.Now().UTC().Format(time.RFC1123Z), notify.MessageID("escalation-alert/"+id+"/"+key+"/"+to))
		fmt.Fprintf(&msg, "Escalation %s (%s, case %s, regulator %q, %d submission(s)): %s\r\n"+
			"Status: %s. Due: %s.\r\nPlease contact the regulator and record what happened in Redress.\r\n",
			id, e.Kind, caseNumber, e.Regulator, filings, what, e.Status, due)
		if err := a.Alert.SendMessage(ctx, to, msg.Bytes()); err != nil {
			return fmt.Errorf("supervisor alert: %w", err)
		}
	}
	return nil
}
