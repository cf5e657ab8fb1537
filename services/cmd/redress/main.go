// Command redress runs Redress: `redress dev` (the whole stack on one
// machine), `redress serve intake|worker`, `redress migrate` and
// `redress audit verify`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redress/redress/services/internal/config"
)

const usage = `usage: redress <command>

commands:
  dev              run the whole stack on this machine (embedded Temporal, every service, the workers,
                   the console and the public pages, demo data and demo sign-ins)
  serve intake     run the gRPC services (intake, deletion, escalation, reporting)
  serve worker     run the Temporal workers (complaints, deletions, escalations, reports)
  serve console    run the web console (reaches the services at REDRESS_INTAKE_ADDR)
  serve public     run the public channels page, complaint form and status lookup
  serve checkpoints
                   sign the audit chain head periodically (REDRESS_CHECKPOINT_KEY_FILE)
  serve all        all of the above in one process
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
  bench            measure intake and workflow start-up against a running stack beside raw baselines
  bench-export     measure the CSV export of many cases beside COPY ... TO STDOUT of the same rows

configuration comes from the environment: DATABASE_URL (the services' runtime role),
REDRESS_MIGRATE_DATABASE_URL (the owner, for migrate and dev), TEMPORAL_ADDRESS,
REDRESS_MASTER_KEY, REDRESS_COMMAND_KEY, REDRESS_INTAKE_ADDR, REDRESS_METRICS_ADDR, REDRESS_SMTP_ADDR, ...
(see services/internal/config/config.go)
`

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
	log := newLogger(cfg.LogLevel)
	args := os.Args[2:]
	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, cfg, log)
	case "serve":
		err = runServe(ctx, cfg, log, args)
	case "migrate":
		err = runMigrate(ctx, cfg)
	case "bench":
		err = runBench(ctx, cfg, args)
	case "export":
		err = runExport(ctx, cfg, args)
	case "bench-export":
		err = runBenchExport(ctx, cfg, args)
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
