// Package smtptest runs a real SMTP server (emersion/go-smtp) on loopback for
// tests, keeping every message it receives, decoded for assertions.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received message with its subject and text decoded.
type Message struct {
	From    string
	To      []string
	Header  mail.Header
	Subject string
	Body    string // decoded text of the (first text) part
	Raw     []byte
	// TLS is true when the message came over a TLS (STARTTLS) connection.
	TLS bool
	// AuthUser is the user the client authenticated as, "" if none.
	AuthUser string
}

// Options configure a server started with StartWith.
type Options struct {
	// TLS, when set, makes the server offer STARTTLS (see SelfSignedTLS).
	TLS *tls.Config
	// Users, when set, makes the server offer AUTH PLAIN and refuse mail
	// from clients that did not authenticate. Keyed by user name.
	Users map[string]string
	// RejectRcpt, when set, refuses a recipient for which it returns true
	// with a permanent 550 5.1.1.
	RejectRcpt func(addr string) bool
	// IdleTimeout, when set, closes a connection that sends nothing for
	// that long (default 10 s).
	IdleTimeout time.Duration
	// OnMessage, when set, runs once a message has been read in full and
	// before the server answers it: a test stops its client there.
	OnMessage func()
}

// Server is a running SMTP server.
type Server struct {
	srv  *smtp.Server
	lis  net.Listener
	mu   sync.Mutex
	msgs []Message
	// FailNext makes the next n transactions fail with a temporary error.
	failNext int
	opts     Options
	conns    atomic.Int64
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith runs a server on 127.0.0.1 with options until the test ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts}
	s.srv = smtp.NewServer(&backend{s: s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = opts.TLS == nil
	s.srv.TLSConfig = opts.TLS
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	if opts.IdleTimeout > 0 {
		s.srv.ReadTimeout = opts.IdleTimeout
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s.lis = countingListener{Listener: lis, n: &s.conns}
	go func() { _ = s.srv.Serve(s.lis) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is the host:port to send to.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Connections is how many connections the server accepted so far.
func (s *Server) Connections() int { return int(s.conns.Load()) }

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// FailNext makes the next n messages be refused with a temporary (4xx) error.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Messages returns what was received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits for a message matching match and returns it.
func (s *Server) WaitFor(t testing.TB, limit time.Duration, match func(Message) bool) Message {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		for _, m := range s.Messages() {
			if match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: no matching message within %v (%d received)", limit, len(s.Messages()))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// WaitCount waits until exactly n messages were received, and fails on more.
func (s *Server) WaitCount(t testing.TB, n int, limit time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msgs := s.Messages()
		if len(msgs) > n {
			t.Fatalf("smtptest: %d messages received, want %d", len(msgs), n)
		}
		if len(msgs) == n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: %d messages within %v, want %d", len(msgs), limit, n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: b.s, tls: isTLS}, nil
}

type session struct {
	s    *Server
	tls  bool
	user string
	from string
	to   []string
}

// AuthMechanisms offers PLAIN only when the server has users.
func (x *session) AuthMechanisms() []string {
	if len(x.s.opts.Users) == 0 {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || len(x.s.opts.Users) == 0 {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if want, ok := x.s.opts.Users[user]; !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		x.user = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(x.s.opts.Users) > 0 && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if x.s.opts.RejectRcpt != nil && x.s.opts.RejectRcpt(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here: " + to}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.s.opts.OnMessage != nil {
		x.s.opts.OnMessage()
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.failNext > 0 {
		x.s.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m := Message{From: x.from, To: append([]string(nil), x.to...), Raw: raw, TLS: x.tls, AuthUser: x.user}
	if parsed, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = parsed.Header
		dec := new(mime.WordDecoder)
		if subj, err := dec.DecodeHeader(parsed.Header.Get("Subject")); err == nil {
			m.Subject = subj
		}
		m.Body = decodeBody(parsed.Header.Get("Content-Type"), parsed.Header.Get("Content-Transfer-Encoding"), parsed.Body)
	}
	x.s.msgs = append(x.s.msgs, m)
	return nil
}

// decodeBody returns the text of a message: the body itself, or the first
// text part of a multipart message, with its transfer encoding undone.
func decodeBody(contentType, encoding string, r io.Reader) string {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err == nil && strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return ""
			}
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/") {
				return decodeBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
	}
	var body []byte
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body, err = io.ReadAll(quotedprintable.NewReader(r))
	case "base64":
		body, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, newlineStripper{r}))
	default:
		body, err = io.ReadAll(r)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return string(body)
	}
	return string(body)
}

// newlineStripper drops CR and LF so base64 lines decode as one stream.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	buf := make([]byte, len(p))
	k, err := n.r.Read(buf)
	j := 0
	for _, b := range buf[:k] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	return j, err
}

// SelfSignedTLS is a server TLS configuration with a fresh self-signed
// certificate for 127.0.0.1 and localhost; clients must skip verification
// (or trust the returned pool).
func SelfSignedTLS(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtptest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}, pool
}
