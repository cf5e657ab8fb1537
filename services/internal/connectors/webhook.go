package connectors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/outbound"
	wf "github.com/redress/redress/workflows/deletion"
)

// Signature headers of webhook requests and callbacks. The signature is
// "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body); a timestamp
// outside SignatureTolerance is refused, so a captured request cannot be
// replayed later.
const (
	HeaderTimestamp    = "X-Redress-Timestamp"
	HeaderSignature    = "X-Redress-Signature"
	SignatureTolerance = 5 * time.Minute
)

// Sign answers the signature header value of body at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10) + "."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrSignature is answered for a missing, stale or forged signature.
var ErrSignature = errors.New("webhook signature invalid")

// VerifySignature checks the headers of a signed body at now.
func VerifySignature(secret []byte, h http.Header, body []byte, now time.Time) error {
	sec, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return ErrSignature
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > SignatureTolerance || d < -SignatureTolerance {
		return ErrSignature
	}
	if !hmac.Equal([]byte(h.Get(HeaderSignature)), []byte(Sign(secret, ts, body))) {
		return ErrSignature
	}
	return nil
}

// Webhook reaches a system through HTTPS: signed requests to URL, and an
// asynchronous signed callback when the remote system finished deleting.
type Webhook struct {
	Name   string
	URL    string // https only
	Secret []byte
	// Client defaults to an outbound client (https only, internal addresses
	// refused unless AllowPrivate). Redirects are refused either way: one
	// would re-send the identifiers elsewhere.
	Client       *http.Client
	AllowPrivate bool          // the administrator allowed an internal address for URL
	Timeout      time.Duration // per attempt, default 10 s
	MaxAttempts  int           // per call, default 3; the activity retries beyond
	DB           *gorm.DB      // where callbacks are recorded
	Now          func() time.Time

	clientOnce sync.Once
	built      *http.Client
}

// webhookMessage is what Redress sends. Identifiers travel only to the
// remote system, inside the signed TLS request.
type webhookMessage struct {
	Op         string     `json:"op"` // locate | delete
	DeletionID string     `json:"deletion_id"`
	Step       string     `json:"step,omitempty"`
	Phone      string     `json:"phone,omitempty"`
	HeldFrom   *time.Time `json:"phone_held_from,omitempty"`
	HeldUntil  *time.Time `json:"phone_held_until,omitempty"`
	Email      string     `json:"email,omitempty"`
	// Suppress, on a delete, passes the suppression list on: the identifiers
	// are now on Redress's suppression list, so the remote system must not
	// re-create their data from its own syncs or imports; before it does,
	// it asks DeletionService.CheckSuppression with the identifiers it is
	// about to import (permission deletion.suppression_check).
	Suppress bool `json:"suppress,omitempty"`
}

type webhookAnswer struct {
	Found     int64  `json:"found"`
	Digest    string `json:"digest"`
	Reference string `json:"reference"`
}

func (w *Webhook) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Webhook) call(ctx context.Context, msg webhookMessage) (webhookAnswer, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return webhookAnswer{}, err
	}
	client := w.client()
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	attempts := max(w.MaxAttempts, 1)
	if w.MaxAttempts == 0 {
		attempts = 3
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return webhookAnswer{}, ctx.Err()
			case <-time.After(time.Duration(100<<i) * time.Millisecond):
			}
		}
		var ans webhookAnswer
		ans, last = w.once(ctx, client, timeout, body)
		if last == nil {
			return ans, nil
		}
		var perm *permanentError
		if errors.As(last, &perm) {
			return webhookAnswer{}, last
		}
	}
	return webhookAnswer{}, last
}

// client answers the HTTP client of every attempt (built once).
func (w *Webhook) client() *http.Client {
	w.clientOnce.Do(func() {
		if w.Client != nil {
			w.built = outbound.NoRedirects(w.Client)
		} else {
			w.built = outbound.NewClient(outbound.Options{Timeout: w.Timeout, AllowPrivate: w.AllowPrivate})
		}
	})
	return w.built
}

type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// once is one attempt; errors name the connector and the status only.
func (w *Webhook) once(ctx context.Context, client *http.Client, timeout time.Duration, body []byte) (webhookAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := outbound.CheckURL(w.URL); err != nil {
		return webhookAnswer{}, &permanentError{fmt.Sprintf("webhook %s: url %v", w.Name, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return webhookAnswer{}, &permanentError{fmt.Sprintf("webhook %s: bad URL", w.Name)}
	}
	req.Header.Set("Content-Type", "application/json")
	ts := w.now()
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return webhookAnswer{}, fmt.Errorf("webhook %s: %s", w.Name, transportReason(err, timeout))
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return webhookAnswer{}, fmt.Errorf("webhook %s: status %d", w.Name, resp.StatusCode)
	case resp.StatusCode >= 300:
		return webhookAnswer{}, &permanentError{fmt.Sprintf("webhook %s: refused with status %d", w.Name, resp.StatusCode)}
	}
	var ans webhookAnswer
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &ans); err != nil {
			return webhookAnswer{}, fmt.Errorf("webhook %s: unreadable answer", w.Name)
		}
	}
	return ans, nil
}

func (w *Webhook) message(op string, s Subject) webhookMessage {
	m := webhookMessage{Op: op, DeletionID: s.DeletionID, Email: s.Email}
	if s.Phone != nil {
		m.Phone, m.HeldFrom, m.HeldUntil = s.Phone.Number, s.Phone.From, s.Phone.Until
	}
	return m
}

// Locate asks the remote system what it holds.
func (w *Webhook) Locate(ctx context.Context, s Subject) (Found, error) {
	ans, err := w.call(ctx, w.message("locate", s))
	if err != nil {
		return Found{}, err
	}
	f := Found{Digest: ans.Digest}
	if ans.Found > 0 {
		f.Items = []wf.PlanItem{{Target: w.Name, Action: wf.ActionWebhook, Count: ans.Found}}
	}
	return f, nil
}

// Apply asks the remote system to delete; it confirms by callback. The
// remote side deduplicates on (deletion_id, step).
func (w *Webhook) Apply(ctx context.Context, s Subject, step string, items []wf.PlanItem) (Result, error) {
	if step != StepExecute {
		return Result{}, nil
	}
	m := w.message("delete", s)
	m.Step, m.Suppress = step, true
	ans, err := w.call(ctx, m)
	if err != nil {
		return Result{}, err
	}
	var n int64
	for _, it := range items {
		n += it.Count
	}
	return Result{Affected: n, Reference: ans.Reference}, nil
}

// ErrAwaitingCallback is answered by Remaining until the callback came.
var ErrAwaitingCallback = errors.New("webhook: awaiting the signed callback")

// Remaining answers what the callback reported.
func (w *Webhook) Remaining(ctx context.Context, s Subject, step string) (int64, error) {
	if step != StepExecute {
		return 0, nil
	}
	var cb deletion.WebhookCallback
	err := w.DB.WithContext(ctx).Take(&cb, "deletion_id = ? AND connector = ?", s.DeletionID, w.Name).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, ErrAwaitingCallback
	}
	if err != nil {
		return 0, err
	}
	return cb.Remaining, nil
}

// Callback is the body a remote system posts when it has finished.
type Callback struct {
	DeletionID string `json:"deletion_id"`
	Status     string `json:"status"` // done | failed
	Remaining  int64  `json:"remaining"`
}

// CallbackHandler receives signed callbacks at .../<connector>. A forged or
// stale signature is refused with 401 and recorded in the audit chain.
type CallbackHandler struct {
	DB      *gorm.DB
	Secrets func(connector string) ([]byte, bool)
	Now     func() time.Time
}

func (h *CallbackHandler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(rw, "POST only", http.StatusMethodNotAllowed)
		return
	}
	name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(rw, "unreadable body", http.StatusBadRequest)
		return
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	secret, ok := h.Secrets(name)
	if !ok {
		http.Error(rw, "unknown connector", http.StatusNotFound)
		return
	}
	var cb Callback
	_ = json.Unmarshal(body, &cb)
	if err := VerifySignature(secret, r.Header, body, now); err != nil {
		h.rejected(name, "bad_signature", cb.DeletionID)
		http.Error(rw, "invalid signature", http.StatusUnauthorized)
		return
	}
	if cb.Status != "done" && cb.Status != "failed" || len(cb.DeletionID) != 36 {
		http.Error(rw, "bad callback", http.StatusBadRequest)
		return
	}
	err = h.DB.Transaction(func(tx *gorm.DB) error {
		row := deletion.WebhookCallback{DeletionID: cb.DeletionID, Connector: name, Status: cb.Status, Remaining: cb.Remaining, ReceivedAt: now.UTC()}
		if cb.Status == "failed" && row.Remaining == 0 {
			row.Remaining = 1
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{Actor: "connector:" + name, Action: "deletion.callback_received", ObjectType: "deletion_request",
			ObjectID: cb.DeletionID, Details: map[string]any{"connector": name, "status": cb.Status, "remaining": row.Remaining}})
		return err
	})
	if err != nil {
		http.Error(rw, "not recorded; retry", http.StatusServiceUnavailable)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

// rejected counts a refused callback: anyone who can reach the endpoint can
// send them, so the chain gets one "deletion.callback_rejected" entry per
// connector and minute with the count and the first requests named.
func (h *CallbackHandler) rejected(connector, reason, deletionID string) {
	if len(deletionID) != 36 {
		deletionID = ""
	}
	_ = audit.Count(h.DB, audit.Counted{Action: "deletion.callback_rejected", Actor: "connector:" + connector,
		ObjectType: "connector", ObjectID: connector, Kind: reason, Sample: deletionID})
}
