package console

import (
	"net/http"
	"net/url"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/i18n"
)

// Queue views: what an agent or a supervisor looks at first.
var queueViews = []string{"mine", "team", "unassigned", "overdue", "at_risk"}

// openStates are the states whose deadlines still run.
var openStates = []intakev1.CaseState{
	intakev1.CaseState_CASE_STATE_RECEIVED, intakev1.CaseState_CASE_STATE_ACCEPTED, intakev1.CaseState_CASE_STATE_IN_PROGRESS,
	intakev1.CaseState_CASE_STATE_AWAITING_COMPLAINANT, intakev1.CaseState_CASE_STATE_REOPENED,
}

// atRisk is how close to its deadline an open case counts as at risk.
const atRisk = 48 * time.Hour

type queueRow struct {
	ID, Number, Category, State, Assignee string
	Due                                   time.Time
	DueISO                                string
	Risk                                  string // ok, risk, overdue
	Left                                  string
}

type queueData struct {
	View, Text, State, Category string
	Views                       []string
	States, Categories          []string
	Rows                        []queueRow
	Next, First                 string
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	d := queueData{View: q.Get("view"), Text: q.Get("text"), State: q.Get("state"), Category: q.Get("category"), Views: queueViews}
	if d.View == "" {
		d.View = "team"
	}
	for _, st := range openStates {
		d.States = append(d.States, st.String())
	}
	for i := int32(1); i <= 10; i++ {
		d.Categories = append(d.Categories, intakev1.Category(i).String())
	}
	now := s.c.Now()
	req := &intakev1.ListCasesRequest{PageSize: 50, PageToken: q.Get("page"), Text: d.Text}
	if st, ok := intakev1.CaseState_value[d.State]; ok && st != 0 {
		req.States = []intakev1.CaseState{intakev1.CaseState(st)}
	} else {
		req.States = openStates
		d.State = ""
	}
	if c, ok := intakev1.Category_value[d.Category]; ok && c != 0 {
		req.Categories = []intakev1.Category{intakev1.Category(c)}
	} else {
		d.Category = ""
	}
	switch d.View {
	case "mine":
		req.Assignee = v.User.Username
	case "unassigned":
		req.UnassignedOnly = true
	case "overdue":
		req.OverdueOnly = true
	case "at_risk":
		req.DeadlineBefore = timestamppb.New(now.Add(atRisk))
	default:
		d.View = "team"
	}
	resp, err := s.c.Intake.ListCases(v.rpc(r.Context()), req)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	for _, c := range resp.GetCases() {
		row := queueRow{ID: c.GetId(), Number: c.GetCaseNumber(), Category: c.GetCategory().String(), State: c.GetState().String(), Assignee: c.GetAssignee()}
		if dl := c.GetResolution(); dl != nil && dl.GetDueAt() != nil {
			row.Due = dl.GetDueAt().AsTime()
			row.DueISO = row.Due.UTC().Format(time.RFC3339)
			row.Risk, row.Left = risk(now, row.Due, c.GetOverdue())
		}
		d.Rows = append(d.Rows, row)
	}
	if tok := resp.GetNextPageToken(); tok != "" {
		nq := url.Values{"view": {d.View}, "text": {d.Text}, "state": {d.State}, "category": {d.Category}, "page": {tok}}
		d.Next = "/queue?" + nq.Encode()
	}
	if q.Get("page") != "" {
		fq := url.Values{"view": {d.View}, "text": {d.Text}, "state": {d.State}, "category": {d.Category}}
		d.First = "/queue?" + fq.Encode()
	}
	v.Title, v.Data = translate(v.Lang, "queue"), d
	s.render(w, http.StatusOK, "queue", v, "")
}

// risk colours a deadline and writes the time left (the page's script keeps
// it counting down).
func risk(now, due time.Time, overdue bool) (string, string) {
	switch left := due.Sub(now); {
	case overdue || left <= 0:
		return "overdue", "-" + i18n.Countdown(due, now)
	case left < atRisk:
		return "risk", i18n.Countdown(now, due)
	}
	return "ok", i18n.Countdown(now, due)
}
