#!/usr/bin/env bash
# `make run`: the whole Redress stack on this machine. Starts the project's
# PostgreSQL cluster (.data/pg) unless DATABASE_URL points elsewhere (then
# REDRESS_MIGRATE_DATABASE_URL names the owner that migrates), builds
# and runs `redress dev` (embedded Temporal unless TEMPORAL_ADDRESS is set,
# keeping its state in the cluster's databases temporal and
# temporal_visibility, and each service as its own process), and stops
# PostgreSQL again on Ctrl-C. Prints what it is doing and how long the start took.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto
mkdir -p .data .bin
t0=$(date +%s)
say() { printf 'run: %s\n' "$*" >&2; }

started_pg=""
if [ -z "${DATABASE_URL:-}" ]; then
  say "starting PostgreSQL (.data/pg)"
  # Migrations run as the owner of the tables, the services as the runtime
  # role, which cannot switch off the audit trigger or rewrite the chain.
  REDRESS_MIGRATE_DATABASE_URL=$(bash deploy/dev/pg.sh start "$root/.data/pg" "${REDRESS_PG_PORT:-55432}")
  DATABASE_URL=$(bash deploy/dev/pg.sh runtime-url "$root/.data/pg" "${REDRESS_PG_PORT:-55432}")
  export DATABASE_URL REDRESS_MIGRATE_DATABASE_URL
  # The embedded Temporal server connects as its own role, owner of its databases.
  if [ -z "${REDRESS_TEMPORAL_DATABASE_URL:-}" ]; then
    REDRESS_TEMPORAL_DATABASE_URL=$(bash deploy/dev/pg.sh temporal-url "$root/.data/pg" "${REDRESS_PG_PORT:-55432}")
    export REDRESS_TEMPORAL_DATABASE_URL
  fi
  # The processes that can connect as their own service's role do.
  for s in intake deletion escalation reporting checkpoints; do
    export "DATABASE_URL_${s^^}=$(bash deploy/dev/pg.sh runtime-url "$root/.data/pg" "${REDRESS_PG_PORT:-55432}" "$s")"
  done
  started_pg=1
fi
stop() {
  [ -n "$started_pg" ] && bash deploy/dev/pg.sh stop "$root/.data/pg"
  return 0
}
trap stop EXIT

bash deploy/dev/build.sh
export REDRESS_DATA_DIR="$root/.data"
say "starting redress dev (migrations, embedded Temporal, demo data, then one process per service)"
# redress dev says "ready: started in Ns" once every service process answers
# its readiness probe, counting from this script's start (the build included).
export REDRESS_DEV_STARTED_AT=$t0
# Not exec: the trap must stop PostgreSQL when redress exits. Ctrl-C reaches
# redress dev, which stops its service processes and the embedded Temporal.
"$root/.bin/redress" dev &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid; stop; exit 0' INT TERM
wait $pid
