package intake

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/validation"
)

// Limits on what a submission may carry.
const (
	maxDescription     = 10000
	maxAttachments     = 5
	maxAttachmentBytes = 2 << 20
	maxTotalAttachment = 8 << 20
	maxFileName        = 200
)

// allowedAttachmentTypes maps declared content types to the type the content
// must sniff as ("" = any text-like content is accepted).
var allowedAttachmentTypes = map[string]string{
	"image/png":       "image/png",
	"image/jpeg":      "image/jpeg",
	"application/pdf": "application/pdf",
	"text/plain":      "text/plain; charset=utf-8",
}

var (
	idNumberPattern = regexp.MustCompile(`^[0-9A-Za-z]{6,32}$`)
	dataTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	fileNamePattern = regexp.MustCompile(`^[^/\\\x00-\x1f]+$`)
)

// validateSubmit checks a submission and names every bad field.
func validateSubmit(req *intakev1.SubmitComplaintRequest, now time.Time, packs []string) error {
	var e validation.Errors
	// Text that is not UTF-8 would make PostgreSQL refuse the whole group
	// commit it joins: refuse it here, naming the field, before anything else.
	if e.UTF8(req); !e.Empty() {
		return e.Err()
	}
	e.IdempotencyKey("idempotency_key", req.GetIdempotencyKey())
	if _, ok := intakev1.CaseKind_name[int32(req.GetKind())]; !ok || req.GetKind() == 0 {
		e.Add("kind", "is required: complaint or report")
	}
	if _, ok := intakev1.Category_name[int32(req.GetCategory())]; !ok || req.GetCategory() == 0 {
		e.Add("category", "is required and must be a known category")
	}
	if _, ok := intakev1.Channel_name[int32(req.GetChannel())]; !ok || req.GetChannel() == 0 {
		e.Add("channel", "is required and must be a known channel")
	}
	referral := req.GetChannel() == intakev1.Channel_CHANNEL_REGULATOR_REFERRAL
	_, knownBody := intakev1.ReferringBody_name[int32(req.GetReferringBody())]
	switch {
	case !knownBody:
		e.Add("referring_body", "must be a known referring body")
	case referral && req.GetReferringBody() == 0:
		e.Add("referring_body", "is required when channel is regulator_referral")
	case !referral && req.GetReferringBody() != 0:
		e.Add("referring_body", "is only allowed when channel is regulator_referral")
	}
	if req.RegulatorDueAt != nil {
		switch {
		case !referral:
			e.Add("regulator_due_at", "is only allowed when channel is regulator_referral")
		case req.RegulatorDueAt.CheckValid() != nil:
			e.Add("regulator_due_at", "is not a valid time")
		case !req.RegulatorDueAt.AsTime().After(now):
			e.Add("regulator_due_at", "must be in the future")
		case req.RegulatorDueAt.AsTime().After(now.AddDate(1, 0, 0)):
			e.Add("regulator_due_at", "must be within a year")
		}
	}
	if l := req.GetLanguage(); l != "" && languageOf(l) == "" {
		e.Add("language", "must be zh or en (a tag such as zh-CN or en-GB is accepted)")
	}
	if id := req.GetSourceMessageId(); id != "" {
		if req.GetChannel() != intakev1.Channel_CHANNEL_EMAIL {
			e.Add("source_message_id", "is only allowed when channel is email")
		}
		e.Text("source_message_id", id, 3, 998)
	}
	validateComplainant(&e, req.GetComplainant())
	if s := req.GetSubject(); s != nil {
		if _, ok := intakev1.SubjectType_name[int32(s.GetType())]; !ok {
			e.Add("subject.type", "must be a known subject type")
		}
		if s.GetValue() != "" || s.GetType() != 0 {
			e.Text("subject.value", s.GetValue(), 1, 2000)
		}
		if s.GetLeakedDataType() != "" && !dataTypePattern.MatchString(s.GetLeakedDataType()) {
			e.Add("subject.leaked_data_type", "must be a short lower-case code such as phone or id_number")
		}
		e.Text("subject.leak_source", s.GetLeakSource(), 0, 200)
	}
	e.Text("description", req.GetDescription(), 1, maxDescription)
	validateAttachments(&e, req.GetAttachments())
	if p := req.GetPolicyPack(); p != "" && !contains(packs, p) {
		e.Addf("policy_pack", "must be one of %s", strings.Join(packs, ", "))
	}
	return e.Err()
}

func validateComplainant(e *validation.Errors, c *intakev1.Complainant) {
	if c == nil {
		e.Add("complainant", "is required: at least a phone number or an email address to answer to")
		return
	}
	e.Text("complainant.name", c.GetName(), 0, 100)
	e.Phone("complainant.phone", c.GetPhone())
	e.Email("complainant.email", c.GetEmail())
	if c.GetPhone() == "" && c.GetEmail() == "" {
		e.Add("complainant", "needs a phone number or an email address to answer to")
	}
	if id := c.GetIdNumber(); id != "" && !idNumberPattern.MatchString(id) {
		e.Add("complainant.id_number", "must be 6 to 32 letters or digits")
	}
	switch c.GetPreferredContact() {
	case "":
	case "email":
		if c.GetEmail() == "" {
			e.Add("complainant.preferred_contact", "is email but no email address is given")
		}
	case "sms":
		if c.GetPhone() == "" {
			e.Add("complainant.preferred_contact", "is sms but no phone number is given")
		}
	default:
		e.Add("complainant.preferred_contact", "must be email or sms")
	}
}

func validateAttachments(e *validation.Errors, atts []*intakev1.AttachmentUpload) {
	if len(atts) > maxAttachments {
		e.Addf("attachments", "at most %d attachments", maxAttachments)
		return
	}
	total := 0
	for i, a := range atts {
		field := fmt.Sprintf("attachments[%d]", i)
		total += len(a.GetContent())
		if !fileNamePattern.MatchString(a.GetFileName()) || len(a.GetFileName()) > maxFileName {
			e.Add(field+".file_name", "is required, at most 200 bytes, without path separators or control characters")
		}
		sniffAs, ok := allowedAttachmentTypes[a.GetContentType()]
		switch {
		case !ok:
			e.Add(field+".content_type", "must be one of image/png, image/jpeg, application/pdf, text/plain")
		case len(a.GetContent()) == 0:
			e.Add(field+".content", "is empty")
		case len(a.GetContent()) > maxAttachmentBytes:
			e.Addf(field+".content", "is larger than %d MiB", maxAttachmentBytes>>20)
		case http.DetectContentType(a.GetContent()) != sniffAs:
			e.Addf(field+".content", "does not look like %s", a.GetContentType())
		}
	}
	if total > maxTotalAttachment {
		e.Addf("attachments", "together exceed %d MiB", maxTotalAttachment>>20)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// languageOf maps a language tag to the complainant languages Redress
// writes in: "" → "zh" (the operator's), zh-* → "zh", en-* → "en", anything
// else → "" (refused).
func languageOf(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(strings.ReplaceAll(tag, "_", "-"))), "-")
	switch base {
	case "", "zh":
		return "zh"
	case "en":
		return "en"
	}
	return ""
}
