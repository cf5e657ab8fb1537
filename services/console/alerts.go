package console

import (
	"net/http"
	"net/url"
	"strconv"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
)

// The notification panel: the unread count in the navigation bar of every
// page, the list of one's alerts (each with its link, marked read one by
// one or all at once) and one's preferences, all through AlertService with
// the person's session.

// unread fills the navigation bar's count; a failure leaves the count out
// rather than failing the page.
func (s *Server) unread(r *http.Request, v *view) {
	if s.c.Alerts == nil || !v.Can(string(access.AlertsOwn)) {
		return
	}
	v.HasAlerts = true
	n, err := s.c.Alerts.CountUnread(v.rpc(r.Context()), &identityv1.CountUnreadRequest{})
	if err != nil {
		s.c.Log.Warn("console: unread alerts not counted", "err", err)
		return
	}
	v.Unread = n.GetUnread()
}

type alertsPage struct {
	Alerts      []*identityv1.Alert
	UnreadOnly  bool
	Next        string
	Preferences []*identityv1.AlertPreference
}

func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request, v *view) {
	ctx := v.rpc(r.Context())
	d := &alertsPage{UnreadOnly: r.URL.Query().Get("unread") == "1"}
	res, err := s.c.Alerts.ListMyAlerts(ctx, &identityv1.ListMyAlertsRequest{UnreadOnly: d.UnreadOnly, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Alerts = res.GetAlerts()
	if t := res.GetNextPageToken(); t != "" {
		q := url.Values{"page": {t}}
		if d.UnreadOnly {
			q.Set("unread", "1")
		}
		d.Next = "/alerts?" + q.Encode()
	}
	prefs, err := s.c.Alerts.GetPreferences(ctx, &identityv1.GetPreferencesRequest{})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Preferences = prefs.GetPreferences()
	if r.URL.Query().Get("done") == "1" {
		v.Flash = translate(v.Lang, "done")
	}
	v.Title, v.Data = translate(v.Lang, "alerts"), d
	s.render(w, http.StatusOK, "alerts", v, "")
}

// markAlertsRead marks one alert (id) or all of them (all=1) read.
func (s *Server) markAlertsRead(w http.ResponseWriter, r *http.Request, v *view) {
	req := &identityv1.MarkReadRequest{All: r.PostFormValue("all") == "1"}
	if id := r.PostFormValue("id"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			s.render(w, http.StatusBadRequest, "message", v, "not_found")
			return
		}
		req.Ids = []int64{n}
	}
	_, err := s.c.Alerts.MarkRead(v.rpc(r.Context()), req)
	s.finish(w, r, v, err, "/alerts")
}

// setAlertPreferences stores the form's two boxes per kind.
func (s *Server) setAlertPreferences(w http.ResponseWriter, r *http.Request, v *view) {
	req := &identityv1.SetPreferencesRequest{}
	for k := range identityv1.AlertKind_name {
		kind := identityv1.AlertKind(k)
		if kind == identityv1.AlertKind_ALERT_KIND_UNSPECIFIED {
			continue
		}
		name := kind.String()
		req.Preferences = append(req.Preferences, &identityv1.AlertPreference{Kind: kind,
			Console: r.PostFormValue("console_"+name) == "on", Email: r.PostFormValue("email_"+name) == "on"})
	}
	_, err := s.c.Alerts.SetPreferences(v.rpc(r.Context()), req)
	s.finish(w, r, v, err, "/alerts")
}
