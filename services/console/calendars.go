package console

import (
	"io"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
)

// The calendars page: per year whether deadlines count on an official
// calendar (shipped, or loaded and confirmed: with the notice's date and
// who loaded and confirmed it) or on the statutory holidays (provisional);
// administrators load a year's file and confirm or reject another's load.
// Compliance officers may look.

type calendarYearRow struct {
	Year   int32
	Basis  string // shipped, loaded, statutory
	Source string
	Load   *calendarv1.CalendarLoad // the load in force (basis loaded)
}

type calendarsData struct {
	Years   []calendarYearRow
	Pending []*calendarv1.CalendarLoad
	Loads   []*calendarv1.CalendarLoad
	Me      string
}

func (s *Server) calendarsPage(w http.ResponseWriter, r *http.Request, v *view) {
	s.renderCalendars(w, r, v, http.StatusOK)
}

func (s *Server) renderCalendars(w http.ResponseWriter, r *http.Request, v *view, code int) {
	resp, err := s.c.Calendar.List(v.rpc(r.Context()), &calendarv1.ListRequest{})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := calendarsData{Loads: resp.GetLoads(), Me: v.User.GetUsername()}
	byID := map[string]*calendarv1.CalendarLoad{}
	for _, l := range resp.GetLoads() {
		byID[l.GetId()] = l
		if l.GetStatus() == calendarv1.LoadStatus_LOAD_STATUS_PENDING {
			d.Pending = append(d.Pending, l)
		}
	}
	for _, y := range resp.GetYears() {
		row := calendarYearRow{Year: y.GetYear(), Source: y.GetSource(), Basis: "statutory"}
		switch y.GetBasis() {
		case calendarv1.YearBasis_YEAR_BASIS_SHIPPED:
			row.Basis = "shipped"
		case calendarv1.YearBasis_YEAR_BASIS_LOADED:
			row.Basis, row.Load = "loaded", byID[y.GetLoadId()]
		}
		d.Years = append(d.Years, row)
	}
	v.Title, v.Data = translate(v.Lang, "calendars.title"), d
	s.render(w, code, "calendars", v, "")
}

// uploadCalendar loads the uploaded file under the person's own name.
func (s *Server) uploadCalendar(w http.ResponseWriter, r *http.Request, v *view) {
	f, _, err := r.FormFile("file")
	if err != nil {
		v.Error = translate(v.Lang, "calendars.no_file")
		s.renderCalendars(w, r, v, http.StatusBadRequest)
		return
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(f)
	if err != nil {
		v.Error = translate(v.Lang, "calendars.no_file")
		s.renderCalendars(w, r, v, http.StatusBadRequest)
		return
	}
	_, err = s.c.Calendar.Load(v.rpc(r.Context()), &calendarv1.LoadRequest{File: b})
	s.calendarDone(w, r, v, err)
}

func (s *Server) calendarAction(w http.ResponseWriter, r *http.Request, v *view) {
	ctx, id := v.rpc(r.Context()), r.PathValue("id")
	var err error
	switch r.PathValue("action") {
	case "confirm":
		_, err = s.c.Calendar.Confirm(ctx, &calendarv1.ConfirmRequest{LoadId: id})
	case "reject":
		_, err = s.c.Calendar.Reject(ctx, &calendarv1.RejectRequest{LoadId: id, Reason: r.PostFormValue("reason")})
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	s.calendarDone(w, r, v, err)
}

// calendarDone goes back to the page; a refusal is shown on it with the
// service's words (the field at fault, or why the person may not confirm).
func (s *Server) calendarDone(w http.ResponseWriter, r *http.Request, v *view, err error) {
	switch status.Code(err) {
	case codes.OK:
		http.Redirect(w, r, "/calendars", http.StatusSeeOther)
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists, codes.PermissionDenied:
		v.Error = status.Convert(err).Message()
		code := http.StatusBadRequest
		if status.Code(err) == codes.PermissionDenied {
			code = http.StatusForbidden
		}
		s.renderCalendars(w, r, v, code)
	default:
		s.fail(w, r, v, err)
	}
}
