// Package devmail is a local mail server for development and tests, so that
// Redress's mail can be tried with nothing installed: SMTP in (go-smtp), the
// mailboxes served over IMAP (go-imap's in-memory server) and a page listing
// every mail delivered. Mail to the complaints address lands in the
// complaints mailbox, which the inbound gateway reads; mail to any other
// address (the notices Redress sends) in a catch-all mailbox. Nothing is
// kept on disk, and nothing is authenticated beyond the mailboxes' one
// password: it listens on loopback only.
package devmail

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// Config says where the mail server listens ("127.0.0.1:0" picks a port).
type Config struct {
	SMTPAddr, IMAPAddr, PageAddr string
	// Domain of the complaints address (complaints@Domain).
	Domain string
	// Password of both IMAP mailboxes.
	Password string
	Log      *slog.Logger
}

// Delivered is one delivered mail as the page lists it.
type Delivered struct {
	At       time.Time
	From, To string
	Subject  string
	Mailbox  string // the IMAP user it was delivered to
	Size     int
}

// Server is a running mail server.
type Server struct {
	cfg                  Config
	mem                  *imapmemserver.Server
	complaints, catchAll *imapmemserver.User
	smtp                 *smtp.Server
	imap                 *imapserver.Server
	page                 *http.Server
	smtpLis, imapLis     net.Listener
	pageLis              net.Listener
	mu                   sync.Mutex
	delivered            []Delivered
}

// CatchAllUser is the IMAP user holding every mail not to the complaints
// address (the notices Redress sends).
const CatchAllUser = "notices"

// Start listens and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Domain == "" {
		cfg.Domain = "redress.localhost"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mem: imapmemserver.New()}
	s.complaints = imapmemserver.NewUser(s.ComplaintsAddress(), cfg.Password)
	s.catchAll = imapmemserver.NewUser(CatchAllUser, cfg.Password)
	for _, u := range []*imapmemserver.User{s.complaints, s.catchAll} {
		if err := u.Create("INBOX", nil); err != nil {
			return nil, err
		}
		s.mem.AddUser(u)
	}
	var err error
	if s.smtpLis, err = net.Listen("tcp", cfg.SMTPAddr); err != nil {
		return nil, fmt.Errorf("dev mail SMTP: %w", err)
	}
	if s.imapLis, err = net.Listen("tcp", cfg.IMAPAddr); err != nil {
		_ = s.smtpLis.Close()
		return nil, fmt.Errorf("dev mail IMAP: %w", err)
	}
	if s.pageLis, err = net.Listen("tcp", cfg.PageAddr); err != nil {
		_ = s.smtpLis.Close()
		_ = s.imapLis.Close()
		return nil, fmt.Errorf("dev mail page: %w", err)
	}
	s.smtp = smtp.NewServer(&backend{s: s})
	s.smtp.Domain = "localhost"
	s.smtp.ReadTimeout, s.smtp.WriteTimeout = 30*time.Second, 30*time.Second
	s.smtp.MaxMessageBytes = 25 << 20
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       discard{},
	})
	s.page = &http.Server{Handler: http.HandlerFunc(s.servePage), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.smtp.Serve(s.smtpLis) }()
	go func() { _ = s.imap.Serve(s.imapLis) }()
	go func() { _ = s.page.Serve(s.pageLis) }()
	return s, nil
}

// Close stops the three listeners.
func (s *Server) Close() error {
	return errors.Join(s.smtp.Close(), s.imap.Close(), s.page.Close())
}

// SMTPAddr, IMAPAddr: host:port. PageURL: the page listing delivered mail.
func (s *Server) SMTPAddr() string { return s.smtpLis.Addr().String() }
func (s *Server) IMAPAddr() string { return s.imapLis.Addr().String() }
func (s *Server) PageURL() string  { return "http://" + s.pageLis.Addr().String() + "/" }

// ComplaintsAddress is the address complaints are mailed to; it is also the
// complaints mailbox's IMAP user name.
func (s *Server) ComplaintsAddress() string { return "complaints@" + s.cfg.Domain }

// Delivered lists what was delivered, oldest first.
func (s *Server) Delivered() []Delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivered(nil), s.delivered...)
}

// Deliver puts one raw mail into the recipient's mailbox: the complaints
// mailbox for the complaints address, the catch-all one for any other.
func (s *Server) Deliver(from, to string, raw []byte) error {
	user, box := s.catchAll, CatchAllUser
	if strings.EqualFold(strings.TrimSpace(to), s.ComplaintsAddress()) {
		user, box = s.complaints, s.ComplaintsAddress()
	}
	if _, err := user.Append("INBOX", bytes.NewReader(raw), &imap.AppendOptions{Time: time.Now()}); err != nil {
		return err
	}
	d := Delivered{At: time.Now(), From: from, To: to, Mailbox: box, Size: len(raw)}
	if mr, err := mail.CreateReader(bytes.NewReader(raw)); mr != nil {
		d.Subject, _ = mr.Header.Subject()
		_ = mr.Close()
	} else {
		s.cfg.Log.Debug("dev mail: header unreadable", "err", err)
	}
	s.mu.Lock()
	s.delivered = append(s.delivered, d)
	s.mu.Unlock()
	return nil
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redress development mail</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}</style></head>
<body><h1>Development mail</h1>
<p>SMTP <code>{{.SMTP}}</code> · IMAP <code>{{.IMAP}}</code> (users <code>{{.Complaints}}</code> and <code>notices</code>) ·
mail a complaint to <code>{{.Complaints}}</code>.</p>
<table><thead><tr><th>Delivered</th><th>From</th><th>To</th><th>Subject</th><th>Mailbox</th><th>Bytes</th></tr></thead><tbody>
{{range .Mail}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{.Subject}}</td><td>{{.Mailbox}}</td><td>{{.Size}}</td></tr>
{{else}}<tr><td colspan="6">No mail yet.</td></tr>{{end}}
</tbody></table></body></html>`))

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	mails := s.Delivered()
	for i, j := 0, len(mails)-1; i < j; i, j = i+1, j-1 { // newest first
		mails[i], mails[j] = mails[j], mails[i]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"SMTP": s.SMTPAddr(), "IMAP": s.IMAPAddr(), "Complaints": s.ComplaintsAddress(), "Mail": mails})
}

type backend struct{ s *Server }

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

// session takes any sender and any recipient (a catch-all).
type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range x.to {
		if err := x.s.Deliver(x.from, to, raw); err != nil {
			return err
		}
	}
	return nil
}
func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

type discard struct{}

func (discard) Printf(string, ...any) {}
