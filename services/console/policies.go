package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/policy"
)

// Policies and holiday calendars, read-only: the operator profile the rules
// read, the deadline rules in force with their citations and how well each
// was checked (confidence), and the official calendars loaded per year (the
// calendars ship as data files; a new year's file arrives with a release).

type policyData struct {
	Rules     []policy.Rule
	Years     []int
	Year      int
	Calendar  calendar.File
	HasYear   bool
	Jurisdict string
	Profile   profile
}

// profile is the operator profile as the rules read it. It is set at setup
// in the deployment's configuration, which every process reads
// (REDRESS_OPERATOR_CLASS, REDRESS_PROVIDER_TYPE): one source, no copy in
// the database to drift from it; the page shows the values and their source.
type profile struct {
	OperatorClass, ProviderType string
	IncidentHours               int
	IncidentCitation            string
	On, Off                     []policy.Rule // the rules the provider type switches on and off
}

func (s *Server) profile() profile {
	p := profile{OperatorClass: s.c.OperatorClass, ProviderType: s.c.Policy.Provider(), IncidentCitation: wf.IncidentCitation}
	if p.OperatorClass == "" {
		p.OperatorClass = wf.ClassOther
	}
	if due, err := wf.IncidentDeadline(p.OperatorClass, time.Time{}); err == nil {
		p.IncidentHours = int(due.Sub(time.Time{}) / time.Hour)
	}
	for _, r := range s.c.Policy.Rules("cn") {
		switch {
		case len(r.Match.ProviderTypes) == 0:
		case r.Enabled:
			p.On = append(p.On, r)
		default:
			p.Off = append(p.Off, r)
		}
	}
	return p
}

func (s *Server) policies(w http.ResponseWriter, r *http.Request, v *view) {
	d := policyData{Rules: s.c.Policy.Rules("cn"), Jurisdict: "cn", Profile: s.profile()}
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
