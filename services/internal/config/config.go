// Package config reads the process configuration from the environment.
package config

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/ratelimit"
)

// Config is the configuration of every Redress process.
type Config struct {
	// DatabaseURL is the services' connection: a login role that is a member
	// of redress_runtime (migration 00012), which cannot rewrite the audit
	// chain. MigrateDatabaseURL connects as the owner of the tables, for
	// `redress migrate` (and `redress dev`, which migrates first); when it is
	// empty, DATABASE_URL migrates too (one role for both: no split).
	DatabaseURL        string `env:"DATABASE_URL"`
	MigrateDatabaseURL string `env:"REDRESS_MIGRATE_DATABASE_URL"`
	// ProcessDatabaseURLs are the connections of the processes that connect
	// as their own service's database role (login roles that are members of
	// redress_intake and redress_identity, redress_deletion,
	// redress_escalation, redress_reporting, redress_checkpoints: migrations
	// 00019, 00020), for
	// `redress dev`, which hands each child its own as DATABASE_URL (see
	// DatabaseURLOf). Unset: that process gets DATABASE_URL. A process run
	// alone (`redress serve <name>`) reads DATABASE_URL, except the worker:
	// it runs the complaint, deletion, escalation and report activities on
	// pools of DATABASE_URL_INTAKE, _DELETION, _ESCALATION and _REPORTING
	// when they are set.
	IntakeDatabaseURL      string `env:"DATABASE_URL_INTAKE"`
	DeletionDatabaseURL    string `env:"DATABASE_URL_DELETION"`
	EscalationDatabaseURL  string `env:"DATABASE_URL_ESCALATION"`
	ReportingDatabaseURL   string `env:"DATABASE_URL_REPORTING"`
	CheckpointsDatabaseURL string `env:"DATABASE_URL_CHECKPOINTS"`
	TemporalAddress        string `env:"TEMPORAL_ADDRESS"` // empty in `redress dev`: embedded server
	Namespace              string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	MasterKey              string `env:"REDRESS_MASTER_KEY"` // base64, 32 bytes; dev generates one
	// Master key rotation (see crypto.MasterKeys): REDRESS_MASTER_KEY is the
	// current key, of version REDRESS_MASTER_KEY_VERSION (1 by default);
	// earlier versions still wrapping some subject keys are listed as
	// "VERSION:BASE64,..." until `redress keys status` shows none left.
	// REDRESS_MASTER_KEY_ROOT derives the lookup-index and certificate
	// signing keys, which never rotate; empty = the version-1 key.
	MasterKeyVersion   int      `env:"REDRESS_MASTER_KEY_VERSION" envDefault:"1"`
	MasterKeysPrevious []string `env:"REDRESS_MASTER_KEYS_PREVIOUS" envSeparator:","`
	MasterKeyRoot      string   `env:"REDRESS_MASTER_KEY_ROOT"`
	// Each gRPC service listens on its own address (which the console also
	// dials) and serves /metrics, /healthz and /readyz on its own metrics
	// address; the worker and the checkpoint signer serve only the latter.
	IntakeAddr             string `env:"REDRESS_INTAKE_ADDR" envDefault:"127.0.0.1:9090"`
	IntakeMetricsAddr      string `env:"REDRESS_INTAKE_METRICS_ADDR" envDefault:"127.0.0.1:9091"`
	DeletionAddr           string `env:"REDRESS_DELETION_ADDR" envDefault:"127.0.0.1:9092"`
	DeletionMetricsAddr    string `env:"REDRESS_DELETION_METRICS_ADDR" envDefault:"127.0.0.1:9093"`
	EscalationAddr         string `env:"REDRESS_ESCALATION_ADDR" envDefault:"127.0.0.1:9094"`
	EscalationMetricsAddr  string `env:"REDRESS_ESCALATION_METRICS_ADDR" envDefault:"127.0.0.1:9095"`
	ReportingAddr          string `env:"REDRESS_REPORTING_ADDR" envDefault:"127.0.0.1:9096"`
	ReportingMetricsAddr   string `env:"REDRESS_REPORTING_METRICS_ADDR" envDefault:"127.0.0.1:9097"`
	WorkerMetricsAddr      string `env:"REDRESS_WORKER_METRICS_ADDR" envDefault:"127.0.0.1:9098"`
	CheckpointsMetricsAddr string `env:"REDRESS_CHECKPOINTS_METRICS_ADDR" envDefault:"127.0.0.1:9099"`
	LogLevel               string `env:"REDRESS_LOG_LEVEL" envDefault:"info"`
	// WorkerWorkflowCache is how many workflows the worker keeps in memory
	// between their tasks (the SDK's sticky cache, 75-90 KB each). The SDK's
	// 10,000 filled 880 MiB in a storm, near the worker's 1 GiB limit; a
	// complaint sleeps for days after its first task, so a small cache costs
	// it nothing (docs/capacity.md).
	WorkerWorkflowCache int `env:"REDRESS_WORKER_WORKFLOW_CACHE" envDefault:"2000"`
	// TimeZone is the IANA zone people see times in (console, public pages,
	// notices, PDFs). Legal periods are counted in Beijing time whatever it is.
	TimeZone    string `env:"REDRESS_TIME_ZONE" envDefault:"Asia/Shanghai"`
	ConsoleAddr string `env:"REDRESS_CONSOLE_ADDR" envDefault:"127.0.0.1:8080"`
	// ConsoleTLS says the console is reached over HTTPS (directly or behind a
	// proxy): its cookies are then marked Secure. `redress dev` serves plain HTTP
	// on loopback and turns it off unless set.
	ConsoleTLS bool `env:"REDRESS_CONSOLE_TLS" envDefault:"true"`
	// TrustedProxies are the reverse proxies in front of the console and the
	// public pages (comma-separated CIDRs or addresses): only from them is
	// X-Forwarded-For believed, for the per-address limits. Empty: the peer
	// address is the client's.
	TrustedProxies []string `env:"REDRESS_TRUSTED_PROXIES" envSeparator:","`
	// ConsoleToken is the console's own credential (a service account of
	// role console, `redress user add console -role console` then `redress
	// user token console`): it signs people in through IdentityService and
	// can do nothing else. `redress dev` makes one at start.
	ConsoleToken string `env:"REDRESS_CONSOLE_TOKEN"`
	// EscalationServiceToken is the escalation service's credential (role
	// escalation_service) for intake's CaseFactsService; empty: its account
	// svc.escalation issues itself one. `redress dev` makes one at start.
	EscalationServiceToken string `env:"REDRESS_ESCALATION_SERVICE_TOKEN"`
	// DeletionServiceToken is the deletion service's own credential (the
	// account svc.deletion, role deletion_service: `redress user add
	// svc.deletion -role deletion_service` then `redress user token
	// svc.deletion`), with which the deletion service and the worker erase
	// a person's data held by intake. Required by `serve deletion` and
	// `serve worker`; `redress dev` makes one at start.
	DeletionServiceToken string `env:"REDRESS_DELETION_SERVICE_TOKEN"`
	// The inbound gateway (`serve inbound`) reads the complaints mailbox and
	// takes the SMS gateway's messages, and hands them to intake with its
	// own credential (the account svc.inbound, role inbound_gateway: `redress
	// user add svc.inbound -role inbound_gateway` then `redress user token
	// svc.inbound`; `redress dev` makes one at start). It serves the SMS
	// webhook (/sms/inbound) and /metrics, /healthz, /readyz on InboundAddr.
	InboundServiceToken string `env:"REDRESS_INBOUND_SERVICE_TOKEN"`
	InboundAddr         string `env:"REDRESS_INBOUND_ADDR" envDefault:"127.0.0.1:8082"`
	// The complaints mailbox (empty address: no mailbox is read). Security:
	// "tls" (implicit, port 993), "starttls", or "none" (loopback only, the
	// development mailbox). Without IDLE it is looked at every IMAPPoll.
	IMAPAddr     string        `env:"REDRESS_IMAP_ADDR"`
	IMAPUser     string        `env:"REDRESS_IMAP_USER"`
	IMAPPassword string        `env:"REDRESS_IMAP_PASSWORD"`
	IMAPFolder   string        `env:"REDRESS_IMAP_FOLDER" envDefault:"INBOX"`
	IMAPSecurity string        `env:"REDRESS_IMAP_SECURITY" envDefault:"tls"`
	IMAPPoll     time.Duration `env:"REDRESS_IMAP_POLL" envDefault:"1m"`
	// SMSWebhookSecret is shared with the SMS gateway, which signs every
	// message it posts with it; empty: the webhook refuses every request.
	SMSWebhookSecret string `env:"REDRESS_SMS_WEBHOOK_SECRET"`
	// Single sign-on for the console (any OpenID Connect provider); off
	// when the issuer is empty. The redirect URL is <console>/signin/oidc/callback.
	// The console runs the browser's flow (all four); the identity service
	// checks the ID tokens it brings back (issuer and client id).
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

	// CommandKey signs the human actions the services send to workflows and
	// lets the workers verify them (base64, at least 32 bytes; `redress dev`
	// generates one in the data folder). Give it to the services and the
	// workers only: whoever holds it can act on any workflow.
	CommandKey string `env:"REDRESS_COMMAND_KEY"`

	// Temporal frontend security (all optional): TLS with the CA that signs
	// the frontend's certificate (system roots when only the server name or
	// an API key is set), mutual TLS with this process's certificate and key,
	// the name to expect in the frontend's certificate, and an API key sent
	// as a bearer token (Temporal Cloud, or a frontend with an authorizer).
	TemporalTLSCert       string `env:"TEMPORAL_TLS_CERT"`
	TemporalTLSKey        string `env:"TEMPORAL_TLS_KEY"`
	TemporalTLSCA         string `env:"TEMPORAL_TLS_CA"`
	TemporalTLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"`
	TemporalAPIKey        string `env:"TEMPORAL_API_KEY"`

	// The public pages (channels, complaint form, status lookup), on their own port.
	PublicAddr     string `env:"REDRESS_PUBLIC_ADDR" envDefault:"127.0.0.1:8081"`
	PublicOperator string `env:"REDRESS_PUBLIC_OPERATOR" envDefault:"Redress demo operator"`
	PublicPhone    string `env:"REDRESS_PUBLIC_PHONE"`
	PublicEmail    string `env:"REDRESS_PUBLIC_EMAIL"`
	// PublicToken is the public pages' own credential (an API credential of
	// a public_site account): they reach the intake and reporting services
	// over gRPC with it and hold no database credential nor master key.
	PublicToken string `env:"REDRESS_PUBLIC_TOKEN"`
	// Compliance officers' addresses for the monthly and yearly reports (comma-separated).
	ComplianceEmails []string `env:"REDRESS_COMPLIANCE_EMAILS" envSeparator:","`
	// ConsoleURL is the console's address as people reach it, for the links
	// in alert mails (empty: the mails give the console path only).
	ConsoleURL string `env:"REDRESS_CONSOLE_URL"`

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
	RegulatorsFile string `env:"REDRESS_REGULATORS_FILE"`
	OperatorClass  string `env:"REDRESS_OPERATOR_CLASS" envDefault:"other"`
	// The operator's provider type decides the sector rules: telecom_operator
	// and internet_information_service answer PI complaints within 15 days
	// (MIIT Order 24 Art. 12); app_operator is under the 15 working days.
	ProviderType      string        `env:"REDRESS_PROVIDER_TYPE" envDefault:"app_operator"`
	OperatorContact   string        `env:"REDRESS_OPERATOR_CONTACT"`
	EscalationAckWait time.Duration `env:"REDRESS_ESCALATION_ACK_WAIT" envDefault:"24h"`
	// An escalation without a legal due date (SLA breach, manual) still not
	// filed this long after it opened is a missed duty: reminders at 50 % and
	// 80 %, then a breach record and alert. Read when an escalation opens.
	EscalationFilingWait time.Duration `env:"REDRESS_ESCALATION_FILING_WAIT" envDefault:"24h"`
	// Rules whose wording could not be verified (confidence secondary or
	// unverified, shown on the console's policies page) the operator
	// switches off, comma-separated ids such as cn/G1; a verified rule is refused.
	PolicyRulesOff []string `env:"REDRESS_POLICY_RULES_OFF" envSeparator:","`
	// Where regulators post late acknowledgements (HTTP; put TLS in front). Empty: off.
	RegulatorCallbackAddr string `env:"REDRESS_REGULATOR_CALLBACK_ADDR"`

	// Signed checkpoints of the audit chain head (see audit.Checkpointer):
	// the Ed25519 key file (base64 of a 32-byte seed; `redress dev` makes one
	// in the data folder) is read only by the process that runs the job
	// (`serve checkpoints`, `serve all`, `redress dev`); the folder receives
	// a copy of each checkpoint; REDRESS_COMPLIANCE_EMAILS get one by mail.
	// The public key (base64) is what `redress audit verify` checks against.
	CheckpointKeyFile   string        `env:"REDRESS_CHECKPOINT_KEY_FILE"`
	CheckpointPublicKey string        `env:"REDRESS_CHECKPOINT_PUBLIC_KEY"`
	CheckpointDir       string        `env:"REDRESS_CHECKPOINT_DIR"`
	CheckpointEvery     int64         `env:"REDRESS_CHECKPOINT_EVERY" envDefault:"1000"`
	CheckpointInterval  time.Duration `env:"REDRESS_CHECKPOINT_INTERVAL" envDefault:"10m"`

	// Dev stack only.
	DataDir      string `env:"REDRESS_DATA_DIR" envDefault:".data"`
	TemporalPort int    `env:"REDRESS_TEMPORAL_PORT" envDefault:"7233"`
	TemporalUI   int    `env:"REDRESS_TEMPORAL_UI_PORT" envDefault:"8233"`
	// The embedded Temporal server's store: "postgres" (its databases at
	// TemporalDatabaseURL, NAME and NAME_visibility; deploy/dev/run.sh sets
	// it to the local cluster's) or "sqlite" (DataDir/temporal.db).
	TemporalStore       string `env:"REDRESS_TEMPORAL_STORE" envDefault:"postgres"`
	TemporalDatabaseURL string `env:"REDRESS_TEMPORAL_DATABASE_URL"`
	// The development mailbox (see devmail), started unless
	// REDRESS_SMTP_ADDR or REDRESS_IMAP_ADDR names a real one.
	DevMailSMTPAddr string `env:"REDRESS_DEV_MAIL_SMTP_ADDR" envDefault:"127.0.0.1:2525"`
	DevMailIMAPAddr string `env:"REDRESS_DEV_MAIL_IMAP_ADDR" envDefault:"127.0.0.1:1143"`
	DevMailPageAddr string `env:"REDRESS_DEV_MAIL_PAGE_ADDR" envDefault:"127.0.0.1:8025"`
}

// Keyring builds the keyring from the configured master keys.
func (c Config) Keyring() (*crypto.Keyring, error) {
	m, err := crypto.ParseMasterKeys(c.MasterKey, c.MasterKeyVersion, c.MasterKeysPrevious, c.MasterKeyRoot)
	if err != nil {
		return nil, fmt.Errorf("REDRESS_MASTER_KEY: %w", err)
	}
	return crypto.NewVersionedKeyring(m)
}

// Load reads the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	if os.Getenv("REDRESS_METRICS_ADDR") != "" { // one address for every process no longer exists
		return c, fmt.Errorf("configuration: REDRESS_METRICS_ADDR is replaced by one address per process: " +
			"REDRESS_{INTAKE,DELETION,ESCALATION,REPORTING,WORKER,CHECKPOINTS}_METRICS_ADDR")
	}
	if _, err := c.Proxies(); err != nil {
		return c, fmt.Errorf("configuration: REDRESS_TRUSTED_PROXIES: %w", err)
	}
	if c.WorkerWorkflowCache < 1 {
		return c, fmt.Errorf("configuration: REDRESS_WORKER_WORKFLOW_CACHE must be at least 1, got %d", c.WorkerWorkflowCache)
	}
	return c, nil
}

// OwnerDatabaseURL is the connection that migrates: MigrateDatabaseURL, or
// DatabaseURL when no separate owner is configured.
func (c Config) OwnerDatabaseURL() string {
	if c.MigrateDatabaseURL != "" {
		return c.MigrateDatabaseURL
	}
	return c.DatabaseURL
}

// DatabaseURLOf is the connection of process name: its own (see
// IntakeDatabaseURL) when set, else DatabaseURL.
func (c Config) DatabaseURLOf(name string) string {
	own := map[string]string{"intake": c.IntakeDatabaseURL, "deletion": c.DeletionDatabaseURL, "escalation": c.EscalationDatabaseURL,
		"reporting": c.ReportingDatabaseURL, "checkpoints": c.CheckpointsDatabaseURL}[name]
	if own != "" {
		return own
	}
	return c.DatabaseURL
}

// Proxies are the trusted proxies' address ranges.
func (c Config) Proxies() ([]netip.Prefix, error) { return ratelimit.ParseProxies(c.TrustedProxies) }
