package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
)

// pngEvidence is the smallest content that sniffs as a PNG.
var pngEvidence = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)

// publicSubmitAndWait submits on the page after clearing the marker with id
// gone, and waits for the element with id next on the page that follows.
func publicSubmitAndWait(t *testing.T, ctx context.Context, button, next string, fill ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	cget(t, ctx, "clear "+next, chromedp.Evaluate[bool](`(document.getElementById(`+strconv.Quote(next)+`)?.remove(), true)`))
	crun(t, ctx, button, append(fill, chromedp.Click(chromedp.ID(button)), chromedp.WaitVisible(chromedp.ID(next)))...)
}

// The complainant's side end to end, in a browser: a complaint filed on the
// Chinese public page; the agent asks for information; on the status page
// (number and code) the complainant reads the question and answers it — the
// case leaves awaiting_complainant and the clock runs again —, then reads
// the agent's reply and never the internal note; evidence uploaded there is
// refused with a readable sentence when too large or not what it claims,
// writing nothing, and otherwise downloaded by the agent in the console,
// audited.
func TestStatusPageConversationInBrowser(t *testing.T) {
	h := newHarness(t, options{})
	site := publicSite(t, h)
	base := startConsole(t, h)
	ctx := consoleBrowser(t, h, site.URL)

	// File on the Chinese page.
	crun(t, ctx, "complaint form",
		chromedp.Navigate(site.URL+"/complaint?lang=zh"),
		chromedp.WaitVisible(chromedp.ID("submit")),
		chromedp.SetValue(chromedp.ID("category"), "spam_sms"),
		chromedp.SendKeys(chromedp.ID("description"), "自从号码泄露后，每天收到贷款推销短信。"),
		chromedp.SendKeys(chromedp.ID("email"), "wang.fang@example.com"),
		chromedp.Click(chromedp.ID("consent")),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("lookup-code")),
	)
	if lang := cget(t, ctx, "page language", chromedp.Evaluate[string](`document.documentElement.lang`)); !strings.HasPrefix(lang, "zh") {
		t.Fatalf("the form page is in %q, want Chinese", lang)
	}
	number := strings.TrimSpace(cget(t, ctx, "case number", chromedp.Text(chromedp.ID("case-number"))))
	code := strings.TrimSpace(cget(t, ctx, "lookup code", chromedp.Text(chromedp.ID("lookup-code"))))
	var caseID string
	if err := h.db.Model(&records.Case{}).Select("id").Where("case_number = ?", number).Scan(&caseID).Error; err != nil || caseID == "" {
		t.Fatalf("case %s not found: %v", number, err)
	}
	caseState := func() *intakev1.Case {
		got, err := h.api.GetCase(h.as("agent.li"), &intakev1.GetCaseRequest{CaseId: caseID})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetCase()
	}
	h.eventually("workflow started", 30*time.Second, func() bool { return caseState().GetWorkflowStarted() })

	// The agent takes the case, asks for information, and notes something internal.
	agent := h.as("sup.wang")
	if _, err := h.api.AcceptCase(agent, &intakev1.AcceptCaseRequest{CaseId: caseID}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.AssignCase(agent, &intakev1.AssignCaseRequest{CaseId: caseID, Assignee: "agent.li"}); err != nil {
		t.Fatal(err)
	}
	const question, note, reply = "请提供收到的短信截图和发送号码。", "内部备注：发送号码疑似与另一投诉有关", "我们已屏蔽该发送号码。"
	if _, err := h.api.RequestInformation(h.as("agent.li"), &intakev1.RequestInformationRequest{CaseId: caseID, Question: question}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.api.AddNote(h.as("agent.li"), &intakev1.AddNoteRequest{CaseId: caseID, Body: note}); err != nil {
		t.Fatal(err)
	}
	if st := caseState().GetState(); st != intakev1.CaseState_CASE_STATE_AWAITING_COMPLAINANT {
		t.Fatalf("after the request: %v", st)
	}

	// The complainant looks the case up and reads the question.
	lookup := func() {
		t.Helper()
		crun(t, ctx, "look up",
			chromedp.Navigate(site.URL+"/status"),
			chromedp.WaitVisible(chromedp.ID("lookup")),
			chromedp.SendKeys(chromedp.ID("case_number"), number),
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.ID("lookup")),
			chromedp.WaitVisible(chromedp.ID("state")),
		)
	}
	lookup()
	if u := cget(t, ctx, "address", chromedp.Location()); strings.Contains(u, code) {
		t.Fatalf("the lookup code is in the address %s", u)
	}
	if st := cget(t, ctx, "state", chromedp.Text(chromedp.ID("state"))); st != "等待您补充信息" {
		t.Fatalf("state shown %q", st)
	}
	if conv := cget(t, ctx, "conversation", chromedp.Text(chromedp.ID("conversation"))); !strings.Contains(conv, question) {
		t.Fatalf("the question is not shown:\n%s", conv)
	}

	// The answer resumes the clock.
	publicSubmitAndWait(t, ctx, "send-answer", "notice", chromedp.SendKeys(chromedp.ID("answer"), "截图已上传，发送号码是10690000001。"))
	c := caseState()
	if c.GetState() != intakev1.CaseState_CASE_STATE_IN_PROGRESS || c.GetResolution().GetStatus() == "paused" {
		t.Fatalf("after the answer: state %v, resolution deadline %q", c.GetState(), c.GetResolution().GetStatus())
	}
	if _, err := h.api.ReplyToComplainant(h.as("agent.li"), &intakev1.ReplyToComplainantRequest{CaseId: caseID, Body: reply}); err != nil {
		t.Fatal(err)
	}
	lookup()
	conv := cget(t, ctx, "conversation", chromedp.Text(chromedp.ID("conversation")))
	for _, want := range []string{question, "截图已上传", reply} {
		if !strings.Contains(conv, want) {
			t.Errorf("the conversation lacks %q:\n%s", want, conv)
		}
	}
	if page := cget(t, ctx, "page", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(page, "内部备注") {
		t.Fatalf("the internal note is on the status page:\n%s", page)
	}

	// Evidence: too large and not what it claims are refused, nothing written.
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	attachments := func() (n int64) {
		if err := h.db.Model(&records.Attachment{}).Where("case_id = ?", caseID).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := attachments()
	for _, f := range []string{write("big.txt", bytes.Repeat([]byte("短信"), 400_000)), write("fake.png", []byte("not a picture"))} {
		publicSubmitAndWait(t, ctx, "send-evidence", "errors", chromedp.SetUploadFiles(chromedp.ID("evidence"), []string{f}))
		if msg := cget(t, ctx, "refusal", chromedp.Text(chromedp.ID("errors"))); !strings.Contains(msg, "证据文件1无法接收") {
			t.Errorf("%s: refusal reads %q", filepath.Base(f), msg)
		}
	}
	if n := attachments(); n != before {
		t.Fatalf("refused evidence was stored: %d attachments, want %d", n, before)
	}
	publicSubmitAndWait(t, ctx, "send-evidence", "notice", chromedp.SetUploadFiles(chromedp.ID("evidence"), []string{write("短信截图.png", pngEvidence)}))
	var att records.Attachment
	if err := h.db.Where("case_id = ?", caseID).Order("created_at DESC").Take(&att).Error; err != nil {
		t.Fatal(err)
	}

	// The agent downloads it from the console; the download is audited.
	consoleSignIn(t, ctx, base, "agent.li")
	crun(t, ctx, "case page", chromedp.Navigate(base+"/cases/"+caseID), chromedp.WaitVisible(chromedp.ID("download-"+att.ID)))
	if name := cget(t, ctx, "listed", chromedp.Text(chromedp.ID("attachments"))); !strings.Contains(name, "短信截图.png") {
		t.Fatalf("attachments listed: %q", name)
	}
	js := `fetch("/cases/` + caseID + `/attachments/` + att.ID + `", {method: "POST", body: new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value})})` +
		`.then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)).join(","))`
	got := cget(t, ctx, "download", chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	var want []string
	for _, b := range pngEvidence {
		want = append(want, strconv.Itoa(int(b)))
	}
	if got != strings.Join(want, ",") {
		t.Fatalf("downloaded %q", got)
	}
	trail, err := audit.ForObject(h.ctx, h.db, "case", caseID)
	if err != nil {
		t.Fatal(err)
	}
	var added, downloaded bool
	for _, e := range trail {
		added = added || e.Action == "attachment.added" && e.Actor == "complainant" && e.Details["attachment_id"] == att.ID
		downloaded = downloaded || e.Action == "attachment.downloaded" && e.Actor == "agent.li" && e.Details["attachment_id"] == att.ID
	}
	if !added || !downloaded {
		t.Fatalf("audit trail: added by the complainant %v, downloaded by agent.li %v", added, downloaded)
	}
}

// The public site's credential reaches a case's conversation only with the
// case's number and code: the agents' way to add files is refused to it,
// and a wrong or missing code answers as an unknown number and writes
// nothing.
func TestPublicCredentialNeedsTheCodeToWrite(t *testing.T) {
	h := newHarness(t, options{noTemporal: true, noWorker: true})
	site := metadata.AppendToOutgoingContext(h.ctx, "authorization", "Bearer "+h.publicToken())
	lookups := intakev1.NewPublicStatusServiceClient(h.conn)
	sub, err := h.api.SubmitComplaint(site, submission("public-write-0001"))
	if err != nil {
		t.Fatal(err)
	}
	id, number := sub.GetCase().GetId(), sub.GetCase().GetCaseNumber()
	file := []*intakev1.AttachmentUpload{{FileName: "x.txt", ContentType: "text/plain", Content: []byte("x")}}
	count := func(table string) (n int64) {
		if err := h.db.Table(table).Where("case_id = ?", id).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	atts, msgs := count("attachments"), count("case_messages")

	if _, err := h.caseFile.AddAttachments(site, &intakev1.AddAttachmentsRequest{CaseId: id, Attachments: file}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("AddAttachments with the public credential: %v, want PermissionDenied", err)
	}
	_, unknown := lookups.AnswerCase(site, &intakev1.AnswerCaseRequest{CaseNumber: "C-2099-999999", LookupCode: sub.GetLookupCode(), Body: "hello"})
	if status.Code(unknown) != codes.NotFound {
		t.Fatalf("unknown number: %v", unknown)
	}
	for name, call := range map[string]func(code string) error{
		"AnswerCase": func(code string) error {
			_, err := lookups.AnswerCase(site, &intakev1.AnswerCaseRequest{CaseNumber: number, LookupCode: code, Body: "hello"})
			return err
		},
		"AddEvidence": func(code string) error {
			_, err := lookups.AddEvidence(site, &intakev1.AddEvidenceRequest{CaseNumber: number, LookupCode: code, Attachments: file})
			return err
		},
		"GetConversation": func(code string) error {
			_, err := lookups.GetConversation(site, &intakev1.GetConversationRequest{CaseNumber: number, LookupCode: code})
			return err
		},
	} {
		if err := call("WRONGCODE"); status.Code(err) != codes.NotFound || err.Error() != unknown.Error() {
			t.Errorf("%s with a wrong code: %v, want %v", name, err, unknown)
		}
		if err := call(""); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "lookup_code") {
			t.Errorf("%s without a code: %v, want InvalidArgument naming lookup_code", name, err)
		}
	}
	if a, m := count("attachments"), count("case_messages"); a != atts || m != msgs {
		t.Fatalf("written without the code: attachments %d→%d, messages %d→%d", atts, a, msgs, m)
	}
	// With the code, the same credential adds.
	if _, err := lookups.AddEvidence(site, &intakev1.AddEvidenceRequest{CaseNumber: number, LookupCode: sub.GetLookupCode(), Attachments: file}); err != nil {
		t.Fatal(err)
	}
}
