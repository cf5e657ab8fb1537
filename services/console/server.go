// Package console is the agents' web console: server-rendered HTML
// (html/template, which escapes everything it prints) with a little
// JavaScript served from embedded files, no build step. It signs people in
// through IdentityService with its own narrow credential (which can create
// sessions and nothing else), and talks to the services over gRPC with the
// session's credential, so every action passes the same access table as any
// other client. It holds no account data: each request asks the identity
// service who its session is.
package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/identity/oidcclient"
	"github.com/redress/redress/services/internal/ratelimit"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config holds the console's dependencies.
type Config struct {
	// Identity signs people in and says who a session is; ConsoleToken is
	// the console's own credential for signing in (a service account of role
	// console, REDRESS_CONSOLE_TOKEN): it creates sessions and reads nothing.
	Identity     identityv1.IdentityServiceClient
	ConsoleToken string
	Intake       intakev1.IntakeServiceClient
	// Deletion and Escalation, when set, add their pages (same gRPC server).
	Deletion   deletionv1.DeletionServiceClient
	Escalation escalationv1.EscalationServiceClient
	// Reporting, when set, adds the reports page.
	Reporting reportingv1.ReportingServiceClient
	// CaseFile answers the case page's timeline, messages, attachments and
	// the audited reveal (same gRPC server as Intake).
	CaseFile intakev1.CaseFileServiceClient
	// Alerts, when set, adds the notification panel: the unread count in
	// the navigation bar and the alerts page (served with identity).
	Alerts identityv1.AlertServiceClient
	Log    *slog.Logger
	// OIDC, when set, offers single sign-on with the organisation's
	// provider; the identity service checks the ID tokens it brings back.
	OIDC *oidcclient.Client
	// Calendar, when set, adds the calendars page (CalendarService, on the
	// intake listener).
	Calendar calendarv1.CalendarServiceClient
	// Policy and Calendars, when set, add the read-only policies page.
	Policy    *policy.Engine
	Calendars *calendar.Set
	// OperatorClass is the operator profile's class (REDRESS_OPERATOR_CLASS),
	// shown on the policies page beside the provider type Policy holds.
	OperatorClass string
	// SecureCookies marks cookies Secure; set it whenever the console is
	// reached over TLS (a proxy in front of it counts).
	SecureCookies bool
	Now           func() time.Time
	// TrustedProxies are the proxies in front of the console whose
	// X-Forwarded-For names the client (REDRESS_TRUSTED_PROXIES); none: the
	// peer is the client.
	TrustedProxies []netip.Prefix
	// SigninLimit bounds sign-in attempts per client address, checked before
	// any password is hashed (nil: 10 a minute).
	SigninLimit *ratelimit.Limiter
}

// Server is the console's HTTP handler.
type Server struct {
	c     Config
	pages map[string]*template.Template
}

const (
	sessionCookie = "redress_session"
	preCSRFCookie = "redress_signin_csrf" // double-submit token of the sign-in form
)

// New parses the templates.
func New(c Config) (*Server, error) {
	if c.Identity == nil || c.ConsoleToken == "" {
		return nil, errors.New("console: the identity service and the console's own credential (REDRESS_CONSOLE_TOKEN) are required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.SigninLimit == nil {
		c.SigninLimit = ratelimit.NewLimiter(10, time.Minute)
	}
	s := &Server{c: c, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"enum":            enumLabel,
		"auditAction":     auditAction,
		"T":               translate,
		"fmtTime":         fmtTime,
		"legalTime":       legalTime,
		"term":            term,
		"cite":            func(lang, text string) string { return policy.CitationIn(text, lang) },
		"deletionReasons": deletionReasons,
		"deletionOpen":    deletionOpen,
		"escalationSteps": escalationSteps,
	}
	for _, p := range []string{"signin", "queue", "case", "message", "password", "admin", "grants", "deletions", "deletion", "escalations", "escalation", "connectors", "policies", "reports", "incidents", "incident", "newcase", "alerts", "calendars"} {
		files := []string{"templates/layout.html", "templates/" + p + ".html"}
		if p == "admin" || p == "grants" {
			files = append(files, "templates/grants_list.html")
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, err
		}
		s.pages[p] = t
	}
	return s, nil
}

// Handler routes the console.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	mux.HandleFunc("GET /signin", s.signinPage)
	mux.HandleFunc("POST /signin", s.signin)
	mux.HandleFunc("GET /signin/oidc", s.oidcStart)
	mux.HandleFunc("GET /signin/oidc/callback", s.oidcCallback)
	mux.HandleFunc("GET /lang/{lang}", s.setLanguage)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("POST /signout", s.authed(s.signout))
	mux.Handle("GET /{$}", s.authed(func(w http.ResponseWriter, r *http.Request, v *view) {
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
	}))
	mux.Handle("GET /queue", s.authed(s.queue))
	mux.Handle("GET /cases/new", s.authed(s.requires(access.CaseSubmit, s.newCasePage)))
	mux.Handle("POST /cases/new", s.authedUpload(s.requires(access.CaseSubmit, s.submitNewCase)))
	mux.Handle("GET /cases/{id}", s.authed(s.casePage))
	mux.Handle("POST /cases/{id}/reveal", s.authed(s.reveal))
	mux.Handle("POST /cases/{id}/attachments", s.authedUpload(s.addAttachments))
	mux.Handle("POST /cases/{id}/attachments/{attachment}", s.authed(s.attachment))
	mux.Handle("POST /cases/{id}/{action}", s.authed(s.caseAction))
	mux.Handle("GET /admin/users", s.authed(s.adminOnly(s.adminUsers)))
	mux.Handle("POST /admin/users", s.authed(s.adminOnly(s.adminAddUser)))
	mux.Handle("POST /admin/users/{name}/{action}", s.authed(s.adminOnly(s.adminUserAction)))
	mux.Handle("POST /admin/tokens/{id}/revoke", s.authed(s.adminOnly(s.adminRevoke)))
	mux.Handle("GET /grants", s.authed(s.grantsPage))
	mux.Handle("POST /grants/{id}/{action}", s.authed(s.grantAction))
	if s.c.Deletion != nil {
		mux.Handle("GET /deletions", s.authed(s.deletions))
		mux.Handle("GET /deletions/{id}", s.authed(s.deletionPage))
		mux.Handle("POST /deletions/{id}/approve", s.authed(s.approvePlan))
		mux.Handle("GET /deletions/{id}/certificate", s.authed(s.certificate))
		mux.Handle("GET /deletions/{id}/certificate.pdf", s.authed(s.certificatePDF))
		mux.Handle("POST /deletions/{id}/{action}", s.authed(s.deletionAction))
		mux.Handle("GET /connectors", s.authed(s.connectors))
		mux.Handle("POST /connectors/{name}", s.authed(s.setConnector))
	}
	if s.c.Escalation != nil {
		mux.Handle("GET /escalations", s.authed(s.escalations))
		mux.Handle("GET /escalations/{id}", s.authed(s.escalationPage))
		mux.Handle("GET /escalations/{id}/package", s.authed(s.filingPackage))
		mux.Handle("POST /escalations/{id}/ack", s.authed(s.recordAck))
		mux.Handle("POST /escalations/{id}/{action}", s.authed(s.escalationAction))
		mux.Handle("GET /incidents", s.authed(s.incidents))
		mux.Handle("POST /incidents", s.authed(s.openIncident))
		mux.Handle("GET /incidents/{id}", s.authed(s.incidentPage))
		mux.Handle("POST /incidents/{id}/{action}", s.authed(s.incidentAction))
	}
	if s.c.Policy != nil {
		mux.Handle("GET /policies", s.authed(s.policies))
	}
	if s.c.Calendar != nil {
		mux.Handle("GET /calendars", s.authed(s.requires(access.CalendarRead, s.calendarsPage)))
		mux.Handle("POST /calendars", s.authed(s.requires(access.CalendarAdmin, s.uploadCalendar)))
		mux.Handle("POST /calendars/{id}/{action}", s.authed(s.requires(access.CalendarAdmin, s.calendarAction)))
	}
	if s.c.Reporting != nil {
		mux.Handle("GET /reports", s.authed(s.requires(access.ReportExport, s.reportsPage)))
		mux.Handle("GET /reports/documents/{id}", s.authed(s.requires(access.ReportExport, s.document)))
		mux.Handle("POST /reports/export", s.authed(s.requires(access.ReportExport, s.export)))
		mux.Handle("POST /reports/inspection", s.authed(s.requires(access.ReportInspection, s.inspection)))
	}
	if s.c.Alerts != nil {
		mux.Handle("GET /alerts", s.authed(s.requires(access.AlertsOwn, s.alertsPage)))
		mux.Handle("POST /alerts/read", s.authed(s.requires(access.AlertsOwn, s.markAlertsRead)))
		mux.Handle("POST /alerts/preferences", s.authed(s.requires(access.AlertsOwn, s.setAlertPreferences)))
	}
	mux.Handle("GET /account/password", s.authed(s.passwordPage))
	mux.Handle("POST /account/password", s.authed(s.changePassword))
	mux.Handle("POST /account/token", s.authed(s.ownToken))
	return securityHeaders(mux)
}

// securityHeaders: no framing, no inline script, no caching of pages that
// may hold personal data, no referrer leaking case ids.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Lang  string
	Title string
	User  *identityv1.User
	CSRF  string
	Flash string
	Error string
	Data  any
	SSO   bool // single sign-on is offered
	// Which optional pages exist (their services are configured).
	HasDeletions, HasEscalations, HasPolicies bool
	HasReports, HasCalendars                  bool
	// HasAlerts: the navigation bar shows the alerts link with Unread.
	HasAlerts bool
	Unread    int64
	session   string // the session's token: the bearer of the person's calls
}

func (v *view) Can(p string) bool {
	return v.User != nil && access.Role(v.User.Role).Holds(access.Permission(p))
}

// SeesGrants: administrators and compliance officers see the grants
// waiting for a second person.
func (v *view) SeesGrants() bool { return v.Can(string(access.GrantReview)) }

// rpc returns a context carrying the session's credential for the services.
func (v *view) rpc(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+v.session)
}

// asConsole returns a context carrying the console's own credential (sign-in only).
func (s *Server) asConsole(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.c.ConsoleToken)
}

// sessionValue is a session cookie's value when it can be one (a header
// value must be printable ASCII).
var sessionValue = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

type authedHandler func(http.ResponseWriter, *http.Request, *view)

// authed loads the session (or sends the browser to sign in) and checks the
// CSRF token of every state-changing request.
func (s *Server) authed(h authedHandler) http.Handler { return s.authedLimit(1<<20, h) }

// authedUpload is authed for a form carrying files: the intake service's
// limits for a call's attachments plus the form's fields.
func (s *Server) authedUpload(h authedHandler) http.Handler { return s.authedLimit(9<<20, h) }

// authedLimit is authed for posts of at most limit bytes.
func (s *Server) authedLimit(limit int64, h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || !sessionValue.MatchString(c.Value) {
			s.toSignin(w, r)
			return
		}
		v := &view{Lang: language(r), session: c.Value,
			HasDeletions: s.c.Deletion != nil, HasEscalations: s.c.Escalation != nil, HasPolicies: s.c.Policy != nil, HasReports: s.c.Reporting != nil,
			HasCalendars: s.c.Calendar != nil}
		// Asked at every request, so a session ended or revoked anywhere
		// stops here at once.
		me, err := s.c.Identity.WhoAmI(v.rpc(r.Context()), &identityv1.WhoAmIRequest{})
		if status.Code(err) == codes.Unauthenticated || err == nil && me.GetSession() == nil {
			s.toSignin(w, r)
			return
		}
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		v.User, v.CSRF = me.GetUser(), me.GetSession().GetCsrfToken()
		s.unread(r, v)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				// Parsed here to tell a post too large from a missing CSRF token.
				err := r.ParseMultipartForm(1 << 20)
				if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
					s.render(w, http.StatusRequestEntityTooLarge, "message", v, "too_large")
					return
				}
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(v.CSRF)) != 1 {
				s.render(w, http.StatusForbidden, "message", v, "csrf")
				return
			}
		}
		h(w, r, v)
	})
}

func (s *Server) toSignin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (s *Server) render(w http.ResponseWriter, code int, page string, v *view, errKey string) {
	if errKey != "" {
		v.Error = translate(v.Lang, errKey)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.pages[page].Execute(w, v); err != nil {
		s.c.Log.Error("console render", "page", page, "err", err)
	}
}

// fail answers an error from a service or the store as a page. Service
// messages name fields, never personal data; anything unexpected is logged
// by its code only.
// finish answers a form action: the service's refusal on a page, or back to
// the object's page (page) with the done notice.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, v *view, err error, page string) {
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, page+"?done=1", http.StatusSeeOther)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.PermissionDenied:
		s.render(w, http.StatusForbidden, "message", v, "forbidden")
	case codes.NotFound:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
	case codes.InvalidArgument, codes.FailedPrecondition, codes.Aborted, codes.AlreadyExists:
		v.Error = translate(v.Lang, "bad_request") + ": " + st.Message()
		s.render(w, http.StatusBadRequest, "message", v, "")
	case codes.Unauthenticated:
		s.toSignin(w, r)
	default:
		s.c.Log.Error("console request failed", "path", r.URL.Path, "code", st.Code().String())
		s.render(w, http.StatusInternalServerError, "message", v, "error")
	}
}

func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	for _, l := range languages {
		if l == lang {
			http.SetCookie(w, &http.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: s.c.SecureCookies, SameSite: http.SameSiteLaxMode})
		}
	}
	http.Redirect(w, r, localPath(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// localPath is ref when it is a clean path on this site, else "/": it
// starts with one "/", and has no "//", no backslash and no control or
// non-ASCII character (browsers drop tabs and newlines and read "\" as "/",
// so "/\t/evil.example" would leave the site).
func localPath(ref string) string {
	if !strings.HasPrefix(ref, "/") || strings.Contains(ref, "//") || strings.Contains(ref, "\\") {
		return "/"
	}
	for _, c := range ref {
		if c < 0x21 || c >= 0x7f {
			return "/"
		}
	}
	return ref
}

// clientAddr is the address a request comes from (see ratelimit.ClientAddr).
func (s *Server) clientAddr(r *http.Request) string {
	return ratelimit.ClientAddr(r, s.c.TrustedProxies)
}
