package regulator

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Callback headers: the regulator body that calls, and its Ed25519
// signature of the body.
const (
	HeaderBody               = "X-Regulator-Body"
	HeaderRegulatorSignature = "X-Regulator-Signature"
)

// Errors the Acknowledge function answers, mapped to HTTP statuses.
var (
	ErrUnknownEscalation = errors.New("unknown escalation")
	ErrNotAwaitingAck    = errors.New("escalation is not awaiting an acknowledgement")
)

// CallbackRequest is what a regulator posts when it acknowledges a filing
// after the fact (the filing answer was 202).
type CallbackRequest struct {
	EscalationID      string `json:"escalation_id"`
	AcknowledgementID string `json:"acknowledgement_id"`
}

// Callback receives late acknowledgements. Only bodies with a configured
// public key may call, and only with a valid signature of the exact body.
type Callback struct {
	Keys        map[string]ed25519.PublicKey // by regulator body
	Acknowledge func(ctx context.Context, body, escalationID, reference string) error
}

func (c *Callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	body := r.Header.Get(HeaderBody)
	key, ok := c.Keys[body]
	if !ok || !VerifySignature(key, raw, r.Header.Get(HeaderRegulatorSignature)) {
		http.Error(w, "unknown regulator or bad signature", http.StatusUnauthorized)
		return
	}
	var req CallbackRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.EscalationID == "" || req.AcknowledgementID == "" || len(req.AcknowledgementID) > 200 {
		http.Error(w, "escalation_id and acknowledgement_id (at most 200 characters) are required", http.StatusBadRequest)
		return
	}
	switch err := c.Acknowledge(r.Context(), body, req.EscalationID, req.AcknowledgementID); {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrUnknownEscalation):
		http.Error(w, "unknown escalation", http.StatusNotFound)
	case errors.Is(err, ErrNotAwaitingAck):
		http.Error(w, "escalation is not awaiting an acknowledgement", http.StatusConflict)
	default:
		http.Error(w, "try again later", http.StatusServiceUnavailable)
	}
}
