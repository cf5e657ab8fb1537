// Package inbound is the inbound gateway: it reads the complaints mailbox
// (IMAP) and receives the SMS gateway's messages (a signed webhook), and
// hands each message to intake over gRPC — a new complaint through
// SubmitComplaint, a complainant's answer through InboundService. It holds
// no database and no keys; what it logs names no person and no text.
package inbound

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode"

	_ "github.com/emersion/go-message/charset" // mail in GBK, GB18030, Big5, ISO-8859-x
	"github.com/emersion/go-message/mail"
)

// Limits on what is read of one mail.
const (
	maxText        = 10000   // characters of text kept, as intake's description
	maxAttachments = 5       // intake's limit per case
	maxAttachment  = 2 << 20 // bytes, intake's limit per file
	maxTotal       = 8 << 20 // bytes, intake's limit per case
)

// Mail is what the gateway reads of one message.
type Mail struct {
	MessageID  string   // angle brackets included; "" when the mail has none
	References []string // In-Reply-To, then References, angle brackets included
	From       string   // the sender's address
	Name       string   // the sender's display name
	Subject    string
	Text       string
	Language   string // "zh" or "en"
	// Automatic names why the mail was sent by a machine (an auto-reply, a
	// bounce, list mail); "" for a person's mail. Such mail opens nothing
	// and is never answered.
	Automatic   string
	Attachments []Attachment
	// Skipped counts the attachments left out: of a type intake does not
	// keep, too large, or beyond the number intake keeps.
	Skipped int
}

// Attachment is one file carried by a mail.
type Attachment struct {
	Name, ContentType string
	Content           []byte
}

// keptTypes are the attachment types intake keeps.
var keptTypes = map[string]bool{"image/png": true, "image/jpeg": true, "application/pdf": true, "text/plain": true}

// ParseMail reads a raw RFC 5322 message.
func ParseMail(raw []byte) (*Mail, error) {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && mr == nil {
		return nil, fmt.Errorf("read mail: %w", err)
	}
	defer func() { _ = mr.Close() }()
	h := mr.Header
	m := &Mail{Automatic: automatic(h)}
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = "<" + id + ">"
	}
	for _, field := range []string{"In-Reply-To", "References"} {
		ids, _ := h.MsgIDList(field)
		for _, id := range ids {
			m.References = append(m.References, "<"+id+">")
		}
	}
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		m.From, m.Name = from[0].Address, from[0].Name
	}
	m.Subject, _ = h.Subject()
	var text, html string
	total := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if text == "" && html == "" { // a body that is not MIME at all is still read whole
				return m, fmt.Errorf("read mail body: %w", err)
			}
			break
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := ph.ContentType()
			b, _ := io.ReadAll(io.LimitReader(p.Body, 4*maxText))
			switch ct {
			case "text/plain", "":
				if text == "" {
					text = string(b)
				}
			case "text/html":
				if html == "" {
					html = string(b)
				}
			}
		case *mail.AttachmentHeader:
			ct, _, _ := ph.ContentType()
			name, _ := ph.Filename()
			b, _ := io.ReadAll(io.LimitReader(p.Body, maxAttachment+1))
			if !keptTypes[ct] || name == "" || len(b) > maxAttachment || len(m.Attachments) == maxAttachments || total+len(b) > maxTotal {
				m.Skipped++
				continue
			}
			total += len(b)
			m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: ct, Content: b})
		}
	}
	if text == "" {
		text = stripTags(html)
	}
	m.Text = truncate(strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")), maxText)
	m.Language = language(h.Get("Content-Language"), m.Subject+" "+m.Text)
	return m, nil
}

// automatic names why a mail was sent by a machine, from its headers
// (RFC 3834 Auto-Submitted, an empty Return-Path, a delivery or disposition
// report, Precedence, list headers, the usual auto-responders' own marks).
func automatic(h mail.Header) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "auto-submitted"
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp == "<>" {
		return "null return path"
	}
	if ct, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && ct == "multipart/report" {
		return "delivery report"
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "list", "junk", "auto_reply":
		return "precedence"
	}
	for _, k := range []string{"List-Id", "List-Unsubscribe", "List-Post", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"} {
		if h.Has(k) {
			return "list or auto-responder header"
		}
	}
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		local, _, _ := strings.Cut(strings.ToLower(from[0].Address), "@")
		if local == "mailer-daemon" || local == "postmaster" {
			return "mailer daemon"
		}
	}
	return ""
}

// language is "en" for a mail written in English and "zh" otherwise: the
// Content-Language header when it names one of them, else whether the text
// has Chinese characters.
func language(header, text string) string {
	switch tag := strings.ToLower(strings.TrimSpace(header)); {
	case strings.HasPrefix(tag, "en"):
		return "en"
	case strings.HasPrefix(tag, "zh"):
		return "zh"
	}
	han, letters := 0, 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.IsLetter(r):
			letters++
		}
	}
	if letters > 0 && han*10 < letters {
		return "en"
	}
	return "zh"
}

var caseNumberPattern = regexp.MustCompile(`(?i)\bC-\d{4}-\d{4,10}\b`)

// CaseNumber is the first case number text names, upper-cased; "" if none.
func CaseNumber(text string) string {
	return strings.ToUpper(caseNumberPattern.FindString(text))
}

var tagPattern = regexp.MustCompile(`(?s)<(script|style).*?</(script|style)>|<[^>]*>`)

// stripTags is an HTML part's text, for mail sent without a plain part.
func stripTags(html string) string {
	t := tagPattern.ReplaceAllString(html, " ")
	for _, r := range [][2]string{{"&nbsp;", " "}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", `"`}, {"&#39;", "'"}, {"&amp;", "&"}} {
		t = strings.ReplaceAll(t, r[0], r[1])
	}
	return t
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
