package notify

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// messageIDDomain is the right-hand side of every Message-ID.
const messageIDDomain = "redress"

// MessageID is the Message-ID of the email for a dedupe key, angle brackets
// included: the key with every character outside RFC 5322 dot-atom text
// replaced by "-" (and a short hash of the key added when that changed it,
// so two keys never share an ID). The same key always gives the same ID, so a
// resend is recognisable. An empty key gets a random ID.
func MessageID(dedupeKey string) string {
	if dedupeKey == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return "<" + hex.EncodeToString(b[:]) + "@" + messageIDDomain + ">"
	}
	var b strings.Builder
	prevDot := true // no leading dot
	for _, r := range dedupeKey {
		switch {
		case r == '.':
			if prevDot {
				r = '-'
			}
		case !isAtext(r):
			r = '-'
		}
		b.WriteRune(r)
		prevDot = r == '.'
	}
	left := strings.TrimSuffix(b.String(), ".")
	const maxLeft = 120
	if left != dedupeKey || len(left) > maxLeft {
		sum := sha256.Sum256([]byte(dedupeKey))
		if len(left) > maxLeft {
			left = left[:maxLeft]
		}
		left = strings.TrimSuffix(left, ".") + "-" + hex.EncodeToString(sum[:6])
	}
	return "<" + left + "@" + messageIDDomain + ">"
}

// isAtext is RFC 5322 atext (ASCII only).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return r < utf8.RuneSelf && strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// buildMessage writes the whole RFC 5322 message: UTF-8 text/plain, the body
// in base64 when it is mostly non-ASCII (Chinese) and quoted-printable
// otherwise, an RFC 2047 subject, Date and Message-ID.
func buildMessage(from, to *mail.Address, r rendered, dedupeKey, inReplyTo string, now time.Time) []byte {
	var h bytes.Buffer
	header := func(k, v string) { h.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", (&mail.Address{Address: to.Address}).String())
	header("Subject", encodeSubject(r.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", MessageID(dedupeKey))
	if id := threadID(inReplyTo); id != "" {
		header("In-Reply-To", id)
		header("References", id)
	}
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	if r.Lang == LangEN {
		header("Content-Language", "en")
	} else {
		header("Content-Language", "zh-CN")
	}
	header("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	text := strings.ReplaceAll(r.Email, "\n", "\r\n")
	if mostlyNonASCII(text) {
		header("Content-Transfer-Encoding", "base64")
		h.WriteString("\r\n")
		enc := base64.StdEncoding.EncodeToString([]byte(text))
		for len(enc) > 76 {
			h.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		h.WriteString(enc + "\r\n")
		return h.Bytes()
	}
	header("Content-Transfer-Encoding", "quoted-printable")
	h.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&h)
	_, _ = qp.Write([]byte(text))
	_ = qp.Close()
	h.WriteString("\r\n")
	return h.Bytes()
}

// threadID is a Message-ID fit for a header ("<left@right>", printable
// ASCII, no line breaks), or "" when it is not one.
func threadID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) < 3 || len(id) > 998 || id[0] != '<' || id[len(id)-1] != '>' || !strings.Contains(id, "@") {
		return ""
	}
	for _, r := range id {
		if r <= ' ' || r > '~' {
			return ""
		}
	}
	return id
}

// encodeSubject is the subject as RFC 2047 encoded words when it is not
// plain ASCII, folded between the words.
func encodeSubject(s string) string {
	enc := mime.BEncoding
	if !mostlyNonASCII(s) {
		enc = mime.QEncoding
	}
	return fold(len("Subject: "), enc.Encode("UTF-8", s))
}

// fold breaks a header value at spaces so lines stay within 78 characters
// (RFC 5322 §2.1.1), counting the name already on the first line; a word
// longer than that stays whole.
func fold(used int, value string) string {
	var b strings.Builder
	line := used
	for i, w := range strings.Split(value, " ") {
		switch {
		case line+len(w)+min(i, 1) > 78 && (i > 0 || used > 0):
			b.WriteString("\r\n ")
			line = 1
		case i > 0:
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

func mostlyNonASCII(s string) bool {
	non := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			non++
		}
	}
	return non*3 > len(s)
}
