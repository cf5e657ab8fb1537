package console

import (
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/uploads"
)

type caseData struct {
	Case        *intakev1.Case
	Due, Ack    string
	DueISO      string
	Risk, Left  string
	Timeline    []*intakev1.TimelineEntry
	Revealed    *intakev1.Complainant
	Messages    []*intakev1.CaseMessage
	Attachments *intakev1.ListAttachmentsResponse
	Deletions   []*deletionv1.Deletion
	Escalations []*escalationv1.Escalation
	Reasons     []string
	Rejections  []string
	State       string
	Languages   []i18n.Lang // a complainant's languages, for the language form
	// The actions the service offers on the case (its allowed_actions):
	// the page shows exactly these forms.
	Allows map[string]bool
}

// revealReasons are the reason codes of intakev1.RevealReason, as the
// reveal form offers them ("contact" for REVEAL_REASON_CONTACT).
func revealReasons() []string {
	var out []string
	for i := int32(1); ; i++ {
		name, ok := intakev1.RevealReason_name[i]
		if !ok {
			return out
		}
		out = append(out, strings.ToLower(strings.TrimPrefix(name, "REVEAL_REASON_")))
	}
}

// loadCase reads everything the case page shows through the services, as
// the signed-in person: the case, its messages, attachments and timeline.
func (s *Server) loadCase(w http.ResponseWriter, r *http.Request, v *view) (*caseData, bool) {
	ctx, id := v.rpc(r.Context()), r.PathValue("id")
	resp, err := s.c.Intake.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: id})
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	c := resp.GetCase()
	d := &caseData{Case: c, Reasons: revealReasons(), State: c.GetState().String(), Languages: i18n.Langs, Allows: map[string]bool{}}
	for _, a := range c.GetAllowedActions() {
		d.Allows[a] = true
	}
	for i := int32(1); i <= 6; i++ {
		d.Rejections = append(d.Rejections, intakev1.RejectionReason(i).String())
	}
	if dl := c.GetResolution(); dl.GetDueAt() != nil {
		due := dl.GetDueAt().AsTime()
		d.Due, d.DueISO = legalTimeOf(v.Lang, due), due.UTC().Format(time.RFC3339)
		d.Risk, d.Left = risk(s.c.Now(), due, c.GetOverdue())
	}
	if dl := c.GetAcknowledgement(); dl.GetDueAt() != nil {
		d.Ack = legalTimeOf(v.Lang, dl.GetDueAt().AsTime()) + translate(v.Lang, "paren.open") + term(v.Lang, "dstatus", dl.GetStatus()) + translate(v.Lang, "paren.close")
	}
	d.Deletions, d.Escalations = s.linked(r, v, c.GetId())
	msgs, err := s.c.CaseFile.ListCaseMessages(ctx, &intakev1.ListCaseMessagesRequest{CaseId: c.GetId()})
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	d.Messages = msgs.GetMessages()
	if d.Attachments, err = s.c.CaseFile.ListAttachments(ctx, &intakev1.ListAttachmentsRequest{CaseId: c.GetId()}); err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	tl, err := s.c.CaseFile.ListCaseTimeline(ctx, &intakev1.ListCaseTimelineRequest{CaseId: c.GetId()})
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	d.Timeline = tl.GetEntries()
	return d, true
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, v *view) {
	d, ok := s.loadCase(w, r, v)
	if !ok {
		return
	}
	v.Title, v.Data = d.Case.GetCaseNumber(), d
	v.Flash = flash(r, v.Lang)
	s.render(w, http.StatusOK, "case", v, "")
}

func flash(r *http.Request, lang string) string {
	if r.URL.Query().Get("done") != "" {
		return translate(lang, "done")
	}
	return ""
}

// reveal shows the complainant's personal data unmasked, once, to a role
// holding case.reveal, with a reason code; the service writes the audit
// entry in the transaction that reads the data, so no reveal goes
// unrecorded, and refuses a missing or unknown reason.
func (s *Server) reveal(w http.ResponseWriter, r *http.Request, v *view) {
	reason := intakev1.RevealReason_value["REVEAL_REASON_"+strings.ToUpper(r.PostFormValue("reason"))]
	resp, err := s.c.CaseFile.RevealComplainant(v.rpc(r.Context()), &intakev1.RevealComplainantRequest{
		CaseId: r.PathValue("id"), Reason: intakev1.RevealReason(reason)})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d, ok := s.loadCase(w, r, v) // the timeline now holds the reveal
	if !ok {
		return
	}
	d.Revealed = resp.GetComplainant()
	v.Title, v.Data = d.Case.GetCaseNumber(), d
	s.render(w, http.StatusOK, "case", v, "")
}

// attachment sends one attachment's content as a download. It is a POST
// (with the CSRF token): the service audits every download, and a link on
// another site must not make one in the agent's name.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, v *view) {
	resp, err := s.c.CaseFile.DownloadAttachment(v.rpc(r.Context()), &intakev1.DownloadAttachmentRequest{
		CaseId: r.PathValue("id"), AttachmentId: r.PathValue("attachment")})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	a := resp.GetAttachment()
	ct := a.GetContentType()
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		ct = "application/octet-stream"
	}
	name := path.Base("/" + a.GetFileName())
	if name == "/" {
		name = "attachment"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Length", strconv.Itoa(len(resp.GetContent())))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp.GetContent())
}

// caseAction runs one lifecycle form through IntakeService; the action
// names are those of allowed_actions. The service decides; the console only
// shows the forms it offers.
func (s *Server) caseAction(w http.ResponseWriter, r *http.Request, v *view) {
	id, f := r.PathValue("id"), r.PostFormValue
	ctx := v.rpc(r.Context())
	api := s.c.Intake
	var err error
	switch r.PathValue("action") {
	case "note":
		_, err = api.AddNote(ctx, &intakev1.AddNoteRequest{CaseId: id, Body: f("body")})
	case "reply":
		_, err = api.ReplyToComplainant(ctx, &intakev1.ReplyToComplainantRequest{CaseId: id, Body: f("body")})
	case "accept":
		_, err = api.AcceptCase(ctx, &intakev1.AcceptCaseRequest{CaseId: id})
	case "reject":
		_, err = api.RejectCase(ctx, rejectRequest(id, f("reason"), f("body")))
	case "assign":
		_, err = api.AssignCase(ctx, &intakev1.AssignCaseRequest{CaseId: id, Assignee: f("assignee")})
	case "request_information":
		_, err = api.RequestInformation(ctx, &intakev1.RequestInformationRequest{CaseId: id, Question: f("body")})
	case "complainant_replied":
		_, err = api.RecordComplainantResponse(ctx, &intakev1.RecordComplainantResponseRequest{CaseId: id, Body: f("body")})
	case "resolve":
		_, err = api.ResolveCase(ctx, &intakev1.ResolveCaseRequest{CaseId: id, Feedback: f("body")})
	case "close":
		_, err = api.CloseCase(ctx, &intakev1.CloseCaseRequest{CaseId: id})
	case "reopen":
		_, err = api.ReopenCase(ctx, &intakev1.ReopenCaseRequest{CaseId: id, Reason: f("body")})
	case "merge":
		_, err = api.MergeCase(ctx, &intakev1.MergeCaseRequest{CaseId: id, PrimaryCaseId: f("primary")})
	case "language":
		_, err = api.SetCaseLanguage(ctx, &intakev1.SetCaseLanguageRequest{CaseId: id, Language: f("language")})
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	s.finish(w, r, v, err, "/cases/"+id)
}

func rejectRequest(id, reason, text string) *intakev1.RejectCaseRequest {
	req := &intakev1.RejectCaseRequest{CaseId: id, Text: text}
	if v, ok := intakev1.RejectionReason_value[reason]; ok {
		req.Reason = intakev1.RejectionReason(v)
	}
	return req
}

// addAttachments adds an agent's files to the case through CaseFileService,
// which checks them as a submission's, seals them and audits each.
func (s *Server) addAttachments(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if r.MultipartForm == nil {
		s.render(w, http.StatusBadRequest, "message", v, "bad_request")
		return
	}
	defer func() {
		if err := r.MultipartForm.RemoveAll(); err != nil {
			s.c.Log.Error("console: remove spooled upload", "err", err)
		}
	}()
	files, ok := uploads.Read(r.MultipartForm.File["file"])
	if !ok {
		s.render(w, http.StatusBadRequest, "message", v, "bad_request")
		return
	}
	_, err := s.c.CaseFile.AddAttachments(v.rpc(r.Context()), &intakev1.AddAttachmentsRequest{CaseId: id, Attachments: files})
	s.finish(w, r, v, err, "/cases/"+id)
}
