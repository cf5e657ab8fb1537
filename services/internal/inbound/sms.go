package inbound

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/connectors"
)

// SMSPath is where the SMS gateway posts mobile-originated messages.
const SMSPath = "/sms/inbound"

// maxSMSBody bounds a webhook request (a long SMS is a few kilobytes).
const maxSMSBody = 64 << 10

// SMS is one mobile-originated message as the SMS gateway posts it (JSON).
type SMS struct {
	ID   string `json:"id"`   // the gateway's message id: the same id is taken once
	From string `json:"from"` // the sender's phone, E.164
	Text string `json:"text"`
}

// SMSWebhook receives the SMS gateway's messages. A request is signed like
// every Redress webhook (connectors.Sign: HMAC-SHA256 over the timestamp and
// the body under Secret, headers X-Redress-Timestamp and
// X-Redress-Signature); an unsigned, forged or stale one (older than five
// minutes) is refused with 401.
type SMSWebhook struct {
	Gateway *Gateway
	Secret  []byte
	Now     func() time.Time // defaults to time.Now
}

func (h *SMSWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSMSBody))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if len(h.Secret) == 0 || connectors.VerifySignature(h.Secret, r.Header, body, now()) != nil {
		h.Gateway.Log.Warn("inbound SMS refused: signature")
		http.Error(w, "signature invalid", http.StatusUnauthorized)
		return
	}
	var m SMS
	if err := json.Unmarshal(body, &m); err != nil || m.ID == "" || m.From == "" || strings.TrimSpace(m.Text) == "" {
		http.Error(w, "a JSON object with id, from and text is expected", http.StatusBadRequest)
		return
	}
	out, err := h.Gateway.HandleSMS(r.Context(), m)
	if err != nil {
		// The SMS gateway delivers again later; the id makes it once.
		http.Error(w, "not taken now; deliver again", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"outcome": string(out)})
}

// HandleSMS takes one SMS: a text naming a case number of the sender's is
// added to that case, any other opens a case (channel sms). An error means
// intake could not take it now.
func (g *Gateway) HandleSMS(ctx context.Context, m SMS) (Outcome, error) {
	text := truncate(strings.TrimSpace(m.Text), maxText)
	if number := CaseNumber(text); number != "" {
		resp, err := g.Inbound.ComplainantWrote(ctx, &intakev1.ComplainantWroteRequest{
			Channel: intakev1.Channel_CHANNEL_SMS, ExternalId: m.ID, CaseNumber: number, Sender: m.From, Body: text,
		})
		switch status.Code(err) {
		case codes.OK:
			return g.done(resp.GetReplayed(), Answered, "sms", resp.GetCaseId()), nil
		case codes.NotFound: // not a case of this phone's: a new complaint
		case codes.InvalidArgument, codes.FailedPrecondition:
			g.Log.Warn("inbound sms refused by intake", "code", status.Code(err).String(), "reason", fieldOf(err))
			return Refused, nil
		default:
			return "", err
		}
	}
	return g.submit(ctx, &intakev1.SubmitComplaintRequest{
		IdempotencyKey: idempotencyKey("sms", m.ID), Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
		Category: intakev1.Category_CATEGORY_OTHER, Channel: intakev1.Channel_CHANNEL_SMS,
		Complainant: &intakev1.Complainant{Phone: m.From, PreferredContact: "sms"},
		Description: text, Language: language("", text),
	}, "sms", 0)
}
