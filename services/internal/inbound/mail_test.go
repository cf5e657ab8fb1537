package inbound

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/connectors"
)

func raw(headers, body string) []byte {
	return []byte(strings.ReplaceAll(headers, "\n", "\r\n") + "\r\n" + body)
}

const person = `From: Wang Fang <wang@example.com>
To: complaints@operator.example
Subject: Re: =?UTF-8?B?44CQ5oqV6K+J5Y+X55CG5Zue5omn44CR5qGI5Lu257yW5Y+3IEMtMjAyNi0wMDAxMjM=?=
Message-ID: <r1@example.com>
In-Reply-To: <c1/acknowledgement@redress>
References: <first@example.com> <c1/acknowledgement@redress>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
`

func TestParseMailOfAPerson(t *testing.T) {
	m, err := ParseMail(raw(person, "我又收到了三条骚扰短信。\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Automatic != "" || m.MessageID != "<r1@example.com>" || m.From != "wang@example.com" || m.Name != "Wang Fang" {
		t.Fatalf("parsed %+v", m)
	}
	if strings.Join(m.References, " ") != "<c1/acknowledgement@redress> <first@example.com> <c1/acknowledgement@redress>" {
		t.Fatalf("references %q", m.References)
	}
	if CaseNumber(m.Subject) != "C-2026-000123" || m.Text != "我又收到了三条骚扰短信。" || m.Language != "zh" {
		t.Fatalf("subject %q, text %q, language %q", m.Subject, m.Text, m.Language)
	}
	en, _ := ParseMail(raw("From: a@example.com\nSubject: Spam calls\n", "I keep getting calls from 10690000001."))
	if en.Language != "en" {
		t.Fatalf("English mail read as %q", en.Language)
	}
}

// Auto-replies, bounces and list mail are recognised by their headers.
func TestParseMailSentByAMachine(t *testing.T) {
	for name, h := range map[string]string{
		"auto-reply":  "From: a@example.com\nAuto-Submitted: auto-replied\nSubject: Out of office\n",
		"null sender": "Return-Path: <>\nFrom: a@example.com\nSubject: x\n",
		"bounce":      "From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n",
		"precedence":  "From: a@example.com\nPrecedence: bulk\nSubject: news\n",
		"list":        "From: a@example.com\nList-Id: <news.example.com>\nSubject: news\n",
	} {
		m, err := ParseMail(raw(h, "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Automatic == "" {
			t.Errorf("%s: taken for a person's mail", name)
		}
	}
	m, _ := ParseMail(raw("From: a@example.com\nAuto-Submitted: no\nSubject: x\n", "x"))
	if m.Automatic != "" {
		t.Fatalf("Auto-Submitted: no read as automatic (%s)", m.Automatic)
	}
}

// Kept attachments are those intake keeps; the rest are counted.
func TestParseMailAttachments(t *testing.T) {
	m, err := ParseMail(raw("From: a@example.com\nSubject: evidence\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n",
		"--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nsee attached\r\n"+
			"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=sms.txt\r\n\r\nWIN A PRIZE\r\n"+
			"--b\r\nContent-Type: application/x-msdownload\r\nContent-Disposition: attachment; filename=a.exe\r\n\r\nMZ\r\n--b--\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "see attached" || len(m.Attachments) != 1 || m.Attachments[0].Name != "sms.txt" || m.Skipped != 1 {
		t.Fatalf("text %q, attachments %+v, skipped %d", m.Text, m.Attachments, m.Skipped)
	}
}

// A webhook request not signed with the shared secret, or signed more than
// five minutes ago, is refused before anything reaches intake.
func TestSMSWebhookRefusesBadSignatures(t *testing.T) {
	secret := []byte("shared-secret")
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	h := &SMSWebhook{Gateway: &Gateway{Log: slog.New(slog.DiscardHandler)}, Secret: secret, Now: func() time.Time { return now }}
	body := `{"id":"m1","from":"+8613800138000","text":"hello"}`
	for name, sign := range map[string]func(*http.Request){
		"unsigned":     func(*http.Request) {},
		"other secret": func(r *http.Request) { signAt(r, []byte("other"), now, body) },
		"stale":        func(r *http.Request) { signAt(r, secret, now.Add(-6*time.Minute), body) },
		"other body":   func(r *http.Request) { signAt(r, secret, now, `{"id":"m2"}`) },
	} {
		r := httptest.NewRequest(http.MethodPost, SMSPath, strings.NewReader(body))
		sign(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, w.Code)
		}
	}
}

func signAt(r *http.Request, secret []byte, at time.Time, body string) {
	r.Header.Set(connectors.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	r.Header.Set(connectors.HeaderSignature, connectors.Sign(secret, at, []byte(body)))
}
