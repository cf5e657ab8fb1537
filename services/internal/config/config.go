// Package config reads the process configuration from the environment.
package config

import (
	"fmt"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the configuration of every Redress process.
type Config struct {
	DatabaseURL     string `env:"DATABASE_URL"`
	TemporalAddress string `env:"TEMPORAL_ADDRESS"` // empty in `redress dev`: embedded server
	Namespace       string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	MasterKey       string `env:"REDRESS_MASTER_KEY"` // base64, 32 bytes; dev generates one
	IntakeAddr      string `env:"REDRESS_INTAKE_ADDR" envDefault:"127.0.0.1:9090"`
	MetricsAddr     string `env:"REDRESS_METRICS_ADDR" envDefault:"127.0.0.1:9091"`
	LogLevel        string `env:"REDRESS_LOG_LEVEL" envDefault:"info"`
	ConsoleAddr     string `env:"REDRESS_CONSOLE_ADDR" envDefault:"127.0.0.1:8080"`
	// ConsoleTLS says the console is reached over HTTPS (directly or behind a
	// proxy): its cookies are then marked Secure. `redress dev` serves plain HTTP
	// on loopback and turns it off unless set.
	ConsoleTLS bool `env:"REDRESS_CONSOLE_TLS" envDefault:"true"`
	// Single sign-on for the console (any OpenID Connect provider); off
	// when the issuer is empty. The redirect URL is <console>/signin/oidc/callback.
	OIDCIssuer       string `env:"REDRESS_OIDC_ISSUER"`
	OIDCClientID     string `env:"REDRESS_OIDC_CLIENT_ID"`
	OIDCClientSecret string `env:"REDRESS_OIDC_CLIENT_SECRET"`
	OIDCRedirectURL  string `env:"REDRESS_OIDC_REDIRECT_URL"`
	// Optional mutual TLS between the services (PEM files; all three or none):
	// this process's certificate and key, and the CA that signs its peers.
	// TLSServerName is the name in the gRPC server's certificate.
	TLSCert       string `env:"REDRESS_TLS_CERT"`
	TLSKey        string `env:"REDRESS_TLS_KEY"`
	TLSCA         string `env:"REDRESS_TLS_CA"`
	TLSServerName string `env:"REDRESS_TLS_SERVER_NAME"`

	// The public pages (channels, complaint form, status lookup), on their own port.
	PublicAddr     string `env:"REDRESS_PUBLIC_ADDR" envDefault:"127.0.0.1:8081"`
	PublicOperator string `env:"REDRESS_PUBLIC_OPERATOR" envDefault:"Redress demo operator"`
	PublicPhone    string `env:"REDRESS_PUBLIC_PHONE"`
	PublicEmail    string `env:"REDRESS_PUBLIC_EMAIL"`
	// Compliance officers' addresses for the monthly and yearly reports (comma-separated).
	ComplianceEmails []string `env:"REDRESS_COMPLIANCE_EMAILS" envSeparator:","`

	SMTPAddr     string `env:"REDRESS_SMTP_ADDR"` // host:port; empty = notices are logged (redacted), not sent
	SMTPFrom     string `env:"REDRESS_SMTP_FROM" envDefault:"Redress <no-reply@redress.local>"`
	SMTPUser     string `env:"REDRESS_SMTP_USER"`
	SMTPPassword string `env:"REDRESS_SMTP_PASSWORD"`
	// SMTPTLS requires STARTTLS from a mail server that is not on loopback;
	// false (an explicit choice) allows sending notices in the clear.
	SMTPTLS     bool   `env:"REDRESS_SMTP_TLS" envDefault:"true"`
	SMSEndpoint string `env:"REDRESS_SMS_ENDPOINT"` // HTTP gateway URL
	SMSToken    string `env:"REDRESS_SMS_TOKEN"`

	// Escalations: regulator bodies and their adapters (a JSON file, see
	// internal/regulator; none = manual filing), the operator's class for
	// incident deadlines, the contact told to individuals in incident notices,
	// and how long to wait for a regulator's acknowledgement.
	RegulatorsFile    string        `env:"REDRESS_REGULATORS_FILE"`
	OperatorClass     string        `env:"REDRESS_OPERATOR_CLASS" envDefault:"other"`
	OperatorContact   string        `env:"REDRESS_OPERATOR_CONTACT"`
	EscalationAckWait time.Duration `env:"REDRESS_ESCALATION_ACK_WAIT" envDefault:"24h"`
	// Where regulators post late acknowledgements (HTTP; put TLS in front). Empty: off.
	RegulatorCallbackAddr string `env:"REDRESS_REGULATOR_CALLBACK_ADDR"`

	// Dev stack only.
	DataDir      string `env:"REDRESS_DATA_DIR" envDefault:".data"`
	TemporalPort int    `env:"REDRESS_TEMPORAL_PORT" envDefault:"7233"`
	TemporalUI   int    `env:"REDRESS_TEMPORAL_UI_PORT" envDefault:"8233"`
}

// Load reads the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}
