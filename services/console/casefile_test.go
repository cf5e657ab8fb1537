package console

import (
	"context"
	"io"
	"net/http"
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
