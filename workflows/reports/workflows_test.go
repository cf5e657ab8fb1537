package reports

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/redress/redress/workflows/calendar"
)

func TestMonthlyReportCoversThePreviousShanghaiMonth(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// 00:30 on 1 March in Shanghai is still 28 February in UTC.
	env.SetStartTime(time.Date(2026, 3, 1, 0, 30, 0, 0, calendar.Shanghai()))
	var got Period
	var emailed string
	env.RegisterActivityWithOptions(func(_ context.Context, p Period) (string, error) { got = p; return "doc-1", nil },
		activity.RegisterOptions{Name: ActivityGenerate})
	env.RegisterActivityWithOptions(func(_ context.Context, id string) error { emailed = id; return nil },
		activity.RegisterOptions{Name: ActivityEmail})
	env.ExecuteWorkflow(MonthlyReportWorkflow, Input{})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	sh := calendar.Shanghai()
	if got.Kind != MonthlySummary || !got.Start.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, sh)) || !got.End.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, sh)) {
		t.Errorf("period %+v", got)
	}
	if emailed != "doc-1" {
		t.Errorf("emailed %q", emailed)
	}
}

func TestYearlyStatisticsCoverThePreviousYear(t *testing.T) {
	p := YearlyPeriod(time.Date(2027, 1, 1, 1, 0, 0, 0, calendar.Shanghai()), time.Time{})
	if p.Start.Year() != 2026 || p.End.Year() != 2027 || p.Start.Month() != 1 || p.Kind != YearlyStatistics {
		t.Errorf("period %+v", p)
	}
	if p := MonthlyPeriod(time.Now(), time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)); p.Start.Month() != 2 || p.End.Month() != 3 {
		t.Errorf("explicit month %+v", p)
	}
}
