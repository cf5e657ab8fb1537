package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// DefaultSMTPTimeout bounds a whole SMTP delivery when SMTPSender.Timeout is 0.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPSender sends notices as email through one SMTP server (a submission
// server or a relay). A connection is opened with EHLO, STARTTLS and AUTH
// PLAIN when credentials are set and the server offers it, and carries one
// message per transaction; after a delivery it waits, idle, for the next
// (RSET first), so that a storm of acknowledgements is not a TLS handshake
// each. STARTTLS is required: a server that does not offer it (perhaps
// because someone on the path removed it from the server's answer) is sent
// nothing, unless it is on a loopback address (a local relay, the dev
// mailbox) or PlainText is set.
type SMTPSender struct {
	// Addr is the server's host:port.
	Addr string
	// From is the sender address, optionally with a display name
	// ("Complaints <complaints@operator.example>").
	From string
	// Username and Password, when set, authenticate with PLAIN if the server
	// offers it. net/smtp refuses to send them over an unencrypted connection
	// to anything but a loopback host.
	Username, Password string
	// RequireTLS requires STARTTLS even from a server on a loopback address.
	RequireTLS bool
	// PlainText allows sending in the clear to a server that does not offer
	// STARTTLS: the operator's explicit choice (REDRESS_SMTP_TLS=false).
	PlainText bool
	// InsecureSkipVerify accepts any server certificate. Development only.
	InsecureSkipVerify bool
	// LocalName is the name given in EHLO; "localhost" when empty.
	LocalName string
	// Timeout bounds the whole delivery; DefaultSMTPTimeout when 0.
	Timeout time.Duration

	now func() time.Time // tests
	// local tells whether the connected server is on this machine (tests
	// stand in for a remote server with it); default: a loopback address.
	local func(net.Addr) bool

	mu   sync.Mutex
	idle []*smtpSession // most recently used last
}

// Bounds of the connections kept between deliveries: how many wait, for how
// long, and how many messages one carries before it is closed (relays limit
// messages per connection; a fresh one also spreads over a relay's hosts).
const (
	smtpMaxIdle         = 8
	smtpIdleTimeout     = 30 * time.Second
	smtpMessagesPerConn = 100
)

// smtpSession is one open, greeted (and, when required, encrypted and
// authenticated) connection.
type smtpSession struct {
	conn     net.Conn
	c        *smtp.Client
	messages int
	idleFrom time.Time
	stop     func() bool // ends the current delivery's cancellation hook
}

// Send delivers the notice to to.Email. Refusals of the recipient or of the
// message (5xx to RCPT or to the data) and an unusable address are
// permanent; everything else, including refusals of the sender or of the
// credentials (configuration to fix), is temporary.
func (s *SMTPSender) Send(ctx context.Context, to Recipient, n Notice) error {
	if strings.TrimSpace(to.Email) == "" {
		return permanentf("email: recipient has no email address")
	}
	rcpt, err := mail.ParseAddress(to.Email)
	if err != nil || strings.ContainsAny(rcpt.Address, "\r\n") {
		return permanentf("email: recipient address is not valid")
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return temporaryf("email: From %q is not a valid address", s.From)
	}
	r, err := render(n)
	if err != nil {
		return err
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	msg := buildMessage(from, rcpt, r, n.DedupeKey, n.InReplyTo, now())
	return s.deliver(ctx, from.Address, rcpt.Address, msg)
}

func (s *SMTPSender) deliver(ctx context.Context, from, to string, msg []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sess := s.reuse(ctx)
	if sess == nil {
		var err error
		if sess, err = s.open(ctx); err != nil {
			return err
		}
	}
	err := s.transact(ctx, sess, from, to)
	if err == nil {
		err = s.data(ctx, sess, msg)
	}
	if sess.end() && err == nil {
		s.release(sess)
	} else {
		_ = sess.c.Close()
	}
	return err
}

// reuse takes an idle session that still answers RSET, closing the ones that
// waited too long or do not answer; nil when none is left.
func (s *SMTPSender) reuse(ctx context.Context) *smtpSession {
	for {
		s.mu.Lock()
		var sess *smtpSession
		if n := len(s.idle); n > 0 {
			sess, s.idle = s.idle[n-1], s.idle[:n-1]
		}
		s.mu.Unlock()
		if sess == nil {
			return nil
		}
		if time.Since(sess.idleFrom) > smtpIdleTimeout {
			sess.quit()
			continue
		}
		sess.begin(ctx)
		if err := sess.c.Reset(); err != nil { // the server closed it meanwhile
			sess.end()
			_ = sess.c.Close()
			continue
		}
		return sess
	}
}

// release keeps a session for the next delivery, or closes it when it
// carried its share of messages or enough wait already.
func (s *SMTPSender) release(sess *smtpSession) {
	sess.messages++
	sess.idleFrom = time.Now()
	s.mu.Lock()
	keep := sess.messages < smtpMessagesPerConn && len(s.idle) < smtpMaxIdle
	if keep {
		s.idle = append(s.idle, sess)
	}
	s.mu.Unlock()
	if !keep {
		sess.quit()
	}
}

// begin bounds the session's next exchanges by ctx: its deadline, and
// cancelling ctx ends them at once. end undoes it and reports whether the
// connection is still usable (ctx did not end it).
func (sess *smtpSession) begin(ctx context.Context) {
	deadline, _ := ctx.Deadline()
	_ = sess.conn.SetDeadline(deadline)
	sess.stop = context.AfterFunc(ctx, func() { _ = sess.conn.SetDeadline(time.Now()) })
}

// detach keeps ctx's deadline on the session's exchanges but no longer
// ends them when ctx is cancelled.
func (sess *smtpSession) detach() {
	if sess.stop() {
		sess.stop = func() bool { return true }
	}
}

func (sess *smtpSession) end() bool {
	if !sess.stop() {
		return false
	}
	return sess.conn.SetDeadline(time.Time{}) == nil
}

// quit says goodbye to the server, briefly, and closes the connection.
func (sess *smtpSession) quit() {
	_ = sess.conn.SetDeadline(time.Now().Add(time.Second))
	_ = sess.c.Quit()
	_ = sess.c.Close()
}

// open connects, greets, starts TLS and authenticates: a session ready for
// a transaction, bounded by ctx.
func (s *SMTPSender) open(ctx context.Context) (*smtpSession, error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, temporaryf("email: server address %q is not host:port", s.Addr)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, ioError(ctx, err, "email: connect")
	}
	sess := &smtpSession{conn: conn}
	sess.begin(ctx)
	fail := func(err error) (*smtpSession, error) {
		sess.end()
		_ = conn.Close()
		return nil, err
	}
	if sess.c, err = smtp.NewClient(conn, host); err != nil {
		return fail(s.stepError(ctx, err, "greeting", false))
	}
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := sess.c.Hello(local); err != nil {
		return fail(s.stepError(ctx, err, "EHLO", false))
	}
	if ok, _ := sess.c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{ServerName: host, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // dev option, off by default
		if err := sess.c.StartTLS(cfg); err != nil {
			return fail(s.stepError(ctx, err, "STARTTLS", false))
		}
	} else if !s.PlainText && (s.RequireTLS || !s.isLocal(conn.RemoteAddr())) {
		return fail(temporaryf("email: server does not offer STARTTLS and TLS is required (REDRESS_SMTP_TLS=false allows plain text)"))
	}
	if s.Username != "" {
		if ok, mechs := sess.c.Extension("AUTH"); ok {
			if !hasWord(mechs, "PLAIN") {
				return fail(temporaryf("email: server offers no PLAIN authentication"))
			}
			if err := sess.c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
				return fail(s.stepError(ctx, err, "AUTH", false))
			}
		}
	}
	return sess, nil
}

// transact names the sender and the recipient.
func (s *SMTPSender) transact(ctx context.Context, sess *smtpSession, from, to string) error {
	if err := sess.c.Mail(from); err != nil {
		return s.stepError(ctx, err, "MAIL FROM", false)
	}
	if err := sess.c.Rcpt(to); err != nil {
		return s.stepError(ctx, err, "RCPT TO", true)
	}
	return nil
}

// data sends the message.
func (s *SMTPSender) data(ctx context.Context, sess *smtpSession, msg []byte) error {
	w, err := sess.c.Data()
	if err != nil {
		return s.stepError(ctx, err, "DATA", false)
	}
	if _, err := w.Write(msg); err != nil {
		return s.stepError(ctx, err, "message", true)
	}
	// The message is out: wait for the server's answer even if ctx ends
	// now (bounded by the deadline). A server that accepts it delivers it;
	// reporting a failure would leave the notice pending and its retry
	// would mail it again.
	sess.detach()
	if err := w.Close(); err != nil {
		return s.stepError(ctx, err, "message", true)
	}
	return nil
}

func (s *SMTPSender) isLocal(a net.Addr) bool {
	if s.local != nil {
		return s.local(a)
	}
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// stepError turns a failure at one step into an error without the server's
// text (which may quote the address). A 5xx reply is permanent where
// recipientStep says the step is about this recipient or message.
func (s *SMTPSender) stepError(ctx context.Context, err error, step string, recipientStep bool) error {
	if ctx.Err() != nil {
		return ioError(ctx, err, "email: "+step)
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		msg := "email: " + step + " refused with " + replyCode(tp)
		if tp.Code >= 500 && recipientStep {
			return permanentf("%s", msg)
		}
		return temporaryf("%s", msg)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "smtp: ") || safeSMTPErrors[msg] {
		// net/smtp's own fixed messages ("smtp: server doesn't support
		// AUTH", PlainAuth's "unencrypted connection"): safe to show.
		return temporaryf("email: %s: %s", step, msg)
	}
	return ioError(ctx, err, "email: "+step)
}

// safeSMTPErrors are net/smtp's fixed messages without the "smtp: " prefix.
var safeSMTPErrors = map[string]bool{
	"unencrypted connection":      true,
	"wrong host name":             true,
	"unexpected server challenge": true,
}

// replyCode is the reply code and, when the text starts with one, the
// enhanced status code ("550 5.1.1"), without the rest of the text.
func replyCode(tp *textproto.Error) string {
	code := itoa(tp.Code)
	if f := strings.Fields(tp.Msg); len(f) > 0 && isEnhancedCode(f[0]) {
		code += " " + f[0]
	}
	return code
}

func isEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func itoa(n int) string {
	if n < 0 || n > 999 {
		return "???"
	}
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}
