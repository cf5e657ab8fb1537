package connectors_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/connectors/customertest"
)

// The customer database matches its mapping: the check passes and reads
// nothing (the rows are as they were).
func TestPostgresTestPassesOnMatchingDatabase(t *testing.T) {
	db, pg := customerDB(t, 3)
	before := count(t, db, "SELECT count(*) FROM accounts") + count(t, db, "SELECT count(*) FROM marketing_list WHERE name <> '***'")
	if err := pg.Test(context.Background()); err != nil {
		t.Fatalf("test of a matching database: %v", err)
	}
	after := count(t, db, "SELECT count(*) FROM accounts") + count(t, db, "SELECT count(*) FROM marketing_list WHERE name <> '***'")
	if before != after || before == 0 {
		t.Fatalf("rows before %d, after %d", before, after)
	}
}

// A mapping naming a column (and a table) the database lacks fails with a
// reason that names them; a column dropped later is caught the same way.
func TestPostgresTestNamesMissingColumnAndTable(t *testing.T) {
	db, _ := customerDB(t, 1)
	raw := strings.Replace(customertest.Mapping, `"columns": {"name": "mask", "phone": "hash", "email": "null"}`,
		`"columns": {"name": "mask", "phone": "hash", "email": "null", "birthday": "null"}`, 1)
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil || !strings.Contains(raw, "birthday") {
		t.Fatalf("mapping edit failed: %v", err)
	}
	m["tables"] = append(m["tables"].([]any), map[string]any{"name": "loyalty_cards", "match": map[string]any{"phone": "phone"}, "action": "delete"})
	b, _ := json.Marshal(m)
	mapping, err := connectors.ParseMapping(b)
	if err != nil {
		t.Fatal(err)
	}
	err = (&connectors.Postgres{DB: db, Mapping: mapping}).Test(context.Background())
	if err == nil || !strings.Contains(err.Error(), "table marketing_list has no column birthday") ||
		!strings.Contains(err.Error(), "table loyalty_cards does not exist") {
		t.Fatalf("want both problems named, got %v", err)
	}

	good, err := connectors.ParseMapping([]byte(customertest.Mapping))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("ALTER TABLE call_logs DROP COLUMN started_at"); err != nil {
		t.Fatal(err)
	}
	err = (&connectors.Postgres{DB: db, Mapping: good}).Test(context.Background())
	if err == nil || !strings.Contains(err.Error(), "table call_logs has no column started_at") {
		t.Fatalf("dropped window column: %v", err)
	}
}

// The webhook check is one signed request: 2xx passes, a 500 is the reason.
func TestWebhookTestSignsAndReportsStatus(t *testing.T) {
	var calls, badSig atomic.Int32
	var answer atomic.Int32
	answer.Store(http.StatusNoContent)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if connectors.VerifySignature(secret, r.Header, body, time.Now()) != nil {
			badSig.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var msg map[string]any
		if json.Unmarshal(body, &msg) != nil || msg["op"] != "test" || len(msg) != 2 {
			t.Errorf("test request body %s: want op test and an empty deletion id only", body)
		}
		w.WriteHeader(int(answer.Load()))
	}))
	defer srv.Close()
	hook := &connectors.Webhook{Name: "crm", URL: srv.URL, Secret: secret, Client: srv.Client()}
	if err := hook.Test(context.Background()); err != nil || calls.Load() != 1 || badSig.Load() != 0 {
		t.Fatalf("healthy endpoint: %v (calls %d, bad signatures %d)", err, calls.Load(), badSig.Load())
	}

	answer.Store(http.StatusInternalServerError)
	err := hook.Test(context.Background())
	if err == nil || !strings.Contains(err.Error(), "status 500") || calls.Load() != 2 {
		t.Fatalf("failing endpoint: %v after %d calls (want one attempt, status 500 named)", err, calls.Load())
	}

	wrong := &connectors.Webhook{Name: "crm", URL: srv.URL, Secret: []byte("not the shared secret"), Client: srv.Client()}
	if err := wrong.Test(context.Background()); err == nil || !strings.Contains(err.Error(), "401") || badSig.Load() != 1 {
		t.Fatalf("wrong secret: %v", err)
	}

	// A client that does not trust the server's certificate is told so.
	untrusting := &connectors.Webhook{Name: "crm", URL: srv.URL, Secret: secret, Client: &http.Client{}}
	if err := untrusting.Test(context.Background()); err == nil || !strings.Contains(err.Error(), "TLS certificate not accepted") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}
