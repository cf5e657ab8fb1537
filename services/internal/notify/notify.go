// Package notify tells complainants about their cases: acknowledgements,
// rejections, results, replies and requests for information, by email or SMS.
//
// Notices and recipients carry personal data (addresses, the lookup code, the
// text written to the complainant). Nothing in this package logs them or puts
// them in an error: errors name the step, the channel and a status code only,
// and Recipient and Notice redact themselves when printed or logged.
package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
)

// Notice kinds. They match the workflow's notice kinds.
const (
	KindAcknowledgement    = "acknowledgement"
	KindRejection          = "rejection"
	KindResult             = "result"
	KindReply              = "reply"
	KindInformationRequest = "information_request"
	// KindDeadlineMoved tells the complainant that a deadline already told
	// to them moved (an official calendar was confirmed for its year).
	KindDeadlineMoved = "deadline_moved"
)

// Kinds lists every notice kind.
var Kinds = []string{KindAcknowledgement, KindRejection, KindResult, KindReply, KindInformationRequest, KindDeadlineMoved}

// Languages of the templates. Anything that is not English is sent in Chinese.
const (
	LangZH = "zh"
	LangEN = "en"
)

// Channels a recipient is reached on.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// A Notice to one complainant. It holds personal data (the lookup code and the
// body); never log it field by field — it redacts itself when logged whole.
type Notice struct {
	Kind       string // acknowledgement | rejection | result | reply | information_request
	Language   string // "en" or "zh" (default zh)
	CaseNumber string
	LookupCode string // acknowledgement only
	// Acknowledgement: both deadlines are told, shown in Asia/Shanghai as
	// "2006-01-02 15:04". A zero time is left out.
	AckDueAt, ResolutionDueAt time.Time
	// Body is the reply text, the result feedback, the question, or the
	// explanation of a rejection.
	Body string
	// ReasonCode of a rejection: one of the Reason* codes.
	ReasonCode string
	// Citation is the law that set the deadline (optional).
	Citation string
	// DedupeKey is stable per notice: the email Message-ID and the SMS
	// idempotency key derive from it, so a resend is recognisable.
	DedupeKey string
	// InReplyTo is the Message-ID of the complainant's mail that opened the
	// case (angle brackets included), "" when it came otherwise: the email
	// answers it (In-Reply-To, References) so that the complainant's mail
	// program threads the notices with it.
	InReplyTo string
}

// String shows the kind and the case number only.
func (n Notice) String() string { return fmt.Sprintf("notice{%s %s}", n.Kind, n.CaseNumber) }

// GoString keeps %#v from printing the personal fields.
func (n Notice) GoString() string { return n.String() }

// LogValue keeps slog from printing the personal fields.
func (n Notice) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", n.Kind), slog.String("case_number", n.CaseNumber))
}

// Recipient is the complainant's address: an email address, a phone number or
// both, and the channel they prefer ("email" or "sms"; empty means email when
// there is an address).
type Recipient struct {
	Email, Phone string
	Preferred    string
}

// Channel is the channel the recipient is reached on when both channels are
// available to the sender: the preferred one if its address is set, else the
// other one; "" when there is no address at all.
func (r Recipient) Channel() string {
	order := r.channels()
	if len(order) == 0 {
		return ""
	}
	return order[0]
}

// channels lists the channels that have an address, the preferred one first.
func (r Recipient) channels() []string {
	var out []string
	pref := []string{ChannelEmail, ChannelSMS}
	if r.Preferred == ChannelSMS {
		pref = []string{ChannelSMS, ChannelEmail}
	}
	for _, c := range pref {
		if r.address(c) != "" {
			out = append(out, c)
		}
	}
	return out
}

func (r Recipient) address(channel string) string {
	switch channel {
	case ChannelEmail:
		return r.Email
	case ChannelSMS:
		return r.Phone
	}
	return ""
}

// String shows the redacted address of the channel in use.
func (r Recipient) String() string {
	c := r.Channel()
	if c == "" {
		return "recipient{none}"
	}
	return "recipient{" + c + " " + Redact(r.address(c)) + "}"
}

// GoString keeps %#v from printing the addresses.
func (r Recipient) GoString() string { return r.String() }

// LogValue keeps slog from printing the addresses.
func (r Recipient) LogValue() slog.Value { return slog.StringValue(r.String()) }

// A Sender delivers a notice to a recipient. An error wrapping ErrPermanent
// means this notice will never go through as it is (bad address, refused by
// the carrier, invalid notice) and must not be retried; any other error is
// temporary. Errors never contain the address or the text.
type Sender interface {
	Send(ctx context.Context, to Recipient, n Notice) error
}

var (
	// ErrPermanent is wrapped by errors that retrying will not fix.
	ErrPermanent = errors.New("permanent failure")
	// ErrTimeout is wrapped by errors of a send that ran out of time. It is
	// temporary.
	ErrTimeout = errors.New("timed out")
)

// sendError is what senders return: a message naming the channel, the step
// and a status code, never the address or the text.
type sendError struct {
	msg       string
	permanent bool
	timeout   bool
	canceled  bool
}

func (e *sendError) Error() string {
	switch {
	case e.permanent:
		return "notify: " + e.msg + " (permanent)"
	case e.timeout:
		return "notify: " + e.msg + ": timed out"
	case e.canceled:
		return "notify: " + e.msg + ": canceled"
	}
	return "notify: " + e.msg
}

func (e *sendError) Is(target error) bool {
	switch target {
	case ErrPermanent:
		return e.permanent
	case ErrTimeout, context.DeadlineExceeded:
		return e.timeout
	case context.Canceled:
		return e.canceled
	}
	return false
}

// Timeout makes a timed-out send look like a net.Error timeout.
func (e *sendError) Timeout() bool { return e.timeout }

// Temporary is true for every error that is not permanent.
func (e *sendError) Temporary() bool { return !e.permanent }

func permanentf(format string, args ...any) error {
	return &sendError{msg: fmt.Sprintf(format, args...), permanent: true}
}

func temporaryf(format string, args ...any) error {
	return &sendError{msg: fmt.Sprintf(format, args...)}
}

// ioError classifies a failure of the transport: timeouts and
// cancellations are told apart, and the cause is quoted only when it is a
// network or TLS error (which names the server, never the recipient).
func ioError(ctx context.Context, err error, step string) error {
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
		return &sendError{msg: step, canceled: true}
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.As(err, &te) && te.Timeout():
		return &sendError{msg: step, timeout: true}
	}
	return &sendError{msg: step + ": " + transportCause(err)}
}

// transportCause quotes err only when it is a network or certificate error.
func transportCause(err error) string {
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		x509Err x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &certErr):
		return certErr.Error()
	case errors.As(err, &x509Err):
		return x509Err.Error()
	case errors.As(err, &hostErr):
		return hostErr.Error()
	case errors.As(err, &recErr):
		return "tls: not a TLS handshake"
	case errors.As(err, &dnsErr):
		return dnsErr.Error()
	case errors.As(err, &opErr):
		return opErr.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	}
	return "failed"
}
