package inbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TakenFlag marks a mail the gateway has taken (opened a case, answered
// one, or ignored for good). Mail without it is read, whether or not a
// person has opened it in a mail program meanwhile.
const TakenFlag imap.Flag = "$RedressTaken"

// Mailbox is where complaints arrive.
type Mailbox struct {
	Addr           string // host:port
	User, Password string
	Folder         string // default INBOX
	// TLS: implicit TLS (port 993); otherwise the connection is upgraded
	// with STARTTLS unless Insecure (a local development mailbox only).
	TLS, Insecure bool
	TLSConfig     *tls.Config
	// Poll is how often the mailbox is looked at when the server does not
	// offer IDLE, and the longest IDLE before it is renewed (default 1 minute).
	Poll time.Duration
}

// Reader takes every mail of the mailbox, once: each new mail is handed to
// the gateway and then flagged TakenFlag (and \Seen). A mail intake cannot
// take now stays unflagged and is tried again on the next round; a mail
// handled but not flagged (a crash between) is recognised by intake by its
// Message-ID when it comes again.
type Reader struct {
	Mailbox Mailbox
	Gateway *Gateway
	Log     *slog.Logger
}

// Run reads the mailbox until ctx ends, reconnecting after a failure.
func (r *Reader) Run(ctx context.Context) error {
	backoff := time.Second
	for {
		start := time.Now()
		err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		r.Log.Warn("complaints mailbox: reconnecting", "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (r *Reader) poll() time.Duration {
	if r.Mailbox.Poll > 0 {
		return r.Mailbox.Poll
	}
	return time.Minute
}

// session is one connection: log in, take what is waiting, then wait for
// more (IDLE where offered, else polling).
func (r *Reader) session(ctx context.Context) error {
	arrived := make(chan struct{}, 1)
	opts := &imapclient.Options{
		TLSConfig: r.Mailbox.TLSConfig,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				select {
				case arrived <- struct{}{}:
				default:
				}
			}
		}},
	}
	var c *imapclient.Client
	var err error
	switch {
	case r.Mailbox.TLS:
		c, err = imapclient.DialTLS(r.Mailbox.Addr, opts)
	case r.Mailbox.Insecure:
		c, err = imapclient.DialInsecure(r.Mailbox.Addr, opts)
	default:
		c, err = imapclient.DialStartTLS(r.Mailbox.Addr, opts)
	}
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer func() { _ = c.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if err := c.Login(r.Mailbox.User, r.Mailbox.Password).Wait(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	folder := r.Mailbox.Folder
	if folder == "" {
		folder = "INBOX"
	}
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		return fmt.Errorf("select: %w", err)
	}
	r.Log.Info("complaints mailbox open", "idle", c.Caps().Has(imap.CapIdle))
	for {
		if err := r.takeWaiting(ctx, c); err != nil {
			return err
		}
		if err := r.wait(ctx, c, arrived); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// wait returns when new mail may have arrived: at once when IDLE reports it,
// else after the poll interval.
func (r *Reader) wait(ctx context.Context, c *imapclient.Client, arrived <-chan struct{}) error {
	timer := time.NewTimer(r.poll())
	defer timer.Stop()
	if !c.Caps().Has(imap.CapIdle) {
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		return nil
	}
	idle, err := c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-arrived:
	case <-timer.C:
	case <-c.Closed():
	}
	if err := idle.Close(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("idle: %w", err)
	}
	if err := idle.Wait(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("idle: %w", err)
	}
	return nil
}

// errLater stops a round: intake could not take a mail now.
var errLater = errors.New("intake unavailable")

// takeWaiting hands every mail not yet taken to the gateway, oldest first.
func (r *Reader) takeWaiting(ctx context.Context, c *imapclient.Client) error {
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{TakenFlag}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	for _, uid := range found.AllUIDs() {
		err := r.take(ctx, c, uid)
		if errors.Is(err, errLater) {
			return nil // the next round tries it again
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) take(ctx context.Context, c *imapclient.Client, uid imap.UID) error {
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	if len(msgs) == 0 {
		return nil // expunged meanwhile
	}
	callCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := r.Gateway.HandleMail(callCtx, msgs[0].FindBodySection(section)); err != nil {
		r.Log.Warn("complaints mailbox: intake did not take a mail; trying again later", "uid", uint32(uid), "err", err)
		return errLater
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{TakenFlag, imap.FlagSeen}}
	if err := c.Store(imap.UIDSetNum(uid), store, nil).Close(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
