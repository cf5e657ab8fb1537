#!/usr/bin/env bash
# `make run`: the whole Redress stack on this machine. Starts the project's
# PostgreSQL cluster (.data/pg) unless DATABASE_URL points elsewhere (then
# REDRESS_MIGRATE_DATABASE_URL names the owner that migrates), builds
# and runs `redress dev` (embedded Temporal unless TEMPORAL_ADDRESS is set),
# and stops PostgreSQL again on Ctrl-C. Prints what it is doing and how long
# the start took.
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
  started_pg=1
fi
stop() {
  [ -n "$started_pg" ] && bash deploy/dev/pg.sh stop "$root/.data/pg"
  return 0
}
trap stop EXIT

bash deploy/dev/build.sh
export REDRESS_DATA_DIR="$root/.data"
say "starting redress dev (migrations, embedded Temporal, services, demo data)"
# Not exec: the trap must stop PostgreSQL when redress exits.
"$root/.bin/redress" dev &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid; stop; exit 0' INT TERM

# Once the services answer their readiness probe, say how long the start took.
probe=${REDRESS_METRICS_ADDR:-127.0.0.1:9091}
ready() { # GET /readyz answers 200 (bash's /dev/tcp: no curl needed)
  exec 3<>"/dev/tcp/${probe%:*}/${probe##*:}" || return 1
  printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$probe" >&3
  local status; read -r _ status _ <&3; exec 3<&-
  [ "$status" = 200 ]
}
(
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || exit 0
    if ready 2>/dev/null; then
      say "ready: started in $(( $(date +%s) - t0 ))s (the first run on a machine downloads and compiles; later runs take seconds)"
      exit 0
    fi
    sleep 0.5
  done
) &
wait $pid
