#!/usr/bin/env bash
# `make bench`: start a private stack (its own PostgreSQL cluster, durable
# settings as in `make run`, embedded Temporal, intake and worker on their
# own ports), measure intake beside a plain SQL baseline, stop everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto
mkdir -p .data .bin
pgdir="$root/.data/pgbench"
DATABASE_URL=$(bash deploy/dev/pg.sh start "$pgdir" "${REDRESS_BENCH_PG_PORT:-55434}")
export DATABASE_URL
(cd services && go build -o "$root/.bin/redress" ./cmd/redress)
export REDRESS_DATA_DIR="$root/.data/bench" REDRESS_INTAKE_ADDR=127.0.0.1:19090 REDRESS_METRICS_ADDR=127.0.0.1:19091 \
  REDRESS_TEMPORAL_PORT=17233 REDRESS_TEMPORAL_UI_PORT=0 REDRESS_LOG_LEVEL=warn
"$root/.bin/redress" dev >"$root/.data/bench.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; bash deploy/dev/pg.sh stop "$pgdir"' EXIT
for _ in $(seq 1 120); do
  curl -fsS http://127.0.0.1:19091/readyz >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$root/.data/bench.log"; exit 1; }
  sleep 0.5
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version | cut -d' ' -f3)"
"$root/.bin/redress" bench -addr 127.0.0.1:19090 -n "${BENCH_N:-2000}" -c "${BENCH_C:-1,16}" -json "$root/.data/bench-intake.json"
echo "figures also in .data/bench-intake.json"
