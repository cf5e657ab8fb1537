package deletion

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/outbound"
	"github.com/redress/redress/services/internal/validation"
)

var connectorName = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

// AddConnector registers a connector after checking its configuration.
// Secrets are never stored: the config names environment variables.
func (s *Server) AddConnector(ctx context.Context, req *deletionv1.AddConnectorRequest) (*deletionv1.AddConnectorResponse, error) {
	var e validation.Errors
	if !connectorName.MatchString(req.GetName()) || req.GetName() == "redress" {
		e.Add("name", "must be 2-63 lower-case letters, digits or dashes, and not \"redress\"")
	}
	mc := int(req.GetMaxConcurrency())
	if mc == 0 {
		mc = 4
	}
	if mc < 1 || mc > 64 {
		e.Add("max_concurrency", "must be between 1 and 64")
	}
	var cfg ConnectorConfig
	raw := req.GetConfigJson()
	if raw == "" {
		raw = "{}"
	}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		e.Add("config_json", "must be a JSON object")
	}
	switch req.GetKind() {
	case "postgres":
		if cfg.DSNEnv == "" {
			e.Add("config_json.dsn_env", "is required: the environment variable holding the database URL")
		} else if !outbound.IsSecretEnvName(cfg.DSNEnv) {
			e.Add("config_json.dsn_env", "must name a "+outbound.SecretEnvPrefix+"* variable")
		}
		if cfg.DSN != "" {
			e.Add("config_json.dsn", "must not be stored; use dsn_env")
		}
		switch {
		case cfg.MappingFile == "" && len(cfg.Mapping) == 0:
			e.Add("config_json.mapping", "a mapping or mapping_file is required")
		case len(cfg.Mapping) > 0 && s.checkMapping != nil:
			if err := s.checkMapping(cfg.Mapping); err != nil {
				e.Add("config_json.mapping", err.Error())
			}
		}
	case "webhook":
		if u, err := url.Parse(cfg.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			e.Add("config_json.url", "must be an https URL")
		}
		if cfg.SecretEnv == "" || cfg.Secret != "" {
			e.Add("config_json.secret_env", "is required (the secret itself is never stored)")
		} else if !outbound.IsSecretEnvName(cfg.SecretEnv) {
			e.Add("config_json.secret_env", "must name a "+outbound.SecretEnvPrefix+"* variable")
		}
		if cfg.TimeoutMS < 0 || cfg.MaxAttempts < 0 || cfg.MaxAttempts > 10 {
			e.Add("config_json.timeout_ms", "timeout_ms must be ≥ 0 and max_attempts 0..10")
		}
	case "manual":
	default:
		e.Add("kind", "must be postgres, webhook or manual")
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c := Connector{Name: req.GetName(), Kind: req.GetKind(), Config: raw, Enabled: true, MaxConcurrency: mc, CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "deletion.connector_added", ObjectType: "deletion_connector",
			ObjectID: c.Name, AfterDigest: audit.Digest(c.Config), At: now, Details: map[string]any{"kind": c.Kind, "max_concurrency": mc}})
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return nil, status.Error(codes.AlreadyExists, "a connector with this name exists")
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "the connector could not be recorded; retry")
	}
	return &deletionv1.AddConnectorResponse{Connector: connectorProto(c)}, nil
}

// ConnectorConfig is the JSON config of a registered connector, as checked
// here and read by the worker's registry.
type ConnectorConfig struct {
	// postgres: the customer database and its mapping (inline or a file).
	// DSNEnv names an environment variable holding the URL, so secrets stay
	// out of the registry table.
	DSN         string          `json:"dsn"`
	DSNEnv      string          `json:"dsn_env"`
	Mapping     json.RawMessage `json:"mapping"`
	MappingFile string          `json:"mapping_file"`
	// webhook
	URL         string `json:"url"`
	SecretEnv   string `json:"secret_env"`
	Secret      string `json:"secret"`
	TimeoutMS   int    `json:"timeout_ms"`
	MaxAttempts int    `json:"max_attempts"`
}
