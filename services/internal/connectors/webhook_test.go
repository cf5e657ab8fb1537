package connectors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/deletion"
)

var secret = []byte("shared-webhook-secret")

// A remote system that answers 503 twice, then 200; it checks every signature.
func TestWebhookRetriesAndSigns(t *testing.T) {
	var calls, badSig atomic.Int32
	var gotOps []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if connectors.VerifySignature(secret, r.Header, body, time.Now()) != nil {
			badSig.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		gotOps = append(gotOps, m["op"].(string))
		if suppress := m["suppress"] == true; suppress != (m["op"] == "delete") {
			t.Errorf("%s: suppress %v (a delete passes the suppression list on; a locate does not)", m["op"], m["suppress"])
		}
		if m["phone"] != "13900000001" {
			t.Errorf("phone not sent: %v", m["phone"])
		}
		w.Write([]byte(`{"found": 3, "digest": "abc", "reference": "remote-42"}`))
	}))
	defer srv.Close()
	hook := &connectors.Webhook{Name: "crm", URL: srv.URL, Secret: secret, Client: srv.Client(), MaxAttempts: 3}
	from := time.Now().AddDate(-1, 0, 0)
	s := connectors.Subject{DeletionID: uuid.NewString(), Phone: &connectors.Phone{Number: "13900000001", From: &from}}
	f, err := hook.Locate(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || badSig.Load() != 0 {
		t.Fatalf("calls %d (want 3: two failures then success), bad signatures %d", calls.Load(), badSig.Load())
	}
	if len(f.Items) != 1 || f.Items[0].Count != 3 || f.Items[0].Action != wf.ActionWebhook {
		t.Fatalf("found %+v", f)
	}
	res, err := hook.Apply(context.Background(), s, connectors.StepExecute, f.Items)
	if err != nil || res.Reference != "remote-42" || res.Affected != 3 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if !slices.Equal(gotOps, []string{"locate", "delete"}) {
		t.Fatalf("ops %v", gotOps)
	}

	// A wrong secret is refused by the remote side: a permanent failure, not retried.
	calls.Store(0)
	bad := &connectors.Webhook{Name: "crm", URL: srv.URL, Secret: []byte("wrong"), Client: srv.Client(), MaxAttempts: 3}
	if _, err := bad.Locate(context.Background(), s); err == nil || badSig.Load() != 1 {
		t.Fatalf("wrong secret: err %v, refusals %d (want one, no retry)", err, badSig.Load())
	}
}

func TestSignatureRejectsStaleAndForged(t *testing.T) {
	body := []byte(`{"x":1}`)
	now := time.Now()
	h := http.Header{}
	h.Set(connectors.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(connectors.HeaderSignature, connectors.Sign(secret, now, body))
	if err := connectors.VerifySignature(secret, h, body, now); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	if connectors.VerifySignature(secret, h, []byte(`{"x":2}`), now) == nil {
		t.Error("tampered body accepted")
	}
	if connectors.VerifySignature(secret, h, body, now.Add(10*time.Minute)) == nil {
		t.Error("stale timestamp accepted")
	}
}

func newRequest(t *testing.T, db *gorm.DB) string {
	t.Helper()
	keys, err := crypto.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r := deletion.Request{ID: uuid.NewString(), Type: "erasure", Source: "self", Status: wf.StatusExecuting, SubjectKeyID: k.ID,
		DueAt: now.Add(time.Hour), SubmittedBy: "test", CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestCallbackForgedIsRejectedAndAudited(t *testing.T) {
	db := pgtest.Open(t)
	id := newRequest(t, db)
	h := &connectors.CallbackHandler{DB: db, Secrets: func(name string) ([]byte, bool) { return secret, name == "crm" }}
	srv := httptest.NewTLSServer(http.StripPrefix("/deletion/callback", h))
	defer srv.Close()
	post := func(key []byte) int {
		body := []byte(`{"deletion_id":"` + id + `","status":"done","remaining":0}`)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/deletion/callback/crm", bytes.NewReader(body))
		now := time.Now()
		req.Header.Set(connectors.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(connectors.HeaderSignature, connectors.Sign(key, now, body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	hook := &connectors.Webhook{Name: "crm", DB: db}
	s := connectors.Subject{DeletionID: id}
	if _, err := hook.Remaining(context.Background(), s, connectors.StepExecute); err != connectors.ErrAwaitingCallback {
		t.Fatalf("before callback: %v", err)
	}
	// Forged callbacks are counted per connector and minute, not each
	// appended to the chain: a flood of them makes one entry with its count.
	const forged = 20
	for range forged {
		if code := post([]byte("forged")); code != http.StatusUnauthorized {
			t.Fatalf("forged callback answered %d", code)
		}
	}
	var n int64
	db.Table("audit_entries").Where("action = 'deletion.callback_rejected'").Count(&n)
	if n != 0 {
		t.Fatalf("%d forged callbacks made %d chain entries before the minute was flushed, want 0", forged, n)
	}
	if _, err := audit.FlushCounts(context.Background(), db, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.ForObject(context.Background(), db, "connector", "crm")
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, e := range entries { // one per minute: the posts may straddle a boundary
		samples, _ := e.Details["samples"].([]any)
		if e.Action != "deletion.callback_rejected" || e.Actor != "connector:crm" || len(samples) != 1 || samples[0] != id {
			t.Fatalf("entry %+v", e)
		}
		total += e.Details["count"].(float64)
	}
	if len(entries) < 1 || len(entries) > 2 || total != forged {
		t.Fatalf("%d entries counting %v forged callbacks, want one per minute counting %d", len(entries), total, forged)
	}
	if _, err := hook.Remaining(context.Background(), s, connectors.StepExecute); err != connectors.ErrAwaitingCallback {
		t.Fatalf("forged callback was recorded: %v", err)
	}
	if code := post(secret); code != http.StatusNoContent {
		t.Fatalf("genuine callback answered %d", code)
	}
	if left, err := hook.Remaining(context.Background(), s, connectors.StepExecute); err != nil || left != 0 {
		t.Fatalf("after callback: %d %v", left, err)
	}
}
