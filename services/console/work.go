package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/internal/certificate"
	"github.com/redress/redress/services/internal/i18n"
)

// Deletion requests and escalations: lists, a detail page each, and the
// actions the services offer (plan approval; filing package download and
// acknowledgement). Each call carries the session's credential, so the
// services' access table decides.

type listData struct {
	Status string
	Next   string
	Items  any
}

func (s *Server) deletions(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	resp, err := s.c.Deletion.ListDeletions(v.rpc(r.Context()), &deletionv1.ListDeletionsRequest{
		Status: q.Get("status"), CaseId: q.Get("case"), PageSize: 50, PageToken: q.Get("page")})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := listData{Status: q.Get("status"), Items: resp.GetDeletions()}
	if tok := resp.GetNextPageToken(); tok != "" {
		d.Next = "/deletions?" + url.Values{"status": {d.Status}, "page": {tok}}.Encode()
	}
	v.Title, v.Data = translate(v.Lang, "deletions"), d
	s.render(w, http.StatusOK, "deletions", v, "")
}

type deletionData struct {
	D        *deletionv1.Deletion
	Plan     *deletionv1.GetPlanResponse
	Evidence *deletionv1.GetEvidenceResponse // per-system progress
}

const extensionPrefix = "EXTENSION_REASON_"

// ExtensionReasons are the codes a deadline extension may give, lower case
// (the form's values; i18n keys "ext.<code>").
func (deletionData) ExtensionReasons() []string {
	var out []string
	for i := int32(1); ; i++ {
		name, ok := deletionv1.ExtensionReason_name[i]
		if !ok {
			return out
		}
		out = append(out, strings.ToLower(strings.TrimPrefix(name, extensionPrefix)))
	}
}

// ExtensionReason is the request's extension code, lower case.
func (d deletionData) ExtensionReason() string {
	return strings.ToLower(strings.TrimPrefix(d.D.GetExtensionReason().String(), extensionPrefix))
}

func (s *Server) deletionPage(w http.ResponseWriter, r *http.Request, v *view) {
	ctx, id := v.rpc(r.Context()), r.PathValue("id")
	resp, err := s.c.Deletion.GetDeletion(ctx, &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := deletionData{D: resp.GetDeletion()}
	if plan, err := s.c.Deletion.GetPlan(ctx, &deletionv1.GetPlanRequest{DeletionId: id}); err == nil {
		d.Plan = plan
	}
	if ev, err := s.c.Deletion.GetEvidence(ctx, &deletionv1.GetEvidenceRequest{DeletionId: id}); err == nil {
		d.Evidence = ev
	}
	v.Title, v.Data, v.Flash = translate(v.Lang, "deletion"), d, flash(r, v.Lang)
	s.render(w, http.StatusOK, "deletion", v, "")
}

// approvePlan approves exactly the plan the supervisor saw (its digest).
func (s *Server) approvePlan(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	_, err := s.c.Deletion.ApprovePlan(v.rpc(r.Context()), &deletionv1.ApprovePlanRequest{DeletionId: id, PlanDigest: r.PostFormValue("digest")})
	s.finish(w, r, v, err, "/deletions/"+id)
}

func (s *Server) escalations(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	req := &escalationv1.ListEscalationsRequest{CaseId: q.Get("case"), PageSize: 50, PageToken: q.Get("page")}
	if st := q.Get("status"); st != "" {
		req.Statuses = []string{st}
	}
	resp, err := s.c.Escalation.ListEscalations(v.rpc(r.Context()), req)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := listData{Status: q.Get("status"), Items: resp.GetEscalations()}
	if tok := resp.GetNextPageToken(); tok != "" {
		d.Next = "/escalations?" + url.Values{"status": {d.Status}, "page": {tok}}.Encode()
	}
	v.Title, v.Data = translate(v.Lang, "escalations"), d
	s.render(w, http.StatusOK, "escalations", v, "")
}

func (s *Server) escalationPage(w http.ResponseWriter, r *http.Request, v *view) {
	resp, err := s.c.Escalation.GetEscalation(v.rpc(r.Context()), &escalationv1.GetEscalationRequest{EscalationId: r.PathValue("id")})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Title, v.Data, v.Flash = translate(v.Lang, "escalation"), resp.GetEscalation(), flash(r, v.Lang)
	s.render(w, http.StatusOK, "escalation", v, "")
}

// filingPackage downloads the package filed with the regulator.
func (s *Server) filingPackage(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	resp, err := s.c.Escalation.GetFilingPackage(v.rpc(r.Context()), &escalationv1.GetFilingPackageRequest{EscalationId: id})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="filing-`+url.PathEscape(id)+`.zip"`)
	w.Header().Set("X-Content-SHA256", resp.GetSha256())
	_, _ = w.Write(resp.GetZip())
}

func (s *Server) recordAck(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	_, err := s.c.Escalation.RecordAcknowledgement(v.rpc(r.Context()), &escalationv1.RecordAcknowledgementRequest{EscalationId: id, Reference: r.PostFormValue("reference")})
	s.finish(w, r, v, err, "/escalations/"+id)
}

// linked lists a case's deletion requests and escalations for its page;
// a role that may not read them simply sees none.
func (s *Server) linked(r *http.Request, v *view, caseID string) (dels []*deletionv1.Deletion, escs []*escalationv1.Escalation) {
	ctx := v.rpc(r.Context())
	if s.c.Deletion != nil && v.Can("deletion.read") {
		if resp, err := s.c.Deletion.ListDeletions(ctx, &deletionv1.ListDeletionsRequest{CaseId: caseID, PageSize: 20}); err == nil {
			dels = resp.GetDeletions()
		}
	}
	if s.c.Escalation != nil && v.Can("escalation.read") {
		if resp, err := s.c.Escalation.ListEscalations(ctx, &escalationv1.ListEscalationsRequest{CaseId: caseID, PageSize: 20}); err == nil {
			escs = resp.GetEscalations()
		}
	}
	return dels, escs
}

// fmtTime shows a moment (not a deadline) in the operator's zone.
func fmtTime(t interface{ AsTime() time.Time }) string {
	if t == nil {
		return ""
	}
	tt := t.AsTime()
	if tt.IsZero() || tt.Unix() == 0 {
		return ""
	}
	return tt.In(i18n.Zone()).Format("2006-01-02 15:04 -07:00")
}

// legalTime shows a deadline as the law counts it (i18n.LegalTime): in the
// operator's zone, a period that ends at midnight as 24:00 of its last day.
func legalTime(lang string, t interface{ AsTime() time.Time }) string {
	if t == nil {
		return ""
	}
	tt := t.AsTime()
	if tt.IsZero() || tt.Unix() == 0 {
		return ""
	}
	return legalTimeOf(lang, tt)
}

func legalTimeOf(lang string, t time.Time) string { return i18n.LegalTime(i18n.Lang(lang), t) }

// certificate downloads the deletion certificate (JSON) once the request
// completed; its SHA-256 travels in a header.
func (s *Server) certificate(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	ev, ok := s.issuedCertificate(w, r, v, id)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="deletion-certificate-`+url.PathEscape(id)+`.json"`)
	w.Header().Set("X-Content-SHA256", ev.GetCertificateDigest())
	_, _ = w.Write([]byte(ev.GetCertificate()))
}

// issuedCertificate answers the request's evidence once its certificate is
// issued; otherwise it has answered the browser (an error, or not found).
func (s *Server) issuedCertificate(w http.ResponseWriter, r *http.Request, v *view, id string) (*deletionv1.GetEvidenceResponse, bool) {
	ev, err := s.c.Deletion.GetEvidence(v.rpc(r.Context()), &deletionv1.GetEvidenceRequest{DeletionId: id})
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	if ev.GetCertificate() == "" {
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return nil, false
	}
	return ev, true
}

// certificatePDF prints the certificate in the requester's language: a
// readable copy of the JSON, naming its SHA-256.
func (s *Server) certificatePDF(w http.ResponseWriter, r *http.Request, v *view) {
	id, ctx := r.PathValue("id"), v.rpc(r.Context())
	d, err := s.c.Deletion.GetDeletion(ctx, &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	ev, ok := s.issuedCertificate(w, r, v, id)
	if !ok {
		return
	}
	lang, _ := i18n.Parse(d.GetDeletion().GetLanguage())
	if lang == "" {
		lang = i18n.ZH
	}
	pdf, err := certificate.PDF([]byte(ev.GetCertificate()), ev.GetCertificateDigest(), lang)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="deletion-certificate-`+url.PathEscape(id)+`.pdf"`)
	_, _ = w.Write(pdf)
}

// connectors lists the data systems deletions reach; connector.admin may
// switch them on and off.
func (s *Server) connectors(w http.ResponseWriter, r *http.Request, v *view) {
	resp, err := s.c.Deletion.ListConnectors(v.rpc(r.Context()), &deletionv1.ListConnectorsRequest{})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Title, v.Data, v.Flash = translate(v.Lang, "connectors"), resp.GetConnectors(), flash(r, v.Lang)
	s.render(w, http.StatusOK, "connectors", v, "")
}

func (s *Server) setConnector(w http.ResponseWriter, r *http.Request, v *view) {
	if r.PostFormValue("test") != "" {
		s.testConnector(w, r, v)
		return
	}
	_, err := s.c.Deletion.SetConnectorEnabled(v.rpc(r.Context()), &deletionv1.SetConnectorEnabledRequest{
		Name: r.PathValue("name"), Enabled: r.PostFormValue("enabled") == "true"})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/connectors?done=1", http.StatusSeeOther)
}

// testConnector runs a connector's health check and shows its answer above
// the list (the check is audited by the service).
func (s *Server) testConnector(w http.ResponseWriter, r *http.Request, v *view) {
	name := r.PathValue("name")
	res, err := s.c.Deletion.TestConnector(v.rpc(r.Context()), &deletionv1.TestConnectorRequest{Name: name})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	list, err := s.c.Deletion.ListConnectors(v.rpc(r.Context()), &deletionv1.ListConnectorsRequest{})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	msg := fmt.Sprintf(translate(v.Lang, "connector_test.ok"), name, res.GetLatencyMs())
	if !res.GetOk() {
		msg = fmt.Sprintf(translate(v.Lang, "connector_test.failed"), name, res.GetReason(), res.GetLatencyMs())
	}
	v.Title, v.Data, v.Flash = translate(v.Lang, "connectors"), list.GetConnectors(), msg
	s.render(w, http.StatusOK, "connectors", v, "")
}

// deletionAction runs the plan rejection (with its reason code: PIPL Art.
// 50 asks for the reason of a refusal), cancellation, deadline extension
// and manual-task forms.
func (s *Server) deletionAction(w http.ResponseWriter, r *http.Request, v *view) {
	id, f, ctx := r.PathValue("id"), r.PostFormValue, v.rpc(r.Context())
	var err error
	switch r.PathValue("action") {
	case "reject":
		_, err = s.c.Deletion.RejectPlan(ctx, &deletionv1.RejectPlanRequest{DeletionId: id,
			ReasonCode: deletionv1.ReasonCode(deletionv1.ReasonCode_value[f("reason")]), ReasonText: f("text")})
	case "cancel":
		_, err = s.c.Deletion.CancelDeletion(ctx, &deletionv1.CancelDeletionRequest{DeletionId: id, ReasonText: f("text")})
	case "extend":
		_, err = s.c.Deletion.ExtendDeadline(ctx, &deletionv1.ExtendDeadlineRequest{DeletionId: id,
			ReasonCode: deletionv1.ExtensionReason(deletionv1.ExtensionReason_value[extensionPrefix+strings.ToUpper(f("reason"))]), ReasonText: f("text")})
	case "task":
		_, err = s.c.Deletion.CompleteManualTask(ctx, &deletionv1.CompleteManualTaskRequest{DeletionId: id, Connector: f("connector"), Note: f("text")})
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	s.finish(w, r, v, err, "/deletions/"+id)
}

// deletionReasons are the reason codes a rejection may give.
func deletionReasons() []string {
	var out []string
	for i := int32(1); ; i++ {
		name, ok := deletionv1.ReasonCode_name[i]
		if !ok {
			return out
		}
		out = append(out, name)
	}
}

// deletionOpen reports whether a deletion request can still be cancelled.
func deletionOpen(status string) bool {
	switch status {
	case "completed", "rejected", "cancelled", "failed":
		return false
	}
	return true
}

// escalationAction runs the officer's forms: filing reference (manual
// filing), follow-up question and answer, a step taken, closing.
func (s *Server) escalationAction(w http.ResponseWriter, r *http.Request, v *view) {
	id, f, ctx := r.PathValue("id"), r.PostFormValue, v.rpc(r.Context())
	api := s.c.Escalation
	var err error
	switch r.PathValue("action") {
	case "filing":
		_, err = api.RecordFiling(ctx, &escalationv1.RecordFilingRequest{EscalationId: id, Reference: f("reference")})
	case "followup":
		req := &escalationv1.AddFollowUpRequest{EscalationId: id, Question: f("question")}
		if due, perr := time.Parse("2006-01-02", f("due")); perr == nil {
			req.DueAt = timestamppb.New(due.Add(24*time.Hour - time.Second))
		}
		_, err = api.AddFollowUp(ctx, req)
	case "answer":
		_, err = api.AnswerFollowUp(ctx, &escalationv1.AnswerFollowUpRequest{EscalationId: id, FollowUpId: f("follow_up"), Answer: f("answer")})
	case "step":
		_, err = api.RecordStep(ctx, &escalationv1.RecordStepRequest{EscalationId: id, Step: f("step")})
	case "close":
		_, err = api.CloseEscalation(ctx, &escalationv1.CloseEscalationRequest{EscalationId: id})
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	s.finish(w, r, v, err, "/escalations/"+id)
}

// escalationSteps are the measures the law lists (CSL: stop, eliminate,
// keep records, report) plus suspending an account.
func escalationSteps() []string {
	return []string{"stop", "eliminate", "keep_records", "report", "suspend_account"}
}
