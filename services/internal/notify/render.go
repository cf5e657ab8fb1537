package notify

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/workflows/policy"
)

// Rejection reason codes (the intake API's RejectionReason, lower case).
const (
	ReasonOutOfScope              = "out_of_scope"
	ReasonInsufficientInformation = "insufficient_information"
	ReasonNotOurService           = "not_our_service"
	ReasonAbusive                 = "abusive"
	ReasonAlreadyHandled          = "already_handled"
	ReasonIdentityNotVerified     = "identity_not_verified"
)

// reasons is the text told to the complainant for each rejection reason
// (PIPL Art. 50: a refusal gives its reasons).
var reasons = map[string]map[string]string{
	ReasonOutOfScope: {
		LangZH: "所反映的事项不属于本渠道的受理范围。",
		LangEN: "The matter is outside what this complaint channel handles.",
	},
	ReasonInsufficientInformation: {
		LangZH: "投诉信息不足，我们无法核实或处理所反映的问题。",
		LangEN: "The complaint does not give enough information for us to identify or look into the matter.",
	},
	ReasonNotOurService: {
		LangZH: "所涉及的号码、账号或服务不是由我们提供或运营的。",
		LangEN: "The number, account or service concerned is not provided or operated by us.",
	},
	ReasonAbusive: {
		LangZH: "投诉内容含有辱骂、骚扰等不当内容，或属于滥用投诉渠道。",
		LangEN: "The complaint contains abusive or harassing content, or misuses the complaint channel.",
	},
	ReasonAlreadyHandled: {
		LangZH: "同一事项已在此前的案件中处理完毕。",
		LangEN: "The same matter has already been handled in an earlier case.",
	},
	ReasonIdentityNotVerified: {
		LangZH: "我们无法核实您的身份，而处理涉及个人信息的请求需要先核实身份。",
		LangEN: "We could not verify your identity, which we must do before acting on a request about personal information.",
	},
}

// genericReason stands in for a code this package does not know, when the
// notice explains the refusal in its body.
var genericReason = map[string]string{
	LangZH: "详见下方说明。",
	LangEN: "See the explanation below.",
}

// ReasonCodes lists the rejection reason codes this package can explain.
func ReasonCodes() []string {
	return []string{ReasonOutOfScope, ReasonInsufficientInformation, ReasonNotOurService,
		ReasonAbusive, ReasonAlreadyHandled, ReasonIdentityNotVerified}
}

// ReasonText is the complainant-facing text of a rejection reason code in
// the language ("en" or anything else for Chinese).
func ReasonText(code, lang string) (string, bool) {
	t, ok := reasons[code]
	if !ok {
		return "", false
	}
	return t[language(lang)], true
}

// SMSMaxChars bounds an SMS text, in characters (runes).
const SMSMaxChars = 300

//go:embed templates
var templateFS embed.FS

// templates holds one template set per language and kind, each defining
// "subject", "email" and "sms".
var templates = func() map[string]map[string]*template.Template {
	out := map[string]map[string]*template.Template{}
	for _, lang := range []string{LangZH, LangEN} {
		out[lang] = map[string]*template.Template{}
		for _, kind := range Kinds {
			t := template.Must(template.New(kind).Option("missingkey=error").ParseFS(templateFS,
				"templates/"+lang+"/common.tmpl", "templates/"+lang+"/"+kind+".tmpl"))
			for _, name := range []string{"subject", "email", "sms"} {
				if t.Lookup(name) == nil {
					panic(fmt.Sprintf("notify: template %s/%s lacks %q", lang, kind, name))
				}
			}
			out[lang][kind] = t
		}
	}
	return out
}()

// view is what the templates see.
type view struct {
	CaseNumber, LookupCode string
	AckDue, ResolutionDue  string // as the law counts them (i18n.Clock), "" when unset
	Zone                   string // the zone they are in, named in the notice's language
	Body                   string
	Reason                 string // rejection: the text of the reason code
	Citation               string
}

// rendered is a notice in words.
type rendered struct {
	Lang    string
	Subject string
	Email   string // plain text, LF line ends
	SMS     string // one paragraph, under SMSMaxChars
}

func language(l string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(l)), "en") {
		return LangEN
	}
	return LangZH
}

// FormatDeadline shows a deadline in the operator's zone as the law counts
// it, "2006-01-02 15:04" with a period ending at midnight as 24:00 of its last
// day; "" for zero. The notice names the zone once.
func FormatDeadline(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return i18n.Clock(t)
}

// render checks a notice and puts it in words. An invalid notice is a
// permanent error: sending it again will not make it valid.
func render(n Notice) (rendered, error) {
	lang := language(n.Language)
	t, ok := templates[lang][n.Kind]
	if !ok {
		return rendered{}, permanentf("invalid notice: unknown kind %q", n.Kind)
	}
	if strings.TrimSpace(n.CaseNumber) == "" {
		return rendered{}, permanentf("invalid %s notice: no case number", n.Kind)
	}
	v := view{
		CaseNumber: strings.TrimSpace(n.CaseNumber), LookupCode: strings.TrimSpace(n.LookupCode),
		AckDue: FormatDeadline(n.AckDueAt), ResolutionDue: FormatDeadline(n.ResolutionDueAt), Zone: i18n.ZoneName(i18n.Lang(lang)),
		Body: strings.TrimSpace(normaliseNewlines(n.Body)), Citation: policy.CitationIn(strings.TrimSpace(n.Citation), lang),
	}
	switch n.Kind {
	case KindRejection:
		if text, ok := ReasonText(n.ReasonCode, lang); ok {
			v.Reason = text
		} else if v.Body != "" {
			v.Reason = genericReason[lang]
		} else {
			return rendered{}, permanentf("invalid rejection notice: no reason (code %q, no explanation)", n.ReasonCode)
		}
	case KindResult, KindReply, KindInformationRequest:
		if v.Body == "" {
			return rendered{}, permanentf("invalid %s notice: no text", n.Kind)
		}
	}
	out := rendered{Lang: lang}
	var err error
	if out.Subject, err = execute(t, "subject", v); err != nil {
		return rendered{}, err
	}
	out.Subject = strings.Join(strings.Fields(out.Subject), " ")
	if out.Email, err = execute(t, "email", v); err != nil {
		return rendered{}, err
	}
	out.Email = tidyText(out.Email)
	if out.SMS, err = renderSMS(t, v, lang); err != nil {
		return rendered{}, err
	}
	return out, nil
}

func execute(t *template.Template, name string, v view) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		// A template bug, not a property of this notice: no text in the error.
		return "", temporaryf("template %s/%s failed", t.Name(), name)
	}
	return b.String(), nil
}

// renderSMS renders the short text on one paragraph, shortening the body
// (with an ellipsis) until the whole text is under SMSMaxChars.
func renderSMS(t *template.Template, v view, lang string) (string, error) {
	body := []rune(smsBody(v.Body, lang))
	sep := " "
	if lang == LangZH {
		sep = ""
	}
	for {
		v.Body = string(body)
		s, err := execute(t, "sms", v)
		if err != nil {
			return "", err
		}
		s = joinLines(s, sep)
		over := utf8.RuneCountInString(s) - (SMSMaxChars - 1)
		if over <= 0 {
			return s, nil
		}
		if len(body) <= 2 {
			// Nothing left to shorten: cut the text itself.
			return string([]rune(s)[:SMSMaxChars-1]), nil
		}
		// One rune for the ellipsis; over >= 1 makes the body strictly shorter.
		keep := max(len(body)-over-1, 1)
		body = append([]rune(strings.TrimRightFunc(string(body[:keep]), unicode.IsSpace)), '…')
	}
}

// smsBody puts the body on one line and closes it with a full stop.
func smsBody(body, lang string) string {
	body = strings.Join(strings.Fields(body), " ")
	if body == "" {
		return ""
	}
	last, _ := utf8.DecodeLastRuneInString(body)
	if strings.ContainsRune(".!?。！？…", last) {
		return body
	}
	if lang == LangZH {
		return body + "。"
	}
	return body + "."
}

// joinLines trims each line, drops empty ones and joins the rest with sep.
func joinLines(s, sep string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, sep)
}

func normaliseNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// tidyText trims trailing space from each line, keeps at most one blank line
// in a row, and trims the text.
func tidyText(s string) string {
	var b strings.Builder
	blank := 0
	for _, l := range strings.Split(normaliseNewlines(s), "\n") {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
			if blank > 0 {
				b.WriteString("\n")
			}
		}
		blank = 0
		b.WriteString(l)
	}
	return b.String() + "\n"
}
