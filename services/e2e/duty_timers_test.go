package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/notify/smtptest"
	wf "github.com/redress/redress/workflows/escalation"
)

// Twenty crafted API complaints about one leak open an incident, but do not
// file it with the regulator: it waits for an officer's grade while its
// report clock runs from the first complaint (here received 4 h less 20
// seconds ago, so the 4 h deadline of an "other" operator passes during the
// test, on the real workflow engine). The deadline passing leaves a breach
// row, an audit entry, a mail to the compliance officers and an alert in
// each officer's console (AlertService, raised by the escalation worker with
// its service credential), none with personal data; grading then files it.
func TestDetectedIncidentWaitsForGradeAndItsDeadlineBreaches(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	agent := h.as("api.partner")
	var ids []string
	for i := range 20 {
		req := submission(fmt.Sprintf("crafted-leak-%04d", i))
		req.Category = intakev1.Category_CATEGORY_PERSONAL_INFORMATION_LEAK
		req.Complainant.Email = fmt.Sprintf("crafted%02d@example.com", i)
		req.Subject = &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_APP, Value: "ShopFast", LeakedDataType: "phone", LeakSource: "ShopFast"}
		sub, err := h.api.SubmitComplaint(agent, req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.GetCase().GetId())
	}
	// The complaints reached the operator almost 4 hours ago: discovery.
	period := 4 * time.Hour
	margin := 20 * time.Second
	if err := h.db.Exec("UPDATE cases SET received_at = received_at - ?::interval WHERE id IN ?",
		fmt.Sprintf("%d milliseconds", (period-margin).Milliseconds()), ids).Error; err != nil {
		t.Fatal(err)
	}
	var discovered time.Time
	if err := h.db.Raw("SELECT min(received_at) FROM cases WHERE id IN ?", ids).Scan(&discovered).Error; err != nil {
		t.Fatal(err)
	}
	// A compliance officer's account, there before the breach: the alert
	// goes to the people holding the role at the time.
	if _, err := h.identity.AddUser(h.ctx, "test", identity.NewUser{Username: "officer.zhao", Role: access.ComplianceOfficer}); err != nil {
		t.Fatal(err)
	}
	officer, _, err := h.identity.IssueToken(h.ctx, "officer.zhao", "officer.zhao", "test", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	compliance := "compliance.officer@operator.example"
	e := startEscalation(h, escOptions{class: wf.ClassOther, alertTo: []string{compliance}})

	var inc *escalationv1.Escalation
	h.eventually("an incident of the 20 complaints", 60*time.Second, func() bool {
		l, err := e.api.ListEscalations(h.ctx, &escalationv1.ListEscalationsRequest{Kinds: []string{wf.KindIncident}})
		if err != nil || len(l.GetEscalations()) != 1 {
			return false
		}
		inc = l.GetEscalations()[0]
		return len(inc.GetCaseIds()) == 20
	})
	id := inc.GetId()
	if due := discovered.Add(period); !inc.GetDueAt().AsTime().Equal(due) {
		t.Fatalf("due %v, want discovery %v + 4 h (opened %v)", inc.GetDueAt().AsTime(), discovered, inc.GetCreatedAt().AsTime())
	}

	// Past 80 % of its period already: the compliance officers are told at
	// once that an ungraded incident is near its deadline.
	rem := h.smtp.WaitFor(t, 60*time.Second, func(m smtptest.Message) bool {
		return strings.Contains(m.Subject, id) && strings.Contains(m.Subject, "is due")
	})
	if rem.To[0] != compliance || !strings.Contains(rem.Body, "NOT GRADED") || !strings.Contains(rem.Body, "80%") {
		t.Fatalf("reminder to %v:\n%s", rem.To, rem.Body)
	}

	// The deadline passes with the incident ungraded: a breach, never a silent pass.
	h.eventually("the breach on record", 60*time.Second, func() bool {
		return slices.Contains(auditActions(t, h, id), "escalation.duty_breached")
	})
	var breaches []store.Breach
	if err := h.db.Where("escalation_id = ?", id).Find(&breaches).Error; err != nil {
		t.Fatal(err)
	}
	if len(breaches) != 1 || breaches[0].Duty != wf.DutyReport || !breaches[0].DueAt.Equal(inc.GetDueAt().AsTime()) {
		t.Fatalf("breach rows %+v", breaches)
	}
	m := h.smtp.WaitFor(t, 60*time.Second, func(m smtptest.Message) bool {
		return strings.Contains(m.Subject, id) && strings.Contains(m.Subject, "missed a due date")
	})
	if m.To[0] != compliance || !strings.Contains(m.Body, "NOT GRADED") || !strings.Contains(m.Body, wf.IncidentRuleID) ||
		strings.Contains(m.Body, "crafted0") || strings.Contains(m.Body, "Zhang San") {
		t.Fatalf("breach alert to %v:\n%s", m.To, m.Body)
	}
	checkBreachAlert(t, h, officer, id, inc.GetDueAt().AsTime())

	// Nothing went to the regulator on the complaints' word alone.
	if x := e.get(h, id); len(x.GetFilings()) != 0 || x.GetStatus() != wf.StatusOpen ||
		slices.Contains(auditActions(t, h, id), "escalation.submitted") {
		t.Fatalf("an ungraded incident was filed: status %s, %d filing(s)", x.GetStatus(), len(x.GetFilings()))
	}

	// The officer grades it: now it is filed (the manual adapter: ready for
	// the officer to file by hand).
	if _, err := e.api.GradeIncident(h.as("officer.wang"), &escalationv1.GradeIncidentRequest{EscalationId: id, OperatorClass: wf.ClassOther, Severity: wf.SeverityRelativelySerious}); err != nil {
		t.Fatal(err)
	}
	x := e.waitFor(h, id, "filed after grading", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })
	if x.GetFilings()[0].GetOutcome() != wf.OutcomeReadyInManual || !x.GetDueAt().AsTime().Equal(inc.GetDueAt().AsTime()) {
		t.Fatalf("filing %+v, due %v", x.GetFilings()[0], x.GetDueAt().AsTime())
	}
	acts := auditActions(t, h, id)
	if i, j := slices.Index(acts, "escalation.grade"), slices.Index(acts, "escalation.submitted"); i < 0 || j < i {
		t.Fatalf("audit %v: submitted before graded", acts)
	}
}

// checkBreachAlert checks that the officer holding token finds, through
// AlertService, the alert of incident id's missed report deadline: overdue,
// naming the incident by id and link with its due time, and no personal
// data in the alert nor in any alert row of the incident.
func checkBreachAlert(t *testing.T, h *harness, token, id string, due time.Time) {
	t.Helper()
	alerts := identityv1.NewAlertServiceClient(h.conn)
	var breach *identityv1.Alert
	h.eventually("the breach alert in the officer's console", 60*time.Second, func() bool {
		l, err := alerts.ListMyAlerts(bearerCtx(h.ctx, token), &identityv1.ListMyAlertsRequest{})
		if err != nil {
			t.Fatalf("list my alerts: %v", err)
		}
		for _, a := range l.GetAlerts() {
			if a.GetKind() == identityv1.AlertKind_ALERT_KIND_ESCALATION_OVERDUE && a.GetSubjectRef() == id {
				breach = a
				return true
			}
		}
		return false
	})
	if breach.GetSubjectType() != "escalation" || breach.GetLink() != "/incidents/"+id || !breach.GetDueAt().AsTime().Equal(due) ||
		!strings.Contains(breach.GetNote(), "missed a due date") || breach.GetRead() {
		t.Fatalf("breach alert %+v", breach)
	}
	var rows []string
	if err := h.db.Raw("SELECT concat_ws(' ', recipient, event_key, kind, subject_type, subject_ref, note, link) FROM alerts WHERE subject_ref = ?", id).
		Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for _, personal := range []string{"crafted", "@example.com", "Zhang San", "+86138"} {
			if strings.Contains(r, personal) {
				t.Errorf("an alert row holds personal data (%q): %s", personal, r)
			}
		}
	}
}
