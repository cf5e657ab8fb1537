package notify

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// LogSender stands in for delivery in the development stack when no channel
// is configured: it logs the kind, the case number and the redacted
// recipient, and nothing else.
type LogSender struct {
	Log *slog.Logger // slog.Default() when nil
}

// Send logs the notice.
func (l *LogSender) Send(ctx context.Context, to Recipient, n Notice) error {
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	c := to.Channel()
	log.LogAttrs(ctx, slog.LevelInfo, "notice not sent: no channel configured (logged only)",
		slog.String("kind", n.Kind), slog.String("case_number", n.CaseNumber),
		slog.String("recipient", Redact(to.address(c))))
	return nil
}

// Redact masks an email address or a phone number for logs and screens:
// "e***@example.com", "+86******8000". The first character of an email's
// local part and its domain are kept; a phone keeps "+86" (or "+") and its
// last four digits, with a fixed run of stars that does not tell the length.
// Anything else becomes "***"; "" stays "".
func Redact(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		local, domain := s[:at], s[at+1:]
		if local == "" || domain == "" {
			return "***"
		}
		r, _ := utf8.DecodeRuneInString(local)
		if r == '<' || r == '"' { // display-name forms: show nothing of the name
			return "***@" + strings.TrimSuffix(domain, ">")
		}
		return string(r) + "***@" + strings.TrimSuffix(domain, ">")
	}
	var digits []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "***"
		}
	}
	if len(digits) < 7 {
		return "***"
	}
	prefix := ""
	switch {
	case strings.HasPrefix(s, "+86"):
		prefix = "+86"
	case strings.HasPrefix(s, "+"):
		prefix = "+"
	}
	return prefix + "******" + string(digits[len(digits)-4:])
}
