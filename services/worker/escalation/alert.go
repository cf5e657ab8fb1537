package escalation

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/notify"
)

// alertSupervisors mails the people who watch escalations (REDRESS_COMPLIANCE_EMAILS)
// that a filing needs them: no acknowledgement after every re-submission, or
// a refusal. Ids and codes only. The Message-ID is stable per escalation, so
// a resend after a failed activity attempt is recognisably the same alert.
func (a *Activities) alertSupervisors(ctx context.Context, id, key, what string) error {
	return a.mailSupervisors(ctx, id, key, "needs a supervisor", what)
}

// mailSupervisors sends one alert about escalation id; subject follows "Escalation <id> ".
func (a *Activities) mailSupervisors(ctx context.Context, id, key, subject, what string) error {
	if a.Alert == nil || len(a.AlertTo) == 0 {
		return nil
	}
	var e store.Escalation
	if err := a.DB.WithContext(ctx).Take(&e, "id = ?", id).Error; err != nil {
		return err
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
