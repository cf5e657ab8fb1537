// Package reports holds the compliance report workflows: the monthly summary
// (run by a Temporal Schedule on the 1st, for the previous month) and the
// yearly request statistics (N2, on 1 January for the previous year). They
// carry only a kind and a period; the activities read the record.
package reports

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/redress/redress/workflows/calendar"
)

// TaskQueue of the reports worker.
const TaskQueue = "redress-reports"

// Registered workflow names: the functions' own names, which the schedules
// and the histories of earlier runs carry.
const (
	MonthlyWorkflowName = "MonthlyReportWorkflow"
	YearlyWorkflowName  = "YearlyStatisticsWorkflow"
)

// RegisterWorkflows registers both report workflows under their names, as
// the worker runs them: the replay test registers them the same way.
func RegisterWorkflows(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(MonthlyReportWorkflow, workflow.RegisterOptions{Name: MonthlyWorkflowName})
	w.RegisterWorkflowWithOptions(YearlyStatisticsWorkflow, workflow.RegisterOptions{Name: YearlyWorkflowName})
}

// Schedule ids.
const (
	MonthlyScheduleID = "redress-monthly-report"
	YearlyScheduleID  = "redress-yearly-statistics"
)

// Document kinds.
const (
	MonthlySummary   = "monthly_summary"
	YearlyStatistics = "yearly_statistics"
)

// Activity names.
const (
	ActivityGenerate = "reports.Generate"
	ActivityEmail    = "reports.Email"
)

// Period is a report's period: [Start, End), in Asia/Shanghai.
type Period struct {
	Kind  string
	Start time.Time
	End   time.Time
}

// Input of the workflows: a period start to (re)produce; zero = the previous
// month (year) of the moment the workflow runs.
type Input struct {
	Start time.Time
}

// Result names the stored document.
type Result struct {
	DocumentID string
	Period     Period
}

// MonthlyPeriod is the calendar month before the one holding now (or the
// month holding start, when given), in Asia/Shanghai.
func MonthlyPeriod(now, start time.Time) Period {
	sh := calendar.Shanghai()
	t := now.In(sh)
	s := time.Date(t.Year(), t.Month()-1, 1, 0, 0, 0, 0, sh)
	if !start.IsZero() {
		t = start.In(sh)
		s = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, sh)
	}
	return Period{Kind: MonthlySummary, Start: s, End: s.AddDate(0, 1, 0)}
}

// YearlyPeriod is the calendar year before now's (or start's year).
func YearlyPeriod(now, start time.Time) Period {
	sh := calendar.Shanghai()
	y := now.In(sh).Year() - 1
	if !start.IsZero() {
		y = start.In(sh).Year()
	}
	s := time.Date(y, 1, 1, 0, 0, 0, 0, sh)
	return Period{Kind: YearlyStatistics, Start: s, End: s.AddDate(1, 0, 0)}
}

var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Minute,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute},
}

// MonthlyReportWorkflow produces and stores the monthly summary, then sends
// it to the compliance officers.
func MonthlyReportWorkflow(ctx workflow.Context, in Input) (Result, error) {
	return produce(ctx, MonthlyPeriod(workflow.Now(ctx), in.Start))
}

// YearlyStatisticsWorkflow produces and stores the yearly request statistics
// (Network Data Security Management Regulations Art. 44), then sends them.
func YearlyStatisticsWorkflow(ctx workflow.Context, in Input) (Result, error) {
	return produce(ctx, YearlyPeriod(workflow.Now(ctx), in.Start))
}

func produce(ctx workflow.Context, p Period) (Result, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	var id string
	if err := workflow.ExecuteActivity(ctx, ActivityGenerate, p).Get(ctx, &id); err != nil {
		return Result{}, err
	}
	if err := workflow.ExecuteActivity(ctx, ActivityEmail, id).Get(ctx, nil); err != nil {
		return Result{}, err
	}
	return Result{DocumentID: id, Period: p}, nil
}
