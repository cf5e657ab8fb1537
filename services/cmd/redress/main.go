// Command redress runs Redress: `redress dev` (the whole stack on one
// machine, one process per service), `redress serve <service>`, `redress
// migrate` and `redress audit verify`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/i18n"
)

const usage = `usage: redress <command>

commands:
  dev              (development build, -tags dev) run the whole stack on this machine: embedded Temporal, demo data and demo sign-ins,
                   then every service below as its own process (redress serve <service>), supervised
  serve intake     IntakeService on REDRESS_INTAKE_ADDR (metrics and probes on REDRESS_INTAKE_METRICS_ADDR)
  serve deletion   DeletionService on REDRESS_DELETION_ADDR (REDRESS_DELETION_METRICS_ADDR)
  serve escalation EscalationService on REDRESS_ESCALATION_ADDR (REDRESS_ESCALATION_METRICS_ADDR)
  serve reporting  ReportingService on REDRESS_REPORTING_ADDR (REDRESS_REPORTING_METRICS_ADDR)
  serve worker     the Temporal workers (complaints, deletions, escalations, reports; REDRESS_WORKER_METRICS_ADDR)
  serve console    the web console (dials the four services at their addresses)
  serve public     the public channels page, complaint form and status lookup (no database, no keys:
                   the intake and reporting services over gRPC with REDRESS_PUBLIC_TOKEN)
  serve inbound    the inbound gateway: the complaints mailbox (REDRESS_IMAP_ADDR) and the SMS webhook on
                   REDRESS_INBOUND_ADDR, handed to intake over gRPC with REDRESS_INBOUND_SERVICE_TOKEN
  serve checkpoints
                   sign the audit chain head periodically (REDRESS_CHECKPOINT_KEY_FILE; REDRESS_CHECKPOINTS_METRICS_ADDR)
  serve all        all of the above in one process (each still on its own address), for small installs
  migrate          apply database migrations
  audit verify     recompute the audit chain and name the first broken entry;
                   --package FILE verifies an inspection package, -filing FILE a filing package's proof;
                   -checkpoints DIR|FILE -checkpoint-key BASE64 checks it against signed checkpoints
  audit checkpoint-key
                   print the public key that signs audit checkpoints (to publish)
  verify certificate FILE [-key BASE64]
                   check a deletion certificate's Ed25519 signature offline
  keys status|rotate|generate
                   master key versions: subject keys per version, rewrap online under the current one
  signing-key      print the public key that signs certificates (to publish)
  user ...         add, disable, enable, re-role users; set passwords; issue/revoke API credentials
  export <report>  download a register, the SLA statistics, a stored report or an inspection package
  calendar load FILE | confirm ID | reject ID | list
                   load a year's official calendar, confirmed by a second administrator (your own credential)
  bench            (development build) measure intake and workflow start-up against a running stack beside raw baselines
  bench-export     (development build) measure the CSV export of many cases beside COPY ... TO STDOUT of the same rows

configuration comes from the environment: DATABASE_URL (the services' runtime role),
REDRESS_MIGRATE_DATABASE_URL (the owner, for migrate and dev), TEMPORAL_ADDRESS,
REDRESS_MASTER_KEY, REDRESS_COMMAND_KEY, REDRESS_<SERVICE>_ADDR, REDRESS_<SERVICE>_METRICS_ADDR, REDRESS_SMTP_ADDR, ...
(see services/internal/config/config.go)
`

// devCommands are the commands of the development build (-tags dev): the
// whole stack with an embedded Temporal server, and the benchmarks. The
// production binary carries neither, nor their dependencies.
var devCommands = map[string]func(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error{}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load()
	if err != nil {
		fatal(err)
	}
	if err := i18n.SetZone(cfg.TimeZone); err != nil {
		fatal(fmt.Errorf("configuration: REDRESS_TIME_ZONE: %w", err))
	}
	log := newLogger(cfg.LogLevel)
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		err = runServe(ctx, cfg, log, args)
	case "migrate":
		err = runMigrate(ctx, cfg)
	case "export":
		err = runExport(ctx, cfg, args)
	case "calendar":
		err = runCalendar(ctx, cfg, args, os.Stdout)
	case "audit":
		os.Exit(runAudit(ctx, cfg, args)) //nolint:gocritic // exitAfterDefer: stop only unregisters the signal handler
	case "user":
		err = runUser(ctx, cfg, args)
	case "keys":
		err = runKeys(ctx, cfg, args, os.Stdout)
	case "verify":
		os.Exit(runVerify(args, os.Stdout))
	case "signing-key":
		err = runSigningKey(cfg, os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
	case "dev", "bench", "bench-export":
		run, ok := devCommands[os.Args[1]]
		if !ok {
			fatal(fmt.Errorf("%s is not in this build: the production binary leaves out the development stack and the benchmarks; "+
				"build with `go build -tags dev` (make run and make bench do)", os.Args[1]))
		}
		err = run(ctx, cfg, log, args)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fatal(err)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "redress:", err)
	os.Exit(1)
}
