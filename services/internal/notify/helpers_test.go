package notify_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/notify"
)

const (
	caseNumber = "C-2026-000123"
	lookupCode = "K7P2-QX9M"
	email      = "zhang.san@example.com"
	phone      = "+8613800138000"
	citation   = "App PI Violation Identification Method (2019) §6"
	citationZH = "期限依据：《App违法违规收集使用个人信息行为认定方法》（2019年）第六部分"
)

var (
	ackDue = time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC) // 18:00 in Shanghai
	resDue = time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC) // the end of 31 March in Shanghai
)

// bodies of the kinds that carry one, with a word the tests look for.
var bodies = map[string]string{
	notify.KindRejection:          "The number 1069xxxx belongs to another carrier (explanation).",
	notify.KindResult:             "The sender is blocked and reported to 12321. 发送方已被封停。",
	notify.KindReply:              "We are checking the call records (reply).",
	notify.KindInformationRequest: "Which number sends the SMS? (question)",
}

func sampleNotice(kind, lang string) notify.Notice {
	n := notify.Notice{Kind: kind, Language: lang, CaseNumber: caseNumber, DedupeKey: kind + "/1f0c-case"}
	switch kind {
	case notify.KindAcknowledgement:
		n.LookupCode, n.AckDueAt, n.ResolutionDueAt, n.Citation = lookupCode, ackDue, resDue, citation
	case notify.KindRejection:
		n.ReasonCode = notify.ReasonNotOurService
		n.Body = bodies[kind]
	default:
		n.Body = bodies[kind]
	}
	return n
}

// wantText is what a notice of the kind must say, in the language.
func wantText(t *testing.T, kind, lang string) []string {
	t.Helper()
	want := []string{caseNumber}
	switch kind {
	case notify.KindAcknowledgement:
		// A period that ends at midnight reads as 24:00 of its last day.
		want = append(want, lookupCode, "2026-03-10 18:00", "2026-03-31 24:00", map[string]string{"zh": "北京时间", "en": "Beijing time"}[lang])
	case notify.KindRejection:
		reason, ok := notify.ReasonText(notify.ReasonNotOurService, lang)
		if !ok {
			t.Fatal("no reason text")
		}
		want = append(want, reason, "12321", "12377", "12300")
	default:
		want = append(want, bodies[kind])
	}
	return want
}

// wantEmailText adds what only the long (email) text carries.
func wantEmailText(t *testing.T, kind, lang string) []string {
	want := wantText(t, kind, lang)
	switch kind {
	case notify.KindAcknowledgement:
		if lang == notify.LangEN {
			want = append(want, citation)
		} else {
			want = append(want, citationZH)
		}
	case notify.KindRejection:
		want = append(want, bodies[kind], "www.12321.cn", "www.12377.cn", "appeal.miit.gov.cn")
		if lang == notify.LangEN {
			want = append(want, "lawsuit", "Cyberspace Administration of China", "MIIT")
		} else {
			want = append(want, "向人民法院提起诉讼", "国家网信部门", "工业和信息化部")
		}
	}
	return want
}

// parsed is an email taken apart with net/mail and mime only.
type parsed struct {
	Header  mail.Header
	Subject string
	Body    string
}

func parseEmail(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	var r io.Reader
	switch cte := strings.ToLower(m.Header.Get("Content-Transfer-Encoding")); cte {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, m.Body)
	case "quoted-printable":
		r = quotedprintable.NewReader(m.Body)
	default:
		t.Fatalf("content transfer encoding %q", cte)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	return parsed{Header: m.Header, Subject: subject, Body: string(body)}
}

func containsAll(t *testing.T, what, text string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// noPersonalData fails when an error message quotes an address or a text.
func noPersonalData(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append(secrets, email, phone, "13800138000", lookupCode) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains %q", err, s)
		}
	}
}
