package console

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/uploads"
	"github.com/redress/redress/services/internal/validation"
)

// An agent takes a complaint on the phone and files it here with every
// intake field, including the leaked data type and source that incident
// detection clusters on. The form goes to IntakeService.SubmitComplaint with
// the agent's credential; the idempotency key is drawn when the form is
// shown, so a double submit (or a reload of the answer) files one case.
// The agent picks the channel (phone, or counter for a visit in person) and
// the complainant's language, which chooses the language of every notice.
// Evidence brought to the counter or sent by the caller goes with the form
// as the submission's attachments, checked by intake as the public form's.

type newCaseData struct {
	Form         url.Values
	Key          string
	Kinds        []string
	Channels     []string
	Languages    []i18n.Lang
	Categories   []string
	SubjectTypes []string
	Errs         map[string]string // field → reason, from the service's field violations
	FileErrs     []string          // what was wrong with the files, in words
	Done         *intakev1.SubmitComplaintResponse
}

func newCaseForm(form url.Values, key string) *newCaseData {
	d := &newCaseData{Form: form, Key: key, Kinds: []string{"CASE_KIND_COMPLAINT", "CASE_KIND_REPORT"},
		Channels: agentChannels, Languages: i18n.Langs, Errs: map[string]string{}}
	for i := int32(1); intakev1.Category_name[i] != ""; i++ {
		d.Categories = append(d.Categories, intakev1.Category_name[i])
	}
	for i := int32(1); intakev1.SubjectType_name[i] != ""; i++ {
		d.SubjectTypes = append(d.SubjectTypes, intakev1.SubjectType_name[i])
	}
	return d
}

// agentChannels are the channels a case filed by an agent arrives by.
var agentChannels = []string{"CHANNEL_PHONE", "CHANNEL_COUNTER"}

func (s *Server) newCasePage(w http.ResponseWriter, r *http.Request, v *view) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s.renderNewCase(w, v, http.StatusOK, newCaseForm(url.Values{}, "console-"+hex.EncodeToString(b)))
}

func (s *Server) renderNewCase(w http.ResponseWriter, v *view, code int, d *newCaseData) {
	v.Title, v.Data = translate(v.Lang, "newcase"), d
	s.render(w, code, "newcase", v, "")
}

func (s *Server) submitNewCase(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostFormValue
	d := newCaseForm(r.PostForm, f("idempotency_key"))
	var files []*intakev1.AttachmentUpload
	if r.MultipartForm != nil { // the page's form; a form without files may come URL-encoded
		defer func() {
			if err := r.MultipartForm.RemoveAll(); err != nil {
				s.c.Log.Error("console: remove spooled upload", "err", err)
			}
		}()
		var ok bool
		if files, ok = uploads.Read(r.MultipartForm.File["file"]); !ok {
			d.FileErrs = []string{translate(v.Lang, "upload.unread")}
			s.renderNewCase(w, v, http.StatusBadRequest, d)
			return
		}
	}
	req := &intakev1.SubmitComplaintRequest{
		IdempotencyKey: d.Key,
		Kind:           intakev1.CaseKind(intakev1.CaseKind_value[f("kind")]),
		Category:       intakev1.Category(intakev1.Category_value[f("category")]),
		Channel:        intakev1.Channel_CHANNEL_PHONE,
		Language:       f("language"),
		Complainant: &intakev1.Complainant{Name: strings.TrimSpace(f("name")), Phone: strings.TrimSpace(f("phone")),
			Email: strings.TrimSpace(f("email")), IdNumber: strings.TrimSpace(f("id_number")), PreferredContact: f("preferred_contact")},
		Description: strings.TrimSpace(f("description")),
		Attachments: files,
	}
	if slices.Contains(agentChannels, f("channel")) {
		req.Channel = intakev1.Channel(intakev1.Channel_value[f("channel")])
	}
	subject := &intakev1.Subject{Type: intakev1.SubjectType(intakev1.SubjectType_value[f("subject_type")]),
		Value: strings.TrimSpace(f("subject_value")), LeakedDataType: strings.TrimSpace(f("leaked_data_type")),
		LeakSource: strings.TrimSpace(f("leak_source"))}
	if subject.Type != 0 || subject.Value != "" || subject.LeakedDataType != "" || subject.LeakSource != "" {
		req.Subject = subject
	}
	// A file name that is not UTF-8 cannot go on the wire: it is refused
	// as intake refuses a bad field.
	var resp *intakev1.SubmitComplaintResponse
	var bad validation.Errors
	bad.UTF8(req)
	err := bad.Err()
	if err == nil {
		resp, err = s.c.Intake.SubmitComplaint(v.rpc(r.Context()), req)
	}
	if err != nil {
		if st, _ := status.FromError(err); st.Code() == codes.InvalidArgument {
			fieldErrors(d.Errs, st)
			d.FileErrs = fileErrors(v.Lang, st)
		}
		if code := formError(v, err); code != 0 {
			s.renderNewCase(w, v, code, d)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	// The answer is shown here rather than after a redirect: the lookup code
	// exists only in this response and is read out to the complainant now;
	// submitting again replays the same case.
	d.Done = resp
	s.renderNewCase(w, v, http.StatusOK, d)
}

// fieldErrors collects the service's field violations by field name.
func fieldErrors(into map[string]string, st *status.Status) {
	for _, det := range st.Details() {
		if br, ok := det.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if prev := into[fv.GetField()]; prev != "" {
					into[fv.GetField()] = prev + "; " + fv.GetDescription()
				} else {
					into[fv.GetField()] = fv.GetDescription()
				}
			}
		}
	}
}

var attachmentField = regexp.MustCompile(`^attachments(?:\[(\d+)\](?:\.(file_name|content_type|content))?)?$`)

// fileErrors are intake's violations of the files in words for the agent
// (as the public form's), each once.
func fileErrors(lang string, st *status.Status) []string {
	var out []string
	for _, det := range st.Details() {
		br, ok := det.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, fv := range br.GetFieldViolations() {
			m := attachmentField.FindStringSubmatch(fv.GetField())
			if m == nil {
				continue
			}
			text := translate(lang, "upload.attachments")
			if m[1] != "" {
				n, _ := strconv.Atoi(m[1])
				key := "upload.attachment"
				if m[2] != "" {
					key += "." + m[2]
				}
				text = fmt.Sprintf(translate(lang, key), n+1)
			}
			if !slices.Contains(out, text) {
				out = append(out, text)
			}
		}
	}
	return out
}
