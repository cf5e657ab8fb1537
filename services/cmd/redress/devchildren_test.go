//go:build dev

package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/config"
)

// `redress dev` hands each child only the secrets its process uses: the
// checkpoint signer no master key, the console no command key, nobody the
// owner's database URL.
func TestChildEnvHoldsOnlyWhatTheProcessUses(t *testing.T) {
	cfg := config.Config{DatabaseURL: "postgres://app@db/redress", TemporalAddress: "127.0.0.1:7233", MasterKey: "MASTER",
		CommandKey: "COMMAND", CheckpointKeyFile: "/keys/checkpoint.key", CheckpointDir: "/data/checkpoints", DataDir: "/data",
		IntakeDatabaseURL: "postgres://intake@db/redress", DeletionDatabaseURL: "postgres://deletion@db/redress",
		EscalationDatabaseURL: "postgres://escalation@db/redress",
		ReportingDatabaseURL:  "postgres://reporting@db/redress", CheckpointsDatabaseURL: "postgres://checkpoints@db/redress",
		InboundServiceToken: "INBOUND", IMAPAddr: "127.0.0.1:1143", IMAPPassword: "MAILBOX", SMSWebhookSecret: "SMS"}
	base := []string{"PATH=/usr/bin", "REDRESS_MIGRATE_DATABASE_URL=postgres://owner@db/redress", "REDRESS_MASTER_KEY=MASTER",
		"REDRESS_COMMAND_KEY=COMMAND", "REDRESS_DELETION_SERVICE_TOKEN=rdt_x", "DATABASE_URL_DELETION=postgres://deletion@db/redress", "REDRESS_LOG_LEVEL=warn",
		"REDRESS_ESCALATION_SERVICE_TOKEN=ESC", "REDRESS_IMAP_PASSWORD=MAILBOX", "REDRESS_SMS_WEBHOOK_SECRET=SMS"}
	has := slices.Contains[[]string]
	named := func(env []string, k string) bool {
		return slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
	}
	for _, name := range processNames {
		env := childEnv(base, cfg, name)
		if named(env, "REDRESS_MIGRATE_DATABASE_URL") {
			t.Errorf("%s gets the owner's database URL", name)
		}
		if !has(env, "PATH=/usr/bin") || !has(env, "REDRESS_LOG_LEVEL=warn") {
			t.Errorf("%s lost dev's ordinary settings: %v", name, env)
		}
		n := processes[name].needs
		if got, want := named(env, "REDRESS_MASTER_KEY"), n&needMasterKey != 0; got != want {
			t.Errorf("%s gets the master key: %v, want %v", name, got, want)
		}
		if got, want := named(env, "REDRESS_COMMAND_KEY"), n&needCommandKey != 0; got != want {
			t.Errorf("%s gets the command key: %v, want %v", name, got, want)
		}
		if got, want := named(env, "REDRESS_CONSOLE_TOKEN"), name == "console"; got != want {
			t.Errorf("%s gets the console's credential: %v, want %v", name, got, want)
		}
		if got, want := named(env, "REDRESS_PUBLIC_TOKEN"), name == "public"; got != want {
			t.Errorf("%s gets the public site's credential: %v, want %v", name, got, want)
		}
		if got, want := named(env, "REDRESS_ESCALATION_SERVICE_TOKEN"), name == "escalation" || name == "worker"; got != want {
			t.Errorf("%s gets the escalation service's credential: %v, want %v", name, got, want)
		}
		if got, want := named(env, "REDRESS_DELETION_SERVICE_TOKEN"), name == "deletion" || name == "worker"; got != want {
			t.Errorf("%s gets the deletion service's credential: %v, want %v", name, got, want)
		}
		if got, want := named(env, "DATABASE_URL"), n&needDB != 0; got != want {
			t.Errorf("%s gets DATABASE_URL: %v, want %v", name, got, want)
		}
		// Its own service's database role where it has one, the shared
		// runtime role otherwise; never another process's.
		wantURL := map[string]string{"intake": "postgres://intake@db/redress", "deletion": "postgres://deletion@db/redress",
			"reporting": "postgres://reporting@db/redress", "checkpoints": "postgres://checkpoints@db/redress",
			"escalation": "postgres://escalation@db/redress", "worker": cfg.DatabaseURL}[name]
		if wantURL != "" && !has(env, "DATABASE_URL="+wantURL) {
			t.Errorf("%s connects as %v, want DATABASE_URL=%s", name, env, wantURL)
		}
		// The worker runs the deletion activities as the deletion role;
		// no other process gets another's database URL.
		if got, want := named(env, "DATABASE_URL_DELETION"), name == "worker"; got != want {
			t.Errorf("%s gets the deletion role's database URL: %v, want %v", name, got, want)
		}
		if got, want := named(env, "DATABASE_URL_ESCALATION"), name == "worker"; got != want {
			t.Errorf("%s gets the escalation role's database URL: %v, want %v", name, got, want)
		}
		if got, want := named(env, "REDRESS_CHECKPOINT_KEY_FILE"), name == "checkpoints"; got != want {
			t.Errorf("%s gets the checkpoint key file: %v, want %v", name, got, want)
		}
		for _, k := range []string{"REDRESS_INBOUND_SERVICE_TOKEN", "REDRESS_IMAP_PASSWORD", "REDRESS_SMS_WEBHOOK_SECRET"} {
			if got, want := named(env, k), name == "inbound"; got != want {
				t.Errorf("%s gets %s: %v, want %v", name, k, got, want)
			}
		}
	}
}
