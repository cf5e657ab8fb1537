package console

import (
	"net/http"
	"strconv"

	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// Policies and holiday calendars, read-only: the deadline rules in force
// with their citations, and the official calendars shipped per year (a
// new year's notice is loaded on the calendars page, see calendars.go).

type policyData struct {
	Rules     []policy.Rule
	Years     []int
	Year      int
	Calendar  calendar.File
	HasYear   bool
	Jurisdict string
}

func (s *Server) policies(w http.ResponseWriter, r *http.Request, v *view) {
	d := policyData{Rules: s.c.Policy.Rules("cn"), Jurisdict: "cn"}
	if s.c.Calendars != nil {
		d.Years = s.c.Calendars.Years("cn")
		d.Year, _ = strconv.Atoi(r.URL.Query().Get("year"))
		if d.Year == 0 && len(d.Years) > 0 {
			d.Year = d.Years[len(d.Years)-1]
		}
		d.Calendar, d.HasYear = s.c.Calendars.Calendar("cn", d.Year)
	}
	v.Title, v.Data = translate(v.Lang, "policies"), d
	s.render(w, http.StatusOK, "policies", v, "")
}
