package e2e

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/pgtest"
	deletionworker "github.com/redress/redress/services/worker/deletion"
)

// TestConnector over gRPC against real systems: the seeded customer database,
// a mapping naming a column it lacks, an HTTPS webhook that is healthy then
// failing, a manual connector and Redress's own database; every check is in
// the audit chain with its result.
func TestDeletionConnectorHealthChecks(t *testing.T) {
	const secretEnv = "REDRESS_CONNECTOR_E2E_HOOK_SECRET"
	hookSecret := "hook-secret-e2e"
	t.Setenv(secretEnv, hookSecret)
	var answer atomic.Int32
	answer.Store(http.StatusOK)
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if connectors.VerifySignature([]byte(hookSecret), r.Header, body, time.Now()) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(int(answer.Load()))
	}))
	defer hook.Close()
	r := newDeletionRig(t, 3, func(r *deletionRig, c *deletion.Config) {
		c.Tester = (&deletionworker.Activities{DB: c.DB, Keys: c.Keys, HTTPClient: hook.Client(), Erasure: r.erasure}).TestConnector
	})
	admin := r.as("admin.zhao")

	check := func(name string, wantOK bool, wantReason string) *deletionv1.TestConnectorResponse {
		t.Helper()
		resp, err := r.api.TestConnector(admin, &deletionv1.TestConnectorRequest{Name: name})
		if err != nil {
			t.Fatalf("test %s: %v", name, err)
		}
		if resp.GetOk() != wantOK || !strings.Contains(resp.GetReason(), wantReason) || (wantOK && resp.GetReason() != "") {
			t.Fatalf("test %s: ok %v reason %q; want ok %v reason containing %q", name, resp.GetOk(), resp.GetReason(), wantOK, wantReason)
		}
		if resp.GetCheckedAt() == nil || resp.GetLatencyMs() < 0 || resp.GetConnector().GetName() != name {
			t.Fatalf("test %s: answer %+v", name, resp)
		}
		return resp
	}

	check("customer-db", true, "")
	check("redress", true, "")

	// A mapping naming a column the customer database lacks.
	crmURL := pgtest.OwnerURL(pgtest.URL(t)) // a customer database of its own
	t.Setenv("REDRESS_CONNECTOR_E2E_CUSTOMER_DSN", crmURL)
	crm, err := sql.Open("pgx", crmURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = crm.Close() }()
	if err := customertest.Seed(r.ctx, crm, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(customertest.Mapping, `"email": "null"}`, `"email": "null", "loyalty_no": "null"}`, 1)
	cfg, _ := json.Marshal(map[string]any{"dsn_env": "REDRESS_CONNECTOR_E2E_CUSTOMER_DSN", "mapping": json.RawMessage(bad)})
	if _, err := r.api.AddConnector(admin, &deletionv1.AddConnectorRequest{Name: "crm-db", Kind: "postgres", ConfigJson: string(cfg)}); err != nil {
		t.Fatal(err)
	}
	check("crm-db", false, "table marketing_list has no column loyalty_no")

	cfg, _ = json.Marshal(map[string]any{"url": hook.URL, "secret_env": secretEnv, "timeout_ms": 5000})
	if _, err := r.api.AddConnector(admin, &deletionv1.AddConnectorRequest{Name: "billing-hook", Kind: "webhook", ConfigJson: string(cfg)}); err != nil {
		t.Fatal(err)
	}
	check("billing-hook", true, "")
	answer.Store(http.StatusInternalServerError)
	check("billing-hook", false, "status 500")

	if _, err := r.api.AddConnector(admin, &deletionv1.AddConnectorRequest{Name: "paper-archive", Kind: "manual"}); err != nil {
		t.Fatal(err)
	}
	check("paper-archive", true, "")

	if _, err := r.api.TestConnector(admin, &deletionv1.TestConnectorRequest{Name: "no-such-system"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown connector: %v", err)
	}
	if _, err := r.api.TestConnector(admin, &deletionv1.TestConnectorRequest{Name: "Bad Name"}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "name") {
		t.Fatalf("bad name: %v", err)
	}

	// Every check is audited with its result.
	type entry struct{ ObjectID, Actor, Details string }
	var rows []entry
	if err := r.db.Table("audit_entries").Where("action = ?", "deletion.connector_tested").Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rows {
		var d struct {
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(e.Details), &d); err != nil || e.Actor != "admin.zhao" {
			t.Fatalf("audit entry %+v: %v", e, err)
		}
		s := e.ObjectID + "=ok"
		if !d.OK {
			s = e.ObjectID + "=failed:" + d.Reason
		}
		got = append(got, s)
	}
	want := []string{"customer-db=ok", "redress=ok", "crm-db=failed:", "billing-hook=ok", "billing-hook=failed:", "paper-archive=ok"}
	if len(got) != len(want) {
		t.Fatalf("audited %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("audited %q, want %q", got, want)
		}
	}
}
