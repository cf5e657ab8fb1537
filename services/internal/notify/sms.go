package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultSMSTimeout bounds one gateway request when SMSGatewaySender.Timeout is 0.
const DefaultSMSTimeout = 10 * time.Second

// SMSGatewaySender sends the short text of a notice through an HTTP SMS
// gateway: POST Endpoint with
//
//	{"to": "+8613800138000", "text": "...", "idempotency_key": DedupeKey}
//
// and "Authorization: Bearer Token". A 2xx answer means sent. A 4xx answer
// means the gateway refused this message (ErrPermanent), except 401
// (our token: configuration to fix), 408 and 429 (come back later), which are
// temporary like 5xx answers, redirects and timeouts.
type SMSGatewaySender struct {
	Endpoint string
	Token    string
	// Timeout bounds one request; DefaultSMSTimeout when 0.
	Timeout time.Duration
	// Client is the HTTP client; a plain one with Timeout when nil.
	Client *http.Client
}

type smsRequest struct {
	To             string `json:"to"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// Send posts the short text of the notice for to.Phone.
func (s *SMSGatewaySender) Send(ctx context.Context, to Recipient, n Notice) error {
	phone, ok := NormalizePhone(to.Phone)
	if !ok {
		return permanentf("sms: recipient has no valid phone number")
	}
	r, err := render(n)
	if err != nil {
		return err
	}
	body, err := json.Marshal(smsRequest{To: phone, Text: r.SMS, IdempotencyKey: n.DedupeKey})
	if err != nil {
		return temporaryf("sms: encoding the request failed")
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMSTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint, bytes.NewReader(body))
	if err != nil {
		return temporaryf("sms: gateway endpoint is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if n.DedupeKey != "" {
		req.Header.Set("Idempotency-Key", n.DedupeKey)
	}
	client := s.Client
	if client == nil {
		client = &http.Client{
			Timeout: timeout,
			// A redirected POST would be replayed as a GET: treat it as an answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return ioError(ctx, err, "sms: gateway request")
	}
	defer func() { _ = resp.Body.Close() }()
	// Drain a little so the connection can be reused; the body is never
	// quoted (it may echo the number).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return temporaryf("sms: gateway answered %d", code)
	case code >= 400 && code < 500:
		return permanentf("sms: gateway refused the message with %d", code)
	default:
		return temporaryf("sms: gateway answered %d", code)
	}
}

// NormalizePhone writes a phone number in E.164 form: separators are
// dropped, a mainland mobile number without country code (11 digits starting
// with 1) gets +86, and "00" becomes "+". ok is false when the result is not
// "+" followed by 8 to 15 digits.
func NormalizePhone(p string) (string, bool) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(p) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", false
		}
	}
	s := b.String()
	switch {
	case strings.HasPrefix(s, "+"):
	case strings.HasPrefix(s, "00"):
		s = "+" + s[2:]
	case len(s) == 11 && s[0] == '1':
		s = "+86" + s
	case strings.HasPrefix(s, "86") && len(s) == 13:
		s = "+" + s
	default:
		return "", false
	}
	digits := len(s) - 1
	if digits < 8 || digits > 15 || s[1] == '0' {
		return "", false
	}
	return s, true
}
