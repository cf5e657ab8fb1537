package deletionworker

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL connector's driver

	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/outbound"
)

// limited is a connector with its concurrency bound: bulk runs never press a
// data system harder than its registered max_concurrency.
type limited struct {
	connectors.Connector
	slots chan struct{}
}

func (l *limited) acquire(ctx context.Context) (func(), error) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// registry builds connectors from deletion_connectors rows, once each.
type registry struct {
	a     *Activities
	mu    sync.Mutex
	built map[string]*limited
}

func (r *registry) get(ctx context.Context, a *Activities, name string) (*limited, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.a = a
	if c, ok := r.built[name]; ok {
		return c, nil
	}
	var row deletion.Connector
	if err := r.a.DB.WithContext(ctx).Take(&row, "name = ?", name).Error; err != nil {
		return nil, fmt.Errorf("connector %s: %w", name, err)
	}
	c, err := r.build(row)
	if err != nil {
		return nil, err
	}
	l := &limited{Connector: c, slots: make(chan struct{}, max(row.MaxConcurrency, 1))}
	if r.built == nil {
		r.built = map[string]*limited{}
	}
	r.built[name] = l
	return l, nil
}

func (r *registry) build(row deletion.Connector) (connectors.Connector, error) {
	var cfg deletion.ConnectorConfig
	if row.Config != "" {
		if err := json.Unmarshal([]byte(row.Config), &cfg); err != nil {
			return nil, &connectors.ErrConfig{Connector: row.Name, Problem: "config is not JSON"}
		}
	}
	switch row.Kind {
	case connectors.KindRedress:
		if r.a.Erasure == nil {
			return nil, &connectors.ErrConfig{Connector: row.Name, Problem: "no client of intake's erasure service"}
		}
		return &connectors.Redress{Intake: r.a.Erasure, DB: r.a.DB}, nil
	case connectors.KindManual:
		return &connectors.Manual{DB: r.a.DB, Name: row.Name}, nil
	case connectors.KindWebhook:
		secret := cfg.Secret
		if cfg.SecretEnv != "" {
			var err error
			if secret, err = outbound.SecretEnv(cfg.SecretEnv); err != nil {
				return nil, &connectors.ErrConfig{Connector: row.Name, Problem: "secret_env: " + err.Error()}
			}
		}
		if cfg.URL == "" || secret == "" {
			return nil, &connectors.ErrConfig{Connector: row.Name, Problem: "webhook needs url and a secret"}
		}
		// An administrator may allow an internal address for this connector.
		var allow struct {
			AllowPrivate bool `json:"allow_private"`
		}
		_ = json.Unmarshal([]byte(row.Config), &allow)
		return &connectors.Webhook{Name: row.Name, URL: cfg.URL, Secret: []byte(secret), DB: r.a.DB, Client: r.a.HTTPClient,
			AllowPrivate: allow.AllowPrivate, Timeout: time.Duration(cfg.TimeoutMS) * time.Millisecond, MaxAttempts: cfg.MaxAttempts}, nil
	case connectors.KindPostgres:
		dsn := cfg.DSN
		if cfg.DSNEnv != "" {
			var err error
			if dsn, err = outbound.SecretEnv(cfg.DSNEnv); err != nil {
				return nil, &connectors.ErrConfig{Connector: row.Name, Problem: "dsn_env: " + err.Error()}
			}
		}
		var m connectors.Mapping
		var err error
		switch {
		case cfg.MappingFile != "":
			m, err = connectors.LoadMapping(cfg.MappingFile)
		default:
			m, err = connectors.ParseMapping(cfg.Mapping)
		}
		if err != nil {
			return nil, &connectors.ErrConfig{Connector: row.Name, Problem: err.Error()}
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, &connectors.ErrConfig{Connector: row.Name, Problem: "dsn unusable"}
		}
		db.SetMaxOpenConns(max(row.MaxConcurrency, 1) + 1)
		return &connectors.Postgres{DB: db, Mapping: m}, nil
	}
	return nil, &connectors.ErrConfig{Connector: row.Name, Problem: "unknown kind " + row.Kind}
}

// Secrets answers webhook secrets for the callback handler.
func (a *Activities) Secrets(name string) ([]byte, bool) {
	var row deletion.Connector
	if err := a.DB.Take(&row, "name = ? AND kind = ?", name, connectors.KindWebhook).Error; err != nil {
		return nil, false
	}
	var cfg deletion.ConnectorConfig
	if json.Unmarshal([]byte(row.Config), &cfg) != nil {
		return nil, false
	}
	s := cfg.Secret
	if cfg.SecretEnv != "" {
		var err error
		if s, err = outbound.SecretEnv(cfg.SecretEnv); err != nil {
			return nil, false
		}
	}
	return []byte(s), s != ""
}

// CallbackHandler serves signed webhook callbacks under /deletion/callback/<connector>.
func (a *Activities) CallbackHandler() http.Handler {
	return http.StripPrefix("/deletion/callback", &connectors.CallbackHandler{DB: a.DB, Secrets: a.Secrets})
}

// TestConnector builds a registered connector afresh — from its current
// configuration and environment, not the worker's cached instance — and runs
// its health check (connectors.Tester).
func (a *Activities) TestConnector(ctx context.Context, row deletion.Connector) error {
	c, err := (&registry{a: a}).build(row)
	if err != nil {
		return err
	}
	if p, ok := c.(*connectors.Postgres); ok {
		defer func() { _ = p.DB.Close() }()
	}
	t, ok := c.(connectors.Tester)
	if !ok {
		return fmt.Errorf("connectors of kind %s have no health check", row.Kind)
	}
	return t.Test(ctx)
}
