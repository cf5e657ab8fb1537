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
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/netip"
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
	tmpl map[string]*template.Template
	mux  *http.ServeMux

	statsMu sync.Mutex
	stats   *figures // last month's, asked for again when the month changes
}

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
	s := &Server{cfg: cfg, tmpl: map[string]*template.Template{}, mux: http.NewServeMux()}
	funcs := template.FuncMap{"shanghai": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(calendar.Shanghai()).Format("2006-01-02 15:04 (UTC+8)")
	}}
	for _, page := range []string{"channels", "form", "submitted", "lookup", "status", "message"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, err
		}
		s.tmpl[page] = t
	}
	s.mux.HandleFunc("GET /{$}", s.channels)
	s.mux.HandleFunc("GET /complaint", s.form)
	s.mux.HandleFunc("POST /complaint", s.submit)
	s.mux.HandleFunc("GET /status", s.lookupForm)
	s.mux.HandleFunc("POST /status", s.lookup)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No scripts at all: the pages work without JavaScript and run none.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
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

func (s *Server) render(w http.ResponseWriter, code int, page string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.tmpl[page].Execute(w, data); err != nil {
		s.cfg.Log.Error("public page", "page", page, "err", err)
	}
}

func (s *Server) message(w http.ResponseWriter, code int, title, text string) {
	s.render(w, code, "message", map[string]any{"Title": title, "Text": text})
}

// ---- channels page

type ruleRow struct {
	Deadline, Applies, Limit, Citation string
}

func (s *Server) channels(w http.ResponseWriter, r *http.Request) {
	today := calendar.DateOf(s.now(), calendar.Shanghai())
	var rows []ruleRow
	for _, rule := range s.cfg.Policy.Rules("cn") {
		if !rule.Enabled || rule.Unit == policy.GivenInstant {
			continue
		}
		rows = append(rows, ruleRow{Deadline: rule.Deadline, Applies: applies(rule.Match),
			Limit:    fmt.Sprintf("%d %s", rule.Amount, strings.ReplaceAll(string(rule.Unit), "_", " ")),
			Citation: rule.CitationOn(today)})
	}
	s.render(w, http.StatusOK, "channels", map[string]any{"Contacts": s.cfg.Contacts, "Rules": rows, "Categories": categories,
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

func applies(m policy.Match) string {
	var parts []string
	add := func(label string, vs []string) {
		if len(vs) > 0 {
			parts = append(parts, label+": "+strings.ReplaceAll(strings.Join(vs, ", "), "_", " "))
		}
	}
	add("kind", m.Kinds)
	add("category", m.Categories)
	add("channel", m.Channels)
	add("referred by", m.ReferringBodies)
	if len(parts) == 0 {
		return "every complaint and report"
	}
	return strings.Join(parts, "; ")
}

// ---- complaint form

type category struct{ Value, Label string }

var categories = []category{
	{"spam_sms", "Spam SMS 垃圾短信"}, {"harassing_call", "Harassing calls 骚扰电话"}, {"junk_email", "Junk email 垃圾邮件"},
	{"malicious_program", "Malicious program 恶意程序"}, {"prohibited_information", "Prohibited information 违法和不良信息"},
	{"personal_information_leak", "Personal information leak 个人信息泄露"},
	{"identity_misuse", "Identity misuse (accounts or cards in my name) 冒用身份"},
	{"account_security", "Account security 账号安全"}, {"service_quality", "Service quality 服务质量"}, {"other", "Other 其他"},
}

type formData struct {
	Categories     []category
	Key            string
	Errors         []string
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
	s.render(w, http.StatusOK, "form", formData{Categories: categories, Key: newKey(), Kind: "complaint"})
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.SubmitLimit.Allow(s.clientAddr(r)) {
		w.Header().Set("Retry-After", "60")
		s.message(w, http.StatusTooManyRequests, "Too many submissions",
			"This address has sent too many complaints in the last minute. Please wait a minute and try again. 提交过于频繁，请一分钟后再试。")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.message(w, http.StatusRequestEntityTooLarge, "Submission too large",
				"The form with its evidence files may be at most 9 MB; each file at most 2 MB. 附件过大。")
			return
		}
		s.message(w, http.StatusBadRequest, "Form not understood", "Please use the complaint form on this site.")
		return
	}
	defer func() {
		// The spooled files are evidence uploads: one left behind must be noticed.
		if err := r.MultipartForm.RemoveAll(); err != nil {
			s.cfg.Log.Error("public submit: remove spooled upload", "err", err)
		}
	}()
	f := formData{Categories: categories, Key: r.FormValue("key"), Kind: r.FormValue("kind"), Category: r.FormValue("category"),
		Description: r.FormValue("description"), Name: r.FormValue("name"), Phone: r.FormValue("phone"),
		Email: r.FormValue("email"), Prefer: r.FormValue("prefer")}
	if r.FormValue("consent") != "yes" {
		f.Errors = append(f.Errors, "Please agree to the processing of your contact details for handling this complaint.")
	}
	kind, okKind := intakev1.CaseKind_value["CASE_KIND_"+strings.ToUpper(f.Kind)]
	cat, okCat := intakev1.Category_value["CATEGORY_"+strings.ToUpper(f.Category)]
	if !okKind || kind == 0 {
		f.Errors = append(f.Errors, "Choose whether this is a complaint or a report.")
	}
	if !okCat || cat == 0 {
		f.Errors = append(f.Errors, "Choose a category.")
	}
	atts, err := uploads(r.MultipartForm.File["evidence"])
	if err != nil {
		f.Errors = append(f.Errors, err.Error())
	}
	if len(f.Errors) > 0 {
		s.render(w, http.StatusBadRequest, "form", f)
		return
	}
	req := &intakev1.SubmitComplaintRequest{
		IdempotencyKey: f.Key, Kind: intakev1.CaseKind(kind), Category: intakev1.Category(cat),
		Channel:     intakev1.Channel_CHANNEL_WEB_FORM,
		Complainant: &intakev1.Complainant{Name: f.Name, Phone: f.Phone, Email: f.Email, PreferredContact: f.Prefer},
		Description: f.Description, Attachments: atts,
	}
	// The gRPC codec refuses text that is not UTF-8 (a browser may send such
	// a file name): it is a bad field, answered as intake answers one.
	var v validation.Errors
	if v.UTF8(req); !v.Empty() {
		f.Errors = fieldProblems(status.Convert(v.Err()))
		s.render(w, http.StatusBadRequest, "form", f)
		return
	}
	resp, err := s.cfg.Intake.SubmitComplaint(s.authed(r.Context()), req)
	if err != nil {
		if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
			f.Errors = fieldProblems(st)
			s.render(w, http.StatusBadRequest, "form", f)
			return
		}
		s.cfg.Log.Error("public submit", "code", status.Code(err))
		s.message(w, http.StatusServiceUnavailable, "Not received", "Your complaint could not be recorded just now. Please try again in a few minutes.")
		return
	}
	c := resp.GetCase()
	s.render(w, http.StatusOK, "submitted", map[string]any{
		"CaseNumber": c.GetCaseNumber(), "LookupCode": resp.GetLookupCode(), "Replayed": resp.GetReplayed(),
		"AckDue": c.GetAcknowledgement().GetDueAt().AsTime(), "ResolutionDue": c.GetResolution().GetDueAt().AsTime(),
		"Citation": c.GetResolution().GetCitation(),
	})
}

var fieldLabels = map[string]string{
	"description": "Description", "complainant": "Contact", "complainant.name": "Name", "complainant.phone": "Phone",
	"complainant.email": "Email", "complainant.preferred_contact": "Preferred contact", "idempotency_key": "Form",
}

// fieldProblems turns intake's field violations into sentences for people.
func fieldProblems(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			label := fieldLabels[v.GetField()]
			if label == "" {
				label = strings.ReplaceAll(v.GetField(), "attachments", "Evidence file")
			}
			out = append(out, label+" "+v.GetDescription()+".")
		}
	}
	if len(out) == 0 {
		out = append(out, "Some of the information given is not valid.")
	}
	return out
}

// uploads reads the evidence files; intake checks their size and sniffs
// their type against the declared one.
func uploads(files []*multipart.FileHeader) ([]*intakev1.AttachmentUpload, error) {
	var out []*intakev1.AttachmentUpload
	for _, fh := range files {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file input of a form sent without a file
		}
		f, err := fh.Open()
		if err != nil {
			return nil, errors.New("An evidence file could not be read.") //nolint:staticcheck // ST1005: shown to the complainant as is
		}
		b, err := io.ReadAll(io.LimitReader(f, 4<<20))
		_ = f.Close()
		if err != nil {
			return nil, errors.New("An evidence file could not be read.") //nolint:staticcheck // ST1005: shown to the complainant as is
		}
		ct := fh.Header.Get("Content-Type")
		if i := strings.IndexByte(ct, ';'); i >= 0 {
			ct = strings.TrimSpace(ct[:i])
		}
		out = append(out, &intakev1.AttachmentUpload{FileName: fh.Filename, ContentType: ct, Content: b})
	}
	return out, nil
}

// ---- status lookup

func (s *Server) lookupForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "lookup", nil)
}

type deadlineView struct {
	Kind   string
	DueAt  time.Time
	Status string
	MetAt  *time.Time
}

// lookup shows state and deadlines only, and only for the right case number
// and code; a wrong code and an unknown number get the same answer (the
// intake service answers both alike).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.LookupLimit.Allow(s.clientAddr(r)) {
		w.Header().Set("Retry-After", "60")
		s.message(w, http.StatusTooManyRequests, "Too many lookups", "Please wait a minute and try again. 查询过于频繁，请一分钟后再试。")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	number, code := r.FormValue("case_number"), r.FormValue("code")
	var resp *intakev1.LookupStatusResponse
	err := status.Error(codes.NotFound, "not UTF-8") // cannot go on the wire, matches no case
	if utf8.ValidString(number) && utf8.ValidString(code) {
		resp, err = s.cfg.Status.LookupStatus(s.authed(r.Context()), &intakev1.LookupStatusRequest{CaseNumber: number, LookupCode: code})
	}
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound, codes.InvalidArgument: // an empty or overlong field matches no case either
		s.message(w, http.StatusNotFound, "No matching case",
			"No case matches this case number and lookup code. Check both and try again. 未找到匹配的案件。")
		return
	default:
		s.cfg.Log.Error("public lookup", "code", status.Code(err))
		s.message(w, http.StatusServiceUnavailable, "Not available", "Please try again in a few minutes.")
		return
	}
	var ds []deadlineView
	for _, d := range []struct {
		kind string
		d    *intakev1.Deadline
	}{{"acknowledgement", resp.GetAcknowledgement()}, {"resolution", resp.GetResolution()}} {
		if d.d == nil {
			continue
		}
		v := deadlineView{Kind: d.kind, DueAt: d.d.GetDueAt().AsTime(), Status: d.d.GetStatus()}
		if d.d.MetAt != nil {
			t := d.d.GetMetAt().AsTime()
			v.MetAt = &t
		}
		ds = append(ds, v)
	}
	state := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(resp.GetState().String(), "CASE_STATE_")), "_", " ")
	s.render(w, http.StatusOK, "status", map[string]any{"CaseNumber": resp.GetCaseNumber(), "State": state,
		"ReceivedAt": resp.GetReceivedAt().AsTime(), "Deadlines": ds})
}
