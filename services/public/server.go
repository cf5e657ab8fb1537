// Package public serves the pages the law asks an operator to publish,
// without sign-in and without JavaScript: the complaint and report channels
// page (CSL 2016 Art. 49 / 2026 Art. 51; App PI Method §6), the complaint
// form, and the status lookup by case number and lookup code. The site holds
// no database credential and no key: it reaches the intake and reporting
// services over gRPC with its own credential (a public_site account), which
// may submit web-form complaints, look a case up by number and code, and read
// the published figures, and nothing else.
package public

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/uploads"
	"github.com/redress/redress/services/internal/validation"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

//go:embed templates/*.html
var templateFS embed.FS

// Actor is the username of the public site's account, the principal its
// submissions are recorded under (audit, idempotency scope).
const Actor = "public-web"

// maxBody bounds a form post: the attachments' limits (checked by intake)
// plus the text fields.
const maxBody = 9 << 20

// Submitter is IntakeService's submission call (its gRPC client).
type Submitter interface {
	SubmitComplaint(ctx context.Context, in *intakev1.SubmitComplaintRequest, opts ...grpc.CallOption) (*intakev1.SubmitComplaintResponse, error)
}

// Statistics is ReportingService's published figures (its gRPC client).
type Statistics interface {
	GetPublishedStatistics(ctx context.Context, in *reportingv1.GetPublishedStatisticsRequest, opts ...grpc.CallOption) (*reportingv1.GetPublishedStatisticsResponse, error)
}

// Contacts are the operator's published channels besides the web form.
type Contacts struct {
	Operator string
	Phone    string
	Email    string
}

// Config of the public site.
type Config struct {
	// Intake submits complaints; Status looks them up (required).
	Intake Submitter
	Status intakev1.PublicStatusServiceClient
	// Stats, when set, publishes last month's aggregate figures on the
	// channels page (optional).
	Stats Statistics
	// Token is the site's credential, sent with every call.
	Token    string
	Policy   *policy.Engine
	Contacts Contacts
	Log      *slog.Logger
	// Per client address and minute, for submissions and for lookups each.
	SubmitLimit *Limiter
	LookupLimit *Limiter
	Now         func() time.Time
	// TrustedProxies are the proxies in front of the site whose
	// X-Forwarded-For names the client (REDRESS_TRUSTED_PROXIES); none: the
	// peer is the client.
	TrustedProxies []netip.Prefix
}

// Server is the public site's http.Handler.
type Server struct {
	cfg  Config
	tmpl map[i18n.Lang]map[string]*template.Template
	mux  *http.ServeMux

	statsMu sync.Mutex
	stats   *figures // last month's, asked for again when the month changes
}

var pages = []string{"channels", "form", "submitted", "lookup", "status", "message"}

// New builds the site; nil limiters default to 30 per minute.
func New(cfg Config) (*Server, error) {
	if cfg.Intake == nil || cfg.Status == nil {
		return nil, errors.New("public: the intake service's clients (Intake, Status) are required")
	}
	if cfg.SubmitLimit == nil {
		cfg.SubmitLimit = NewLimiter(30, time.Minute)
	}
	if cfg.LookupLimit == nil {
		cfg.LookupLimit = NewLimiter(30, time.Minute)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Contacts.Operator == "" {
		cfg.Contacts.Operator = "Redress demo operator"
	}
	s := &Server{cfg: cfg, tmpl: map[i18n.Lang]map[string]*template.Template{}, mux: http.NewServeMux()}
	for _, l := range i18n.Langs {
		s.tmpl[l] = map[string]*template.Template{}
		for _, page := range pages {
			t, err := template.New("layout.html").Funcs(funcs(l)).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
			if err != nil {
				return nil, err
			}
			s.tmpl[l][page] = t
		}
	}
	s.mux.HandleFunc("GET /{$}", s.channels)
	s.mux.HandleFunc("GET /complaint", s.form)
	s.mux.HandleFunc("POST /complaint", s.submit)
	s.mux.HandleFunc("GET /status", s.lookupForm)
	s.mux.HandleFunc("POST /status", s.lookup)
	s.mux.HandleFunc("POST /status/answer", s.answer)
	s.mux.HandleFunc("POST /status/evidence", s.evidence)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.message(w, s.lang(w, r, ""), http.StatusNotFound, "not_found")
	})
	return s, nil
}

// funcs are the templates' words and dates in language l.
func funcs(l i18n.Lang) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return messages.T(l, key, args...) },
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return i18n.Zoned(l, t.In(i18n.Zone()).Format(messages.T(l, "date")))
		},
		// A deadline as the law counts it (24:00 of its last day).
		"deadline":  func(t time.Time) string { return i18n.LegalTime(l, t) },
		"month":     func(t time.Time) string { return t.Format(messages.T(l, "month")) },
		"lang":      func() string { return l.Tag() },
		"cite":      func(text string) string { return policy.CitationIn(text, string(l)) },
		"langCode":  func() string { return string(l) },
		"other":     func() string { return string(l.Other()) },
		"otherTag":  func() string { return l.Other().Tag() },
		"otherName": func() string { return messages.T(l.Other(), "lang.name") },
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No scripts at all: the pages work without JavaScript and run none.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Language, Cookie")
	s.mux.ServeHTTP(w, r)
}

// langCookie remembers the language chosen with the switch.
const langCookie = "lang"

// lang is the page's language: the one asked for (the switch's ?lang= or a
// posted lang field), then remembered in a cookie; else the cookie's; else
// the browser's Accept-Language; Chinese when none says otherwise.
func (s *Server) lang(w http.ResponseWriter, r *http.Request, asked string) i18n.Lang {
	if asked == "" {
		asked = r.URL.Query().Get("lang")
	}
	if l, ok := i18n.Parse(asked); ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// switched reports whether the visitor chose the language with the switch,
// now (?lang= or a posted lang field) or before (the cookie).
func switched(r *http.Request) bool {
	for _, asked := range []string{r.URL.Query().Get("lang"), r.PostFormValue("lang")} {
		if _, ok := i18n.Parse(asked); ok {
			return true
		}
	}
	c, err := r.Cookie(langCookie)
	if err != nil {
		return false
	}
	_, ok := i18n.Parse(c.Value)
	return ok
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// authed is ctx carrying the site's credential for a call to a service.
func (s *Server) authed(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.cfg.Token)
}

func (s *Server) render(w http.ResponseWriter, l i18n.Lang, code int, page string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Tag())
	w.WriteHeader(code)
	if err := s.tmpl[l][page].Execute(w, data); err != nil {
		s.cfg.Log.Error("public page", "page", page, "err", err)
	}
}

// message is a page of one title and one text, the catalogue's key+".title"
// and key+".text".
func (s *Server) message(w http.ResponseWriter, l i18n.Lang, code int, key string) {
	s.render(w, l, code, "message", map[string]any{"Title": key + ".title", "Text": key + ".text"})
}

// ---- channels page

type ruleRow struct {
	Deadline, Applies, Limit, Citation string
}

func (s *Server) channels(w http.ResponseWriter, r *http.Request) {
	l := s.lang(w, r, "")
	today := calendar.DateOf(s.now(), calendar.Shanghai())
	var rows []ruleRow
	// The duty to run a complaint system (C1), in force today.
	basis := "CSL 2026 Art. 51"
	for _, rule := range s.cfg.Policy.Rules("cn") {
		if rule.ID == "cn/C1" {
			basis = rule.CitationOn(today)
		}
		if !rule.Enabled || rule.Unit == policy.GivenInstant {
			continue
		}
		rows = append(rows, ruleRow{Deadline: messages.T(l, "deadline."+rule.Deadline), Applies: applies(l, rule.Match),
			Limit: messages.T(l, "unit."+string(rule.Unit), rule.Amount), Citation: rule.CitationOn(today)})
	}
	s.render(w, l, http.StatusOK, "channels", map[string]any{"Contacts": s.cfg.Contacts, "Basis": basis, "Rules": rows, "Categories": categories,
		"Stats": s.lastMonth(r.Context())})
}

// figures are one month's published figures as the page prints them.
type figures struct {
	From, To            time.Time
	Cases               int64
	AckRate, ResRate    string // e.g. "96.5%", "-" when nothing was due
	MedianDays, P90Days string
}

// lastMonth is the previous month's published figures (nil when not
// configured or not available); a closed month's figures are asked for
// once, and the next month's when that has closed.
func (s *Server) lastMonth(ctx context.Context) *figures {
	if s.cfg.Stats == nil {
		return nil
	}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.stats != nil && s.now().Before(s.stats.To.AddDate(0, 1, 0)) {
		return s.stats
	}
	r, err := s.cfg.Stats.GetPublishedStatistics(s.authed(ctx), &reportingv1.GetPublishedStatisticsRequest{})
	if err != nil {
		s.cfg.Log.Warn("published statistics unavailable", "code", status.Code(err))
		return nil
	}
	shanghai := calendar.Shanghai() // the months are Asia/Shanghai's
	f := &figures{From: r.GetPeriodStart().AsTime().In(shanghai), To: r.GetPeriodEnd().AsTime().In(shanghai), Cases: r.GetCasesReceived(),
		AckRate: percent(r.AcknowledgedOnTime), ResRate: percent(r.ResolvedOnTime), MedianDays: "-", P90Days: "-"}
	if r.MedianHandlingDays != nil {
		f.MedianDays = strconv.FormatFloat(r.GetMedianHandlingDays(), 'f', -1, 64)
	}
	if r.P90HandlingDays != nil {
		f.P90Days = strconv.FormatInt(r.GetP90HandlingDays(), 10)
	}
	s.stats = f
	return f
}

// percent prints a rate in [0, 1] ("-" when absent).
func percent(rate *float64) string {
	if rate == nil {
		return "-"
	}
	return strconv.FormatFloat(100**rate, 'f', 1, 64) + "%"
}

// applies says in l which cases a rule applies to.
func applies(l i18n.Lang, m policy.Match) string {
	var parts []string
	add := func(label, prefix string, vs []string) {
		if len(vs) == 0 {
			return
		}
		names := make([]string, len(vs))
		for i, v := range vs {
			names[i] = messages.T(l, prefix+v)
		}
		parts = append(parts, messages.T(l, label)+messages.T(l, "sep.label")+strings.Join(names, messages.T(l, "sep.list")))
	}
	add("applies.kind", "kind.", m.Kinds)
	add("applies.category", "category.", m.Categories)
	add("applies.channel", "channel.", m.Channels)
	add("applies.referred", "body.", m.ReferringBodies)
	if len(parts) == 0 {
		return messages.T(l, "applies.all")
	}
	return strings.Join(parts, messages.T(l, "sep.parts"))
}

// ---- complaint form

// categories are the form's categories (intake's names, lower case); their
// labels are the catalogue's "category." keys.
var categories = []string{
	"spam_sms", "harassing_call", "junk_email", "malicious_program", "prohibited_information",
	"personal_information_leak", "identity_misuse", "account_security", "service_quality", "other",
}

type formData struct {
	Categories     []string
	Key            string
	Errors         []string
	Switched       bool // shown again in another language: files are to be chosen again
	Kind, Category string
	Description    string
	Name, Phone    string
	Email, Prefer  string
}

func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "web-" + hex.EncodeToString(b)
}

func (s *Server) form(w http.ResponseWriter, r *http.Request) {
	s.render(w, s.lang(w, r, ""), http.StatusOK, "form", formData{Categories: categories, Key: newKey(), Kind: "complaint"})
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.SubmitLimit.Allow(s.clientAddr(r)) {
		w.Header().Set("Retry-After", "60")
		s.message(w, s.lang(w, r, ""), http.StatusTooManyRequests, "busy.submit")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.message(w, s.lang(w, r, ""), http.StatusRequestEntityTooLarge, "large")
			return
		}
		s.message(w, s.lang(w, r, ""), http.StatusBadRequest, "bad_form")
		return
	}
	defer func() {
		// The spooled files are evidence uploads: one left behind must be noticed.
		if err := r.MultipartForm.RemoveAll(); err != nil {
			s.cfg.Log.Error("public submit: remove spooled upload", "err", err)
		}
	}()
	// The language switch on the form posts the form with a lang field: the
	// form comes back in that language with what was typed, not submitted.
	asked := r.PostFormValue("lang")
	l := s.lang(w, r, asked)
	f := formData{Categories: categories, Key: r.FormValue("key"), Kind: r.FormValue("kind"), Category: r.FormValue("category"),
		Description: r.FormValue("description"), Name: r.FormValue("name"), Phone: r.FormValue("phone"),
		Email: r.FormValue("email"), Prefer: r.FormValue("prefer")}
	if asked != "" {
		f.Switched = len(r.MultipartForm.File["evidence"]) > 0
		s.render(w, l, http.StatusOK, "form", f)
		return
	}
	if r.FormValue("consent") != "yes" {
		f.Errors = append(f.Errors, messages.T(l, "error.consent"))
	}
	kind, okKind := intakev1.CaseKind_value["CASE_KIND_"+strings.ToUpper(f.Kind)]
	cat, okCat := intakev1.Category_value["CATEGORY_"+strings.ToUpper(f.Category)]
	if !okKind || kind == 0 {
		f.Errors = append(f.Errors, messages.T(l, "error.kind"))
	}
	if !okCat || cat == 0 {
		f.Errors = append(f.Errors, messages.T(l, "error.category"))
	}
	atts, ok := uploads.Read(r.MultipartForm.File["evidence"])
	if !ok {
		f.Errors = append(f.Errors, messages.T(l, "error.file_unread"))
	}
	if len(f.Errors) > 0 {
		s.render(w, l, http.StatusBadRequest, "form", f)
		return
	}
	req := &intakev1.SubmitComplaintRequest{
		IdempotencyKey: f.Key, Kind: intakev1.CaseKind(kind), Category: intakev1.Category(cat),
		Channel:     intakev1.Channel_CHANNEL_WEB_FORM,
		Complainant: &intakev1.Complainant{Name: f.Name, Phone: f.Phone, Email: f.Email, PreferredContact: f.Prefer},
		Description: f.Description, Attachments: atts,
		// The language the form was filled in is the one the complainant reads.
		Language: string(l),
	}
	// The gRPC codec refuses text that is not UTF-8 (a browser may send such
	// a file name): it is a bad field, answered as intake answers one.
	var v validation.Errors
	if v.UTF8(req); !v.Empty() {
		f.Errors = fieldProblems(l, status.Convert(v.Err()))
		s.render(w, l, http.StatusBadRequest, "form", f)
		return
	}
	resp, err := s.cfg.Intake.SubmitComplaint(s.authed(r.Context()), req)
	if err != nil {
		if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
			f.Errors = fieldProblems(l, st)
			s.render(w, l, http.StatusBadRequest, "form", f)
			return
		}
		s.cfg.Log.Error("public submit", "code", status.Code(err))
		s.message(w, l, http.StatusServiceUnavailable, "not_received")
		return
	}
	c := resp.GetCase()
	s.render(w, l, http.StatusOK, "submitted", map[string]any{
		"CaseNumber": c.GetCaseNumber(), "LookupCode": resp.GetLookupCode(), "Replayed": resp.GetReplayed(),
		"AckDue": c.GetAcknowledgement().GetDueAt().AsTime(), "ResolutionDue": c.GetResolution().GetDueAt().AsTime(),
		"Citation": c.GetResolution().GetCitation(),
	})
}

// fieldKeys are the catalogue's sentences for intake's bad fields: each
// says what the field must be, whatever intake's (English, for programs)
// description said.
var fieldKeys = map[string]string{
	"kind": "error.kind", "category": "error.category",
	"description": "field.description", "complainant": "field.complainant", "complainant.name": "field.name",
	"complainant.phone": "field.phone", "complainant.email": "field.email", "complainant.preferred_contact": "field.prefer",
	"idempotency_key": "field.key", "attachments": "field.attachments", "body": "field.answer",
	"file_name": "field.attachment.file_name", "content_type": "field.attachment.type", "content": "field.attachment.content",
}

var attachmentField = regexp.MustCompile(`^attachments\[(\d+)\](?:\.(\w+))?$`)

// fieldProblems turns intake's field violations into sentences for people
// in l, each once.
func fieldProblems(l i18n.Lang, st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			var text string
			if m := attachmentField.FindStringSubmatch(v.GetField()); m != nil {
				n, _ := strconv.Atoi(m[1])
				key := fieldKeys[m[2]]
				if m[2] == "" || key == "" {
					key = "field.attachment"
				}
				text = messages.T(l, key, n+1)
			} else if key, ok := fieldKeys[v.GetField()]; ok {
				text = messages.T(l, key)
			} else {
				text = messages.T(l, "error.invalid")
			}
			if !slices.Contains(out, text) {
				out = append(out, text)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, messages.T(l, "error.invalid"))
	}
	return out
}

// ---- status lookup

func (s *Server) lookupForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, s.lang(w, r, ""), http.StatusOK, "lookup", nil)
}

type deadlineView struct {
	Kind   string
	DueAt  time.Time
	Status string
	MetAt  *time.Time
	Left   string // time remaining, while the deadline runs
}

type messageView struct {
	Kind  string // the message's kind, for the page's classes
	Label string
	At    time.Time
	Body  string
}

// statusData is the status page: the case's state and deadlines, the
// conversation, and the forms to answer and add evidence. Number and code
// travel only in the bodies of its POST forms (the language switch, the
// answer, the evidence), never in a URL: the site keeps no session and no
// key, and any replica answers any form.
type statusData struct {
	CaseNumber, Code string
	State            string
	ReceivedAt       time.Time
	Deadlines        []deadlineView
	Messages         []messageView
	Erased           bool
	Awaiting         bool // an information request waits for the complainant's answer
	Open             bool // the case still takes answers and evidence
	Notice           string
	Errors           []string
}

// lookup shows the case's state, deadlines and conversation, only for the
// right case number and code; a wrong code and an unknown number get the
// same answer (the intake service answers both alike).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	l, number, code, ok := s.statusRequest(w, r, 4<<10)
	if !ok {
		return
	}
	s.showStatus(w, r, l, number, code, http.StatusOK, "", nil)
}

// answer sends what the complainant wrote on the status page; while the
// case awaits them it is the answer to the information request.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	l, number, code, ok := s.statusRequest(w, r, 64<<10)
	if !ok {
		return
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	if body == "" || !utf8.ValidString(body) {
		s.showStatus(w, r, l, number, code, http.StatusBadRequest, "", []string{messages.T(l, "field.answer")})
		return
	}
	_, err := s.cfg.Status.AnswerCase(s.authed(r.Context()), &intakev1.AnswerCaseRequest{CaseNumber: number, LookupCode: code, Body: body})
	s.afterWrite(w, r, l, number, code, err, "answer.sent")
}

// evidence adds the complainant's files to the case, checked by intake as a
// submission's attachments are.
func (s *Server) evidence(w http.ResponseWriter, r *http.Request) {
	l, number, code, ok := s.statusRequest(w, r, maxBody)
	if !ok {
		return
	}
	if r.MultipartForm == nil {
		s.message(w, l, http.StatusBadRequest, "bad_form")
		return
	}
	defer func() {
		if err := r.MultipartForm.RemoveAll(); err != nil {
			s.cfg.Log.Error("public evidence: remove spooled upload", "err", err)
		}
	}()
	atts, readable := uploads.Read(r.MultipartForm.File["evidence"])
	switch {
	case !readable:
		s.showStatus(w, r, l, number, code, http.StatusBadRequest, "", []string{messages.T(l, "error.file_unread")})
		return
	case len(atts) == 0:
		s.showStatus(w, r, l, number, code, http.StatusBadRequest, "", []string{messages.T(l, "field.evidence")})
		return
	}
	req := &intakev1.AddEvidenceRequest{CaseNumber: number, LookupCode: code, Attachments: atts}
	var v validation.Errors
	if v.UTF8(req); !v.Empty() {
		s.showStatus(w, r, l, number, code, http.StatusBadRequest, "", fieldProblems(l, status.Convert(v.Err())))
		return
	}
	_, err := s.cfg.Status.AddEvidence(s.authed(r.Context()), req)
	s.afterWrite(w, r, l, number, code, err, "evidence.sent")
}

// statusRequest reads a status page form (a multipart one when it carries
// files) of at most limit bytes under the lookup rate limit, and answers
// the page's language, case number and code; false when it has answered
// already.
func (s *Server) statusRequest(w http.ResponseWriter, r *http.Request, limit int64) (i18n.Lang, string, string, bool) {
	if !s.cfg.LookupLimit.Allow(s.clientAddr(r)) {
		w.Header().Set("Retry-After", "60")
		s.message(w, s.lang(w, r, ""), http.StatusTooManyRequests, "busy.lookup")
		return "", "", "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.message(w, s.lang(w, r, ""), http.StatusRequestEntityTooLarge, "large")
		return "", "", "", false
	case err != nil:
		s.message(w, s.lang(w, r, ""), http.StatusBadRequest, "bad_form")
		return "", "", "", false
	}
	l := s.lang(w, r, r.PostFormValue("lang"))
	// Unless the visitor chose, the page goes on in the language the status
	// page was shown in (the case's), which its forms post back.
	if shown, ok := i18n.Parse(r.PostFormValue("shown")); ok && !switched(r) {
		l = shown
	}
	return l, r.PostFormValue("case_number"), r.PostFormValue("code"), true
}

// afterWrite shows the status page after an answer or evidence was sent:
// with notice when it was taken, with the reasons when intake refused it.
func (s *Server) afterWrite(w http.ResponseWriter, r *http.Request, l i18n.Lang, number, code string, err error, notice string) {
	st := status.Convert(err)
	switch {
	case st.Code() == codes.OK:
		s.showStatus(w, r, l, number, code, http.StatusOK, messages.T(l, notice), nil)
	case st.Code() == codes.NotFound || st.Code() == codes.InvalidArgument && badLookup(st):
		s.message(w, l, http.StatusNotFound, "no_case")
	case st.Code() == codes.InvalidArgument:
		s.showStatus(w, r, l, number, code, http.StatusBadRequest, "", fieldProblems(l, st))
	case st.Code() == codes.FailedPrecondition:
		s.showStatus(w, r, l, number, code, http.StatusConflict, "", []string{messages.T(l, "error.closed")})
	default:
		s.cfg.Log.Error("public status write", "code", st.Code())
		s.message(w, l, http.StatusServiceUnavailable, "unavailable")
	}
}

// badLookup reports whether intake refused the case number or the code
// themselves (empty, too long): that matches no case either.
func badLookup(st *status.Status) bool {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == "case_number" || v.GetField() == "lookup_code" {
					return true
				}
			}
		}
	}
	return false
}

// showStatus renders the status page of the case number and code (or the
// one answer for no such case).
func (s *Server) showStatus(w http.ResponseWriter, r *http.Request, l i18n.Lang, number, code string, httpCode int, notice string, problems []string) {
	var resp *intakev1.GetConversationResponse
	err := status.Error(codes.NotFound, "not UTF-8") // cannot go on the wire, matches no case
	if utf8.ValidString(number) && utf8.ValidString(code) {
		resp, err = s.cfg.Status.GetConversation(s.authed(r.Context()), &intakev1.GetConversationRequest{CaseNumber: number, LookupCode: code})
	}
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound, codes.InvalidArgument: // an empty or overlong field matches no case either
		s.message(w, l, http.StatusNotFound, "no_case")
		return
	default:
		s.cfg.Log.Error("public lookup", "code", status.Code(err))
		s.message(w, l, http.StatusServiceUnavailable, "unavailable")
		return
	}
	st := resp.GetStatus()
	// The complainant reads the case in its language, unless the visitor
	// chose another with the switch.
	if cl, ok := i18n.Parse(st.GetLanguage()); ok && !switched(r) {
		l = cl
	}
	d := statusData{CaseNumber: st.GetCaseNumber(), Code: code, ReceivedAt: st.GetReceivedAt().AsTime(), Erased: resp.GetErased(),
		Awaiting: st.GetState() == intakev1.CaseState_CASE_STATE_AWAITING_COMPLAINANT, Notice: notice, Errors: problems}
	switch st.GetState() {
	case intakev1.CaseState_CASE_STATE_CLOSED, intakev1.CaseState_CASE_STATE_REJECTED, intakev1.CaseState_CASE_STATE_MERGED:
	default:
		d.Open = !d.Erased
	}
	for _, dl := range []struct {
		kind string
		d    *intakev1.Deadline
	}{{policy.KindAcknowledgement, st.GetAcknowledgement()}, {policy.KindResolution, st.GetResolution()}} {
		if dl.d == nil {
			continue
		}
		v := deadlineView{Kind: messages.T(l, "deadline."+dl.kind), DueAt: dl.d.GetDueAt().AsTime(), Status: messages.T(l, "dstatus."+dl.d.GetStatus())}
		if dl.d.MetAt != nil {
			t := dl.d.GetMetAt().AsTime()
			v.MetAt = &t
		}
		if dl.d.GetStatus() == "open" {
			v.Left = i18n.Left(l, s.now(), v.DueAt)
		}
		d.Deadlines = append(d.Deadlines, v)
	}
	state := "state." + strings.ToLower(strings.TrimPrefix(st.GetState().String(), "CASE_STATE_"))
	if _, ok := messages[l][state]; !ok {
		state = "state.unknown"
	}
	d.State = messages.T(l, state)
	for _, m := range resp.GetMessages() {
		label := "said." + m.GetKind()
		if _, ok := messages[l][label]; !ok {
			continue // a kind this page does not know is not shown half-labelled
		}
		d.Messages = append(d.Messages, messageView{Kind: m.GetKind(), Label: messages.T(l, label), At: m.GetCreatedAt().AsTime(), Body: m.GetBody()})
	}
	s.render(w, l, httpCode, "status", d)
}
