package deletionworker

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/deletion"
)

// A connector setting cannot make the worker use one of its own secrets:
// secret_env and dsn_env name only REDRESS_CONNECTOR_* variables. (A webhook
// pointed at the master key would sign with it for whoever runs the remote.)
func TestConnectorSecretsOnlyFromConnectorVariables(t *testing.T) {
	const master = "the-process-master-key"
	t.Setenv("REDRESS_MASTER_KEY", master)
	t.Setenv("REDRESS_CONNECTOR_CRM_SECRET", "crm-secret")
	remote := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if connectors.VerifySignature([]byte(master), r.Header, body, time.Now()) == nil ||
			connectors.VerifySignature([]byte("crm-secret"), r.Header, body, time.Now()) == nil {
			return
		}
		http.Error(w, "bad signature", http.StatusUnauthorized)
	}))
	defer remote.Close()
	a := &Activities{HTTPClient: remote.Client()}
	row := func(kind string, cfg map[string]any) deletion.Connector {
		b, _ := json.Marshal(cfg)
		return deletion.Connector{Name: "crm", Kind: kind, Config: string(b), Enabled: true, MaxConcurrency: 1}
	}
	if err := a.TestConnector(context.Background(), row("webhook", map[string]any{"url": remote.URL, "secret_env": "REDRESS_CONNECTOR_CRM_SECRET"})); err != nil {
		t.Fatalf("the connector's own variable: %v", err)
	}
	if err := a.TestConnector(context.Background(), row("webhook", map[string]any{"url": remote.URL, "secret_env": "REDRESS_MASTER_KEY"})); err == nil ||
		!strings.Contains(err.Error(), "REDRESS_CONNECTOR_") {
		t.Errorf("secret_env naming the master key: %v, want refused", err)
	}
	if err := a.TestConnector(context.Background(), row("postgres", map[string]any{"dsn_env": "DATABASE_URL", "mapping": map[string]any{"tables": []any{}}})); err == nil ||
		!strings.Contains(err.Error(), "REDRESS_CONNECTOR_") {
		t.Errorf("dsn_env naming DATABASE_URL: %v, want refused", err)
	}
}
