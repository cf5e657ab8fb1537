package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	wf "github.com/redress/redress/workflows/deletion"
)

// remoteCRM is a partner system behind the webhook connector. It answers
// locate with one record; the first delete hangs (the worker is killed
// meanwhile); it deduplicates deletes by (deletion_id, step) and confirms
// each request once with a signed callback.
type remoteCRM struct {
	t        *testing.T
	secret   []byte
	callback string
	client   *http.Client
	mu       sync.Mutex
	deletes  int
	done     map[string]bool
	entered  chan struct{}
}

func (c *remoteCRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if connectors.VerifySignature(c.secret, r.Header, body, time.Now()) != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m struct{ Op, DeletionID, Step string }
	var raw map[string]string
	_ = json.Unmarshal(body, &raw)
	m.Op, m.DeletionID, m.Step = raw["op"], raw["deletion_id"], raw["step"]
	if m.Op == "locate" {
		w.Write([]byte(`{"found": 1, "digest": "crm-before"}`))
		return
	}
	c.mu.Lock()
	c.deletes++
	first := c.deletes == 1
	if first {
		c.mu.Unlock()
		close(c.entered)
		<-r.Context().Done() // the worker dies with this call open: nothing was done
		return
	}
	already := c.done[m.DeletionID+m.Step]
	c.done[m.DeletionID+m.Step] = true
	c.mu.Unlock()
	w.Write([]byte(`{"reference": "crm-` + m.DeletionID[:8] + `"}`))
	if !already {
		go c.confirm(m.DeletionID)
	}
}

func (c *remoteCRM) confirm(id string) {
	body := []byte(`{"deletion_id":"` + id + `","status":"done","remaining":0}`)
	req, _ := http.NewRequest(http.MethodPost, c.callback+"/deletion/callback/crm", bytes.NewReader(body))
	now := time.Now()
	req.Header.Set(connectors.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(connectors.HeaderSignature, connectors.Sign(c.secret, now, body))
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Errorf("callback: %v", err)
		return
	}
	_ = resp.Body.Close()
}

func TestDeletionWorkerKilledMidExecutionActsOnce(t *testing.T) {
	r := newDeletionRig(t, 5)
	crm := &remoteCRM{t: t, secret: []byte("crm-secret"), done: map[string]bool{}, entered: make(chan struct{})}
	remote := httptest.NewTLSServer(crm)
	defer remote.Close()
	callbacks := httptest.NewTLSServer(r.acts.CallbackHandler())
	defer callbacks.Close()
	crm.callback, crm.client = callbacks.URL, callbacks.Client()
	r.acts.HTTPClient = remote.Client()
	cfg, _ := json.Marshal(map[string]any{"url": remote.URL, "secret": "crm-secret", "timeout_ms": 60000, "max_attempts": 1})
	now := time.Now()
	if err := r.db.Create(&deletion.Connector{Name: "crm", Kind: "webhook", Config: string(cfg), Enabled: true, MaxConcurrency: 2, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}

	agent := r.as("agent.li")
	resp, err := r.api.SubmitDeletion(agent, &deletionv1.SubmitDeletionRequest{IdempotencyKey: "restart-0000003", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_PIPELINE, Email: customertest.Email(3),
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(3), HeldFrom: timestamppb.New(now.AddDate(-3, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	if _, err := r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: id, Reason: "verified at the counter with ID card"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(id, wf.StatusAwaitingApproval)
	plan, err := r.api.GetPlan(agent, &deletionv1.GetPlanRequest{DeletionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if plan.GetAutoApproved() {
		t.Fatal("a plan with a webhook step was auto-approved")
	}
	if _, err := r.api.ApprovePlan(r.as("supervisor.wang"), &deletionv1.ApprovePlanRequest{DeletionId: id, PlanDigest: plan.GetPlanDigest()}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-crm.entered:
	case <-time.After(60 * time.Second):
		t.Fatalf("the webhook delete never started: %s", r.pending(id))
	}
	r.stopDeletionWorker() // killed mid-execution
	r.startDeletionWorker()
	r.waitStatus(id, wf.StatusRestricted)

	var receipts []deletion.Receipt
	r.db.Where("deletion_id = ? AND connector <> 'notice'", id).Order("connector").Find(&receipts)
	if len(receipts) != 2 { // crm and customer-db, one each (redress held nothing of this person)
		t.Fatalf("receipts %d, want one per connector: %+v", len(receipts), receipts)
	}
	if n := r.audited(id, "deletion.connector_applied"); n != 2 {
		t.Fatalf("connector actions audited %d times, want 2", n)
	}
	crm.mu.Lock()
	distinct, calls := len(crm.done), crm.deletes
	crm.mu.Unlock()
	if distinct != 1 || calls != 2 { // the call cut by the kill, then the retry
		t.Fatalf("remote saw %d delete calls for %d requests, want 2 for 1", calls, distinct)
	}
	if r.count(`SELECT count(*) FROM accounts WHERE id = 3`) != 0 || r.count(`SELECT count(*) FROM accounts`) != 4 {
		t.Fatal("customer database not processed exactly for the requester")
	}
	ev, err := r.api.GetEvidence(agent, &deletionv1.GetEvidenceRequest{DeletionId: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ev.GetConnectors() {
		if c.GetConnector() == "crm" && (c.GetFound() != 1 || c.GetRemaining() != 0 || c.GetReceipt() == "") {
			t.Fatalf("crm evidence %+v", c)
		}
	}
}
