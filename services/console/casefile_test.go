package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
)

var actionButton = regexp.MustCompile(`id="action-([a-z_]+)"`)

// buttons lists the case actions a page offers, in page order.
func buttons(page string) []string {
	var out []string
	for _, m := range actionButton.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// as answers a context whose calls carry a fresh credential of username.
func (e *Env) as(t *testing.T, username string) context.Context {
	t.Helper()
	secret, _, err := e.Store.IssueToken(context.Background(), username, username, "test", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
}

// In every state, the case page offers exactly the actions GetCase allows
// the person (the complaint workflow's table, narrowed by the role): none
// the workflow would refuse, none it would take left out.
func TestCasePageOffersExactlyTheAllowedActions(t *testing.T) {
	e := newEnv(t)
	cs := e.Submit(t, "console-actions-01", "Loan spam every morning.")
	people := map[string]*client{}
	for _, u := range []string{"agent.li", "sup.wang", "admin"} {
		people[u] = e.client(t)
		people[u].signIn(u, testPassword)
	}
	states := []string{complaint.StateReceived, complaint.StateAccepted, complaint.StateInProgress, complaint.StateAwaitingComplainant,
		complaint.StateResolved, complaint.StateReopened, complaint.StateRejected, complaint.StateClosed, complaint.StateMerged}
	for _, st := range states {
		if err := e.DB.Model(&records.Case{}).Where("id = ?", cs.GetId()).Update("state", st).Error; err != nil {
			t.Fatal(err)
		}
		for u, c := range people {
			got, err := e.API.GetCase(e.as(t, u), &intakev1.GetCaseRequest{CaseId: cs.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			allowed := got.GetCase().GetAllowedActions()
			code, page := c.get("/cases/" + cs.GetId())
			shown := buttons(page)
			slices.Sort(shown)
			want := slices.Sorted(slices.Values(allowed))
			if code != http.StatusOK || !slices.Equal(shown, want) {
				t.Errorf("%s on a %s case: page offers %v, the service allows %v", u, st, shown, want)
			}
			// The supervisor holds every case permission: the whole table.
			if u == "sup.wang" && !slices.Equal(allowed, complaint.State(st).Actions()) {
				t.Errorf("supervisor on a %s case is allowed %v, the workflow's table says %v", st, allowed, complaint.State(st).Actions())
			}
		}
	}
	// The drift this replaces: assigning a received case, which the
	// workflow refuses, is not offered; replying to it, which it takes, is.
	if err := e.DB.Model(&records.Case{}).Where("id = ?", cs.GetId()).Update("state", complaint.StateReceived).Error; err != nil {
		t.Fatal(err)
	}
	if _, page := people["sup.wang"].get("/cases/" + cs.GetId()); strings.Contains(page, `id="action-assign"`) || !strings.Contains(page, `id="action-reply"`) {
		t.Errorf("received case offers %v", buttons(page))
	}
}

// Attachments are listed on the case page; those holding case.reveal
// download them through the service, which audits each download.
func TestCasePageAttachments(t *testing.T) {
	e := newEnv(t)
	content := []byte("Screenshot transcript: loan offer from 10690000001.\n")
	resp, err := e.API.SubmitComplaint(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.token),
		&intakev1.SubmitComplaintRequest{
			IdempotencyKey: "console-attach-01", Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT, Category: intakev1.Category_CATEGORY_SPAM_SMS,
			Channel: intakev1.Channel_CHANNEL_WEB_FORM, Description: "Spam with evidence.",
			Complainant: &intakev1.Complainant{Name: seeded[2], Phone: "+86" + seeded[0], Email: seeded[1]},
			Attachments: []*intakev1.AttachmentUpload{{FileName: "sms transcript.txt", ContentType: "text/plain", Content: content}},
		})
	if err != nil {
		t.Fatal(err)
	}
	cs := resp.GetCase()
	att := cs.GetAttachments()[0].GetId()
	agent := e.client(t)
	agent.signIn("agent.li", testPassword)
	_, page := agent.get("/cases/" + cs.GetId())
	if !strings.Contains(page, `id="attachments"`) || !strings.Contains(page, "sms transcript.txt") || !strings.Contains(page, `id="download-`+att+`"`) {
		t.Fatalf("agent's case page lacks the attachment or its download:\n%s", page)
	}
	path := "/cases/" + cs.GetId() + "/attachments/" + att
	if code, _ := agent.post(path, url.Values{}); code != http.StatusForbidden {
		t.Fatalf("download without the CSRF token: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(url.Values{"csrf": {csrfOf(t, page)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr, err := agent.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(hr.Body)
	_ = hr.Body.Close()
	if err != nil || hr.StatusCode != http.StatusOK || string(body) != string(content) ||
		hr.Header.Get("Content-Disposition") != `attachment; filename="sms transcript.txt"` || hr.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("download: %d %q %v %v", hr.StatusCode, body, hr.Header, err)
	}
	recs, err := audit.ForObject(context.Background(), e.DB, "case", cs.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Action != "attachment.downloaded" || last.Actor != "agent.li" || last.Details["attachment_id"] != att {
		t.Fatalf("no audit entry for the download: %+v", last)
	}

	// An administrator sees that there is an attachment, not its content.
	admin := e.client(t)
	admin.signIn("admin", testPassword)
	_, apage := admin.get("/cases/" + cs.GetId())
	if !strings.Contains(apage, "sms transcript.txt") || strings.Contains(apage, `id="download-`) {
		t.Fatal("administrator: attachment not listed, or offered for download")
	}
	if code, _ := admin.post(path, url.Values{"csrf": {csrfOf(t, apage)}}); code != http.StatusForbidden {
		t.Fatalf("administrator forcing the download: %d", code)
	}
}

// postFiles posts a multipart form of fields and one file per name→content
// (declared as contentType) to path.
func (c *client) postFiles(path string, fields url.Values, contentType string, files map[string][]byte) (int, string) {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range fields {
		_ = mw.WriteField(k, vs[0])
	}
	for name, content := range files {
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
		h.Set("Content-Type", contentType)
		fw, err := mw.CreatePart(h)
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// An agent adds files from the case page: listed with their hash, audited;
// a file too large or not what it declares is refused with the reason and
// nothing is added; a role without case.note is offered no form and
// refused.
func TestAgentAddsAttachments(t *testing.T) {
	e := newEnv(t)
	cs := e.Submit(t, "console-add-attach-01", "Spam SMS; evidence to follow.")
	agent := e.client(t)
	agent.signIn("agent.li", testPassword)
	path := "/cases/" + cs.GetId()
	_, page := agent.get(path)
	if !strings.Contains(page, `id="add-attachments"`) {
		t.Fatalf("agent's case page offers no way to add files:\n%s", page)
	}
	csrf := url.Values{"csrf": {csrfOf(t, page)}}
	content := []byte("Call log exported from the complainant's phone.\n")
	if code, _ := agent.postFiles(path+"/attachments", csrf, "text/plain", map[string][]byte{"call log.txt": content}); code != http.StatusOK {
		t.Fatalf("add: %d", code) // followed the redirect to the case page
	}
	_, page = agent.get(path)
	sum := sha256.Sum256(content)
	if !strings.Contains(page, "call log.txt") || !strings.Contains(page, hex.EncodeToString(sum[:])) {
		t.Fatalf("the added file is not listed with its hash:\n%s", page)
	}
	recs, err := audit.ForObject(context.Background(), e.DB, "case", cs.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Action != "attachment.added" || last.Actor != "agent.li" || last.Details["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("no audit entry for the added file: %+v", last)
	}
	listed := func() (n int64) {
		if err := e.DB.Model(&records.Attachment{}).Where("case_id = ?", cs.GetId()).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := listed()
	for name, c := range map[string]struct {
		ct      string
		content []byte
		code    int
		want    string
	}{
		"big.txt":  {"text/plain", bytes.Repeat([]byte("a"), 2<<20+1), http.StatusBadRequest, "is larger than 2 MiB"},
		"shot.png": {"image/png", []byte("not a picture"), http.StatusBadRequest, "does not look like image/png"},
		"huge.txt": {"text/plain", bytes.Repeat([]byte("a"), 10<<20), http.StatusRequestEntityTooLarge, translate("en", "too_large")},
	} {
		code, page := agent.postFiles(path+"/attachments", csrf, c.ct, map[string][]byte{name: c.content})
		if code != c.code || !strings.Contains(html.UnescapeString(page), c.want) {
			t.Errorf("%s: %d, want %d saying %q\n%s", name, code, c.code, c.want, page)
		}
	}
	if n := listed(); n != before {
		t.Fatalf("refused files were added: %d attachments, want %d", n, before)
	}

	admin := e.client(t)
	admin.signIn("admin", testPassword)
	_, apage := admin.get(path)
	if strings.Contains(apage, `id="add-attachments"`) {
		t.Fatal("administrator offered to add files")
	}
	if code, _ := admin.postFiles(path+"/attachments", url.Values{"csrf": {csrfOf(t, apage)}}, "text/plain", map[string][]byte{"x.txt": content}); code != http.StatusForbidden {
		t.Fatalf("administrator adding a file: %d, want 403", code)
	}
}
