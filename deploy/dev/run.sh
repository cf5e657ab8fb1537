#!/usr/bin/env bash
# `make run`: the whole Redress stack on this machine. Starts the project's
# PostgreSQL cluster (.data/pg) unless DATABASE_URL points elsewhere, builds
# and runs `redress dev` (embedded Temporal unless TEMPORAL_ADDRESS is set),
# and stops PostgreSQL again on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto
mkdir -p .data .bin

started_pg=""
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(bash deploy/dev/pg.sh start "$root/.data/pg" "${REDRESS_PG_PORT:-55432}")
  export DATABASE_URL
  started_pg=1
fi
stop() {
  [ -n "$started_pg" ] && bash deploy/dev/pg.sh stop "$root/.data/pg"
}
trap stop EXIT

echo "building redress…"
(cd services && go build -o "$root/.bin/redress" ./cmd/redress)
export REDRESS_DATA_DIR="$root/.data"
# Not exec: the trap must stop PostgreSQL when redress exits.
"$root/.bin/redress" dev &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid; stop; exit 0' INT TERM
wait $pid
