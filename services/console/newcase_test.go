package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/records"
)

var (
	idemField  = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)
	createdRef = regexp.MustCompile(`href="/cases/([0-9a-f-]+)" id="case-number">([^<]+)<`)
	lookupRef  = regexp.MustCompile(`id="lookup-code">([^<]+)<`)
)

func (e *Env) caseCount(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := e.DB.Table("cases").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// phoneCaseForm opens the New case page as c (signed in) and fills it: a
// phone complaint about a leak, with the page's CSRF token and key.
func phoneCaseForm(t *testing.T, c *client) url.Values {
	t.Helper()
	code, page := c.get("/cases/new")
	if code != http.StatusOK {
		t.Fatalf("new case page: %d\n%s", code, page)
	}
	m := idemField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no idempotency key in the form:\n%s", page)
	}
	return url.Values{"csrf": {csrfOf(t, page)}, "idempotency_key": {m[1]},
		"kind": {"CASE_KIND_COMPLAINT"}, "category": {"CATEGORY_PERSONAL_INFORMATION_LEAK"},
		"name": {seeded[2]}, "phone": {"+86" + seeded[0]}, "email": {seeded[1]}, "id_number": {seeded[3]},
		"preferred_contact": {"sms"}, "subject_type": {"SUBJECT_TYPE_APP"}, "subject_value": {"Shop app"},
		"leaked_data_type": {"phone"}, "leak_source": {"Shop app partner"},
		"description": {"My number was passed to telemarketers after I registered."}}
}

func TestNewPhoneCase(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	if code, body := c.signIn("agent.li", testPassword); code != http.StatusOK || !strings.Contains(body, `id="nav-newcase"`) {
		t.Fatalf("agent sees no New case link: %d", code)
	}
	form := phoneCaseForm(t, c)
	before := e.caseCount(t)
	code, body := c.post("/cases/new", form)
	m := createdRef.FindStringSubmatch(body)
	lc := lookupRef.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || lc == nil || !strings.Contains(body, `id="ack-due"`) || !strings.Contains(body, `id="resolution-due"`) {
		t.Fatalf("file case: %d\n%s", code, body)
	}
	if strings.Contains(body, `id="ack-due"></span>`) || strings.Contains(body, `id="resolution-due"></span>`) {
		t.Fatalf("a deadline is missing:\n%s", body)
	}
	// The same form posted again (a double click) answers the same case.
	code, again := c.post("/cases/new", form)
	m2 := createdRef.FindStringSubmatch(again)
	if code != http.StatusOK || m2 == nil || m2[1] != m[1] || !strings.Contains(again, `id="replayed"`) {
		t.Fatalf("second submit: %d\n%s", code, again)
	}
	if n := e.caseCount(t); n != before+1 {
		t.Fatalf("cases filed: %d, want 1", n-before)
	}
	k := e.readBack(t, m[1])
	if k.GetCaseNumber() != m[2] || k.GetChannel() != intakev1.Channel_CHANNEL_PHONE || k.GetLanguage() != "zh" ||
		k.GetCategory() != intakev1.Category_CATEGORY_PERSONAL_INFORMATION_LEAK ||
		k.GetSubject().GetLeakedDataType() != "phone" || k.GetSubject().GetLeakSource() != "Shop app partner" ||
		k.GetSubject().GetType() != intakev1.SubjectType_SUBJECT_TYPE_APP {
		t.Fatalf("case read back: %v", k)
	}
	// Personal data goes to the service, never to the logs.
	for _, pi := range seeded {
		if strings.Contains(e.Logs.String(), pi) {
			t.Fatalf("personal data %q in the logs", pi)
		}
	}
}

// readBack reads a case as a supervisor (automation sees only the cases it
// filed).
func (e *Env) readBack(t *testing.T, id string) *intakev1.Case {
	t.Helper()
	tok, _, err := e.Store.IssueToken(context.Background(), "sup.wang", "sup.wang", "read back", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	got, err := e.API.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	return got.GetCase()
}

// A complainant who comes to the counter and speaks English: the case is
// filed with channel counter and language en (which chooses the notices').
func TestNewCounterCaseInEnglish(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.signIn("agent.li", testPassword)
	form := phoneCaseForm(t, c)
	form.Set("channel", "CHANNEL_COUNTER")
	form.Set("language", "en")
	code, body := c.post("/cases/new", form)
	m := createdRef.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("file case: %d\n%s", code, body)
	}
	if k := e.readBack(t, m[1]); k.GetChannel() != intakev1.Channel_CHANNEL_COUNTER || k.GetLanguage() != "en" {
		t.Fatalf("case read back: channel %v language %q", k.GetChannel(), k.GetLanguage())
	}
	// Only an agent's channels are offered; anything else files a phone case.
	form = phoneCaseForm(t, c)
	form.Set("channel", "CHANNEL_REGULATOR_REFERRAL")
	if _, body = c.post("/cases/new", form); createdRef.FindStringSubmatch(body) == nil {
		t.Fatalf("file case:\n%s", body)
	} else if k := e.readBack(t, createdRef.FindStringSubmatch(body)[1]); k.GetChannel() != intakev1.Channel_CHANNEL_PHONE {
		t.Fatalf("channel %v, want phone", k.GetChannel())
	}
}

func TestNewCaseBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.signIn("agent.li", testPassword)
	// The page in Chinese: every label translated.
	if _, zh := c.get("/lang/zh?back=/cases/new"); !strings.Contains(zh, "新建工单") || strings.Contains(zh, "newcase.") || !strings.Contains(zh, ">电话号码<") {
		t.Fatalf("Chinese page:\n%s", zh)
	}
	form := phoneCaseForm(t, c)
	form.Set("description", "")
	form.Set("phone", "12345")
	before := e.caseCount(t)
	code, body := c.post("/cases/new", form)
	if code != http.StatusBadRequest {
		t.Fatalf("bad input: %d\n%s", code, body)
	}
	for _, field := range []string{"description", "complainant.phone"} {
		if !strings.Contains(body, `data-field="`+field+`"`) {
			t.Fatalf("no error next to %s:\n%s", field, body)
		}
	}
	// What was typed is kept, the key too (so the corrected form files once).
	for _, v := range []string{`value="12345"`, `value="Shop app partner"`, `value="` + form.Get("idempotency_key") + `"`} {
		if !strings.Contains(body, v) {
			t.Fatalf("typed value %s not kept:\n%s", v, body)
		}
	}
	if n := e.caseCount(t); n != before {
		t.Fatalf("a refused form filed %d cases", n-before)
	}
}

func TestNewCaseNeedsSubmitPermission(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	_, page := c.signIn("admin", testPassword)
	if strings.Contains(page, `id="nav-newcase"`) {
		t.Fatal("admin is offered New case")
	}
	if code, _ := c.get("/cases/new"); code != http.StatusForbidden {
		t.Fatalf("admin GET /cases/new: %d", code)
	}
	before := e.caseCount(t)
	code, _ := c.post("/cases/new", url.Values{"csrf": {csrfOf(t, page)}, "idempotency_key": {"console-admin-try-1"},
		"kind": {"CASE_KIND_COMPLAINT"}, "category": {"CATEGORY_OTHER"}, "phone": {"+8613800138000"}, "description": {"x"}})
	if code != http.StatusForbidden {
		t.Fatalf("admin POST /cases/new: %d", code)
	}
	if n := e.caseCount(t); n != before {
		t.Fatal("a refused POST filed a case")
	}
}

// An agent changes the complainant's language on the case page: the
// service stores it (and audits it), the page shows it.
func TestCasePageSetsLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.signIn("agent.li", testPassword)
	_, body := c.post("/cases/new", phoneCaseForm(t, c))
	m := createdRef.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("file case:\n%s", body)
	}
	code, page := c.get("/cases/" + m[1])
	if code != http.StatusOK || !strings.Contains(page, `id="language-form"`) {
		t.Fatalf("case page: %d, no language form\n%s", code, page)
	}
	code, page = c.post("/cases/"+m[1]+"/language", url.Values{"csrf": {csrfOf(t, page)}, "language": {"en"}})
	if code != http.StatusOK || !regexp.MustCompile(`id="case-language">English`).MatchString(page) {
		t.Fatalf("set language: %d\n%s", code, page)
	}
	if k := e.readBack(t, m[1]); k.GetLanguage() != "en" {
		t.Fatalf("language %q, want en", k.GetLanguage())
	}
	var audited int64
	e.DB.Raw(`SELECT count(*) FROM audit_entries WHERE action = 'case.language_set' AND object_id = ? AND actor = 'agent.li'`, m[1]).Scan(&audited)
	if audited != 1 {
		t.Fatalf("%d audit entries, want 1", audited)
	}
}

// Evidence brought to the counter goes with the new case: a file that is
// not what it claims is refused with the form's sentence naming it and no
// case is filed; good files are kept with the case, once however often the
// form is sent.
func TestNewCaseWithAttachments(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.signIn("agent.li", testPassword)
	form := phoneCaseForm(t, c)
	form.Set("channel", "CHANNEL_COUNTER")
	before := e.caseCount(t)
	code, page := c.postFiles("/cases/new", form, "image/png", map[string][]byte{"shot.png": []byte("not a picture")})
	if want := fmt.Sprintf(translate("en", "upload.attachment.content"), 1); code != http.StatusBadRequest ||
		!strings.Contains(html.UnescapeString(page), want) || !strings.Contains(page, `id="new-case-files"`) {
		t.Fatalf("a bad file: %d, want 400 saying %q\n%s", code, want, page)
	}
	if n := e.caseCount(t); n != before {
		t.Fatalf("a case was filed with a refused file")
	}
	letter := []byte("Letter from the shop confirming the partner got my number.\n")
	var first string
	for i := range 2 { // the second is a double submit
		code, page = c.postFiles("/cases/new", form, "text/plain", map[string][]byte{"letter.txt": letter})
		m := createdRef.FindStringSubmatch(page)
		if code != http.StatusOK || m == nil {
			t.Fatalf("submit %d: %d\n%s", i+1, code, page)
		}
		if first == "" {
			first = m[1]
		} else if m[1] != first || !strings.Contains(page, `id="replayed"`) {
			t.Fatalf("the double submit filed another case:\n%s", page)
		}
	}
	var atts []records.Attachment
	if err := e.DB.Where("case_id = ?", first).Find(&atts).Error; err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(letter)
	if n := e.caseCount(t); n != before+1 || len(atts) != 1 || hex.EncodeToString(atts[0].SHA256) != hex.EncodeToString(sum[:]) {
		t.Fatalf("cases filed %d, attachments %+v: want one case with the letter", n-before, atts)
	}
	_, casePage := c.get("/cases/" + first)
	if !strings.Contains(casePage, "letter.txt") || !strings.Contains(casePage, hex.EncodeToString(sum[:])) {
		t.Fatalf("the case page does not list the letter with its hash:\n%s", casePage)
	}
}
