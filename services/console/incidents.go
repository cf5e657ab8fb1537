package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/internal/validation"
	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/escalation"
)

// Incidents (personal-information leaks and security incidents, PIPL Art.
// 57): a list with the report deadline counting down, and a page per
// incident where an officer opens one, links cases, sets its discovery time
// (the report clock starts there), grades its severity (the operator class
// sets the deadline; below "relatively serious" nothing is filed) and
// records the notification decision. Every
// change is an EscalationService call with the session's credential; the
// filing, acknowledgement and follow-up forms stay on the escalation page.

// operatorClasses are the operator classes GradeIncident accepts; severities
// its grades, most serious first (reporting applies from relatively_serious).
var (
	operatorClasses = []string{"critical_infrastructure", "central_body", "other"}
	severities      = wf.Severities
)

// discoveryLayout is the form's discovery time: a datetime-local input read
// in Beijing time, the zone the report deadline is counted in.
const discoveryLayout = "2006-01-02T15:04"

// formTime reads an optional Beijing-time field of a form: nil when empty,
// an INVALID_ARGUMENT naming the field when it is not a time.
func formTime(field, value string) (*timestamppb.Timestamp, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation(discoveryLayout, strings.TrimSpace(value), calendar.Shanghai())
	if err != nil {
		return nil, validation.Invalid(field, "must be a date and time (YYYY-MM-DDTHH:MM, Beijing time)")
	}
	return timestamppb.New(t), nil
}

// escalationStatuses are the states an escalation goes through.
var escalationStatuses = []string{"open", "filed", "acknowledged", "closed"}

// incidentRow is an incident as the list and the page show it.
type incidentRow struct {
	*escalationv1.Escalation
	DueISO, Risk, Left string // countdown to the report deadline, while it runs
	Cases              int
}

func (s *Server) incidentRow(x *escalationv1.Escalation) incidentRow {
	row := incidentRow{Escalation: x, Cases: len(x.GetCaseIds())}
	// The clock runs until the report is filed; after that the page shows when.
	if x.GetStatus() == "open" && x.GetDueAt().IsValid() {
		due := x.GetDueAt().AsTime()
		row.DueISO = due.UTC().Format(time.RFC3339)
		row.Risk, row.Left = risk(s.c.Now(), due, false)
	}
	return row
}

type incidentsData struct {
	Status     string
	Statuses   []string
	Next       string
	Rows       []incidentRow
	Classes    []string
	Severities []string
	Open       url.Values // the open-incident form's values after a refusal
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request, v *view) {
	s.renderIncidents(w, r, v, http.StatusOK, nil)
}

func (s *Server) renderIncidents(w http.ResponseWriter, r *http.Request, v *view, code int, open url.Values) {
	q := r.URL.Query()
	req := &escalationv1.ListEscalationsRequest{Kinds: []string{"incident"}, PageSize: 50, PageToken: q.Get("page")}
	if st := q.Get("status"); st != "" {
		req.Statuses = []string{st}
	}
	resp, err := s.c.Escalation.ListEscalations(v.rpc(r.Context()), req)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := incidentsData{Status: q.Get("status"), Statuses: escalationStatuses, Classes: operatorClasses, Severities: severities, Open: open}
	for _, x := range resp.GetEscalations() {
		d.Rows = append(d.Rows, s.incidentRow(x))
	}
	if tok := resp.GetNextPageToken(); tok != "" {
		d.Next = "/incidents?" + url.Values{"status": {d.Status}, "page": {tok}}.Encode()
	}
	v.Title, v.Data = translate(v.Lang, "incidents"), d
	if v.Flash == "" {
		v.Flash = flash(r, v.Lang)
	}
	s.render(w, code, "incidents", v, "")
}

// openIncident opens an incident by hand with its first cases.
func (s *Server) openIncident(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostFormValue
	discovered, err := formTime("discovered_at", f("discovered_at"))
	var resp *escalationv1.OpenIncidentResponse
	if err == nil {
		resp, err = s.c.Escalation.OpenIncident(v.rpc(r.Context()), &escalationv1.OpenIncidentRequest{
			LeakedDataType: f("leaked_data_type"), LeakSource: f("leak_source"), OperatorClass: f("operator_class"),
			CaseIds: caseIDList(f("case_ids")), Reason: f("reason"), Severity: f("severity"), DiscoveredAt: discovered})
	}
	if err != nil {
		if code := formError(v, err); code != 0 {
			s.renderIncidents(w, r, v, code, r.PostForm)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+resp.GetEscalation().GetId()+"?done=1", http.StatusSeeOther)
}

type incidentData struct {
	incidentRow
	Classes    []string
	Severities []string
	Decisions  []string
	Discovered string     // the discovery time as the form shows it (Beijing time)
	Form       url.Values // the values of a refused form, shown again
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request, v *view) {
	s.renderIncident(w, r, v, http.StatusOK, nil)
}

func (s *Server) renderIncident(w http.ResponseWriter, r *http.Request, v *view, code int, form url.Values) {
	id := r.PathValue("id")
	resp, err := s.c.Escalation.GetEscalation(v.rpc(r.Context()), &escalationv1.GetEscalationRequest{EscalationId: id})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	x := resp.GetEscalation()
	if x.GetKind() != "incident" {
		http.Redirect(w, r, "/escalations/"+url.PathEscape(x.GetId()), http.StatusSeeOther)
		return
	}
	v.Title = translate(v.Lang, "incident")
	d := incidentData{incidentRow: s.incidentRow(x), Classes: operatorClasses, Severities: severities,
		Decisions: []string{"notify", "not_notify"}, Form: form}
	if x.GetDiscoveredAt().IsValid() {
		d.Discovered = x.GetDiscoveredAt().AsTime().In(calendar.Shanghai()).Format(discoveryLayout)
	}
	v.Data = d
	if v.Flash == "" {
		v.Flash = flash(r, v.Lang)
	}
	s.render(w, code, "incident", v, "")
}

// incidentAction runs the page's forms: link cases, grade, notification decision.
func (s *Server) incidentAction(w http.ResponseWriter, r *http.Request, v *view) {
	id, f, ctx := r.PathValue("id"), r.PostFormValue, v.rpc(r.Context())
	api := s.c.Escalation
	var err error
	switch r.PathValue("action") {
	case "link":
		_, err = api.LinkCases(ctx, &escalationv1.LinkCasesRequest{EscalationId: id, CaseIds: caseIDList(f("case_ids"))})
	case "grade":
		_, err = api.GradeIncident(ctx, &escalationv1.GradeIncidentRequest{EscalationId: id, OperatorClass: f("operator_class"), Severity: f("severity")})
	case "discovery":
		var at *timestamppb.Timestamp
		if at, err = formTime("discovered_at", f("discovered_at")); err == nil {
			_, err = api.SetIncidentDiscovery(ctx, &escalationv1.SetIncidentDiscoveryRequest{EscalationId: id, DiscoveredAt: at})
		}
	case "notify":
		_, err = api.RecordNotificationDecision(ctx, &escalationv1.RecordNotificationDecisionRequest{EscalationId: id,
			Decision: f("decision"), Reason: strings.TrimSpace(f("reason"))})
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	if err != nil {
		if code := formError(v, err); code != 0 {
			s.renderIncident(w, r, v, code, r.PostForm)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(id)+"?done=1", http.StatusSeeOther)
}

// caseIDList splits the case ids typed into a form (one per line, or
// separated by commas or spaces).
func caseIDList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// formError turns a refusal of the form's content into the page's error
// message and answers the HTTP status to show the form again with (0: not
// the form's fault, for fail). The services' messages name the field and
// the rule (never personal data); a case that does not exist or already
// belongs to an incident is the form's error too, not a missing page.
func formError(v *view, err error) int {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound, codes.AlreadyExists, codes.Aborted:
		v.Error = translate(v.Lang, "bad_request") + ": " + st.Message()
		return http.StatusBadRequest
	case codes.Unavailable, codes.DeadlineExceeded: // the workflow engine is busy or down
		v.Error = translate(v.Lang, "retry_later")
		return http.StatusServiceUnavailable
	}
	return 0
}
