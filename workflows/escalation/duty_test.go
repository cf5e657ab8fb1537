package escalation

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
)

func at(d time.Duration) string { return testStart.Add(d).UTC().Format(time.RFC3339) }

func ptr(t time.Time) *time.Time { return &t }

// An incident detected from complaints (not graded) is not filed: its clock
// runs from discovery (an hour before the run), the supervisors are reminded
// at 50 % and 80 % of the 4 hours and the breach is recorded at the due time;
// the officer's grade then files it.
func TestUngradedIncidentIsNotFiledRemindsAndBreaches(t *testing.T) {
	discovered := testStart.Add(-time.Hour)
	r := &record{snap: Snapshot{ID: "d1", Kind: KindIncident, Status: StatusOpen, AwaitingGrade: true, ClockStart: discovered,
		DueAt: ptr(discovered.Add(4 * time.Hour))}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	env.RegisterDelayedCallback(func() {
		if r.submits != 0 {
			t.Errorf("an ungraded incident was submitted %d time(s)", r.submits)
		}
	}, 3*time.Hour+30*time.Minute)
	update(env, 4*time.Hour, Action{ID: "g1", Type: ActGrade, OperatorClass: ClassOther}, false, t)
	update(env, 5*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d1", Timing: Timing{AckWait: 100 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"duty_reminder report 50% @" + at(time.Hour),
		"duty_reminder report 80% @" + at(2*time.Hour+12*time.Minute),
		"duty_breached report  @" + at(3*time.Hour),
	}
	if !slices.Equal(r.duties, want) {
		t.Fatalf("duties %q\nwant %q", r.duties, want)
	}
	if r.submits != 1 || !equal(r.actions, []string{ActDutyReminder, ActDutyReminder, ActDutyBreached, ActGrade, ActClose}) {
		t.Fatalf("submits %d actions %v", r.submits, r.actions)
	}
}

// Graded and filed in time: no reminder, no breach.
func TestIncidentGradedAndFiledInTime(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d2", Kind: KindIncident, Status: StatusOpen, AwaitingGrade: true, ClockStart: testStart,
		DueAt: ptr(testStart.Add(time.Hour))}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	update(env, 10*time.Minute, Action{ID: "g1", Type: ActGrade, OperatorClass: ClassCriticalInfrastructure}, false, t)
	update(env, 5*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d2", Timing: Timing{AckWait: 100 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 1 || len(r.duties) != 0 || !equal(r.actions, []string{ActGrade, ActClose}) {
		t.Fatalf("submits %d duties %q actions %v", r.submits, r.duties, r.actions)
	}
}

// A workflow that starts late (the incident was discovered 3 h 50 min before,
// 4 h to report) sends one reminder at once, not every one it missed, then
// the breach at the due time.
func TestLateStartSendsOneReminderThenBreach(t *testing.T) {
	discovered := testStart.Add(-(3*time.Hour + 50*time.Minute))
	r := &record{snap: Snapshot{ID: "d3", Kind: KindIncident, Status: StatusOpen, AwaitingGrade: true, ClockStart: discovered,
		DueAt: ptr(discovered.Add(4 * time.Hour))}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	update(env, time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d3"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{"duty_reminder report 80% @" + at(0), "duty_breached report  @" + at(10*time.Minute)}
	if !slices.Equal(r.duties, want) || r.submits != 0 {
		t.Fatalf("duties %q submits %d\nwant %q and none", r.duties, r.submits, want)
	}
}

// A mandatory report (2 h) filed by hand after the first reminder: no
// further reminder and no breach.
func TestMandatoryReportFiledBeforeDue(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d4", Kind: KindMandatoryReport, Status: StatusOpen, Adapter: AdapterManual,
		DueAt: ptr(testStart.Add(2 * time.Hour))}, outcome: OutcomeReadyInManual}
	env := newEnv(t, r)
	update(env, 90*time.Minute, Action{ID: "f1", Type: ActRecordFiling, Reference: "CAC-7"}, false, t)
	update(env, 5*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d4"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{"duty_reminder report 50% @" + at(time.Hour)}
	if !slices.Equal(r.duties, want) || !equal(r.actions, []string{ActDutyReminder, ActRecordFiling, ActClose}) {
		t.Fatalf("duties %q actions %v", r.duties, r.actions)
	}
}

// A mandatory report nobody files: reminded, then breached at 2 h.
func TestMandatoryReportBreached(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d5", Kind: KindMandatoryReport, Status: StatusOpen, Adapter: AdapterManual,
		DueAt: ptr(testStart.Add(2 * time.Hour))}, outcome: OutcomeReadyInManual}
	env := newEnv(t, r)
	update(env, 3*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d5"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{"duty_reminder report 50% @" + at(time.Hour), "duty_reminder report 80% @" + at(96*time.Minute),
		"duty_breached report  @" + at(2*time.Hour)}
	if !slices.Equal(r.duties, want) {
		t.Fatalf("duties %q\nwant %q", r.duties, want)
	}
}

// A regulator inquiry due in 10 days that is never answered (manual
// adapter): reminded at 5 and 8 days, breached at 10.
func TestRegulatorInquiryBreached(t *testing.T) {
	day := 24 * time.Hour
	r := &record{snap: Snapshot{ID: "d6", Kind: KindRegulatorInquiry, Status: StatusOpen, Adapter: AdapterManual,
		DueAt: ptr(testStart.Add(10 * day))}, outcome: OutcomeReadyInManual}
	env := newEnv(t, r)
	update(env, 11*day, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d6"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{"duty_reminder report 50% @" + at(5*day), "duty_reminder report 80% @" + at(8*day),
		"duty_breached report  @" + at(10*day)}
	if !slices.Equal(r.duties, want) {
		t.Fatalf("duties %q\nwant %q", r.duties, want)
	}
}

// A manual escalation with the manual adapter whose filing nobody records:
// reminded within Timing.FilingWait and breached at its end.
func TestUnfiledManualEscalationBreached(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d7", Kind: KindManual, Status: StatusOpen, Adapter: AdapterManual}, outcome: OutcomeReadyInManual}
	env := newEnv(t, r)
	update(env, 11*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d7", Timing: Timing{FilingWait: 10 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{"duty_reminder filing 50% @" + at(5*time.Hour), "duty_reminder filing 80% @" + at(8*time.Hour),
		"duty_breached filing  @" + at(10*time.Hour)}
	if !slices.Equal(r.duties, want) {
		t.Fatalf("duties %q\nwant %q", r.duties, want)
	}
}

// An officer who grades a detected incident while its workflow is still
// reading the record is not refused as an unknown update: the grade waits
// for the record, then files it.
func TestGradeBeforeTheRecordIsReadWaits(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d8", Kind: KindIncident, Status: StatusOpen, AwaitingGrade: true, ClockStart: testStart,
		DueAt: ptr(testStart.Add(4 * time.Hour))}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	env.OnActivity(ActivityLoadEscalation, mock.Anything, mock.Anything).After(10 * time.Minute).Return(r.LoadEscalation)
	update(env, 5*time.Minute, Action{ID: "g1", Type: ActGrade, OperatorClass: ClassOther}, false, t)
	update(env, time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d8", Timing: Timing{AckWait: 100 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 1 || !equal(r.actions, []string{ActGrade, ActClose}) {
		t.Fatalf("submits %d actions %v", r.submits, r.actions)
	}
}

// An officer sets the discovery three hours before the incident was opened:
// its 4 h report clock now ends an hour after the opening, and the timer
// fires then, not at 4 h (the missed 50 % reminder goes at once, the 80 %
// one at its new time).
func TestEarlierDiscoveryMovesTheReportDeadline(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d9", Kind: KindIncident, Status: StatusOpen, Adapter: AdapterManual, ClockStart: testStart,
		DueAt: ptr(testStart.Add(4 * time.Hour))}, outcome: OutcomeReadyInManual}
	env := newEnv(t, r)
	update(env, 10*time.Minute, Action{ID: "s1", Type: ActSetDiscovery, DiscoveredAt: testStart.Add(-3 * time.Hour)}, false, t)
	update(env, 5*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d9"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"duty_reminder report 50% @" + at(10*time.Minute),
		"duty_reminder report 80% @" + at(12*time.Minute),
		"duty_breached report  @" + at(time.Hour),
	}
	if !slices.Equal(r.duties, want) {
		t.Fatalf("duties %q\nwant %q", r.duties, want)
	}
}

// A detected incident graded "general" (below "relatively serious") is
// recorded and never filed; it has no report duty to remind of or breach,
// and the decision to notify the individuals is still carried out.
func TestIncidentBelowThresholdFilesNothing(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d10", Kind: KindIncident, Status: StatusOpen, AwaitingGrade: true, ClockStart: testStart,
		DueAt: ptr(testStart.Add(4 * time.Hour))}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	update(env, 10*time.Minute, Action{ID: "g1", Type: ActGrade, OperatorClass: ClassOther, Severity: SeverityGeneral}, false, t)
	update(env, 20*time.Minute, Action{ID: "n1", Type: ActNotifyDecision, Decision: "notify"}, false, t)
	update(env, 6*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d10", Timing: Timing{AckWait: 100 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 0 || len(r.duties) != 0 || r.notified != 1 {
		t.Fatalf("submits %d duties %q notified %d: want no filing, no duty, one notice", r.submits, r.duties, r.notified)
	}
}

// Re-graded "serious" after "general", the incident is filed then.
func TestIncidentRegradedAboveThresholdIsFiled(t *testing.T) {
	r := &record{snap: Snapshot{ID: "d11", Kind: KindIncident, Status: StatusOpen, AwaitingGrade: true, ClockStart: testStart,
		DueAt: ptr(testStart.Add(4 * time.Hour))}, outcome: OutcomeAccepted}
	env := newEnv(t, r)
	update(env, 10*time.Minute, Action{ID: "g1", Type: ActGrade, OperatorClass: ClassOther, Severity: SeverityGeneral}, false, t)
	env.RegisterDelayedCallback(func() {
		if r.submits != 0 {
			t.Errorf("filed while graded general")
		}
	}, 25*time.Minute)
	update(env, 30*time.Minute, Action{ID: "g2", Type: ActGrade, OperatorClass: ClassOther, Severity: SeveritySerious}, false, t)
	update(env, 3*time.Hour, Action{ID: "c1", Type: ActClose}, false, t)
	env.ExecuteWorkflow(WorkflowName, Input{EscalationID: "d11", Timing: Timing{AckWait: 100 * time.Hour}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r.submits != 1 || len(r.duties) != 0 {
		t.Fatalf("submits %d duties %q", r.submits, r.duties)
	}
}
