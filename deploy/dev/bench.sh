#!/usr/bin/env bash
# `make bench`: start a private stack (its own PostgreSQL cluster, durable
# settings as in `make run`, embedded Temporal on that cluster (or on SQLite
# with REDRESS_TEMPORAL_STORE=sqlite), intake and worker on their
# own ports), measure intake at offered rates and at saturation beside a raw
# SQL baseline of the same rows, and workflow start-up beside empty
# workflows; stop everything. BENCH_* variables shorten or lengthen runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto
mkdir -p .data .bin
pgdir="${REDRESS_BENCH_PG_DIR:-$root/.data/pgbench}"
# The owner migrates (and holds the baseline's schema); the services run as the runtime role.
REDRESS_MIGRATE_DATABASE_URL=$(bash deploy/dev/pg.sh start "$pgdir" "${REDRESS_BENCH_PG_PORT:-55434}")
DATABASE_URL=$(bash deploy/dev/pg.sh runtime-url "$pgdir" "${REDRESS_BENCH_PG_PORT:-55434}")
# The embedded Temporal server keeps its state in the same cluster, as its own role.
REDRESS_TEMPORAL_DATABASE_URL=$(bash deploy/dev/pg.sh temporal-url "$pgdir" "${REDRESS_BENCH_PG_PORT:-55434}")
export DATABASE_URL REDRESS_MIGRATE_DATABASE_URL REDRESS_TEMPORAL_DATABASE_URL
# Each run starts empty (record and workflow history), so runs compare.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
"${pgbin:+$pgbin/}psql" "${REDRESS_MIGRATE_DATABASE_URL/\/redress\?/\/postgres?}" -qc 'DROP DATABASE IF EXISTS redress WITH (FORCE)' -c 'CREATE DATABASE redress'
bash deploy/dev/pg.sh temporal-reset "$pgdir" "${REDRESS_BENCH_PG_PORT:-55434}"
rm -rf "$root/.data/bench"
bash deploy/dev/build.sh
# Every process on its own port beside a running `make run`; the profiler
# attaches to the intake process.
export REDRESS_DATA_DIR="$root/.data/bench" REDRESS_INTAKE_ADDR=127.0.0.1:19090 REDRESS_INTAKE_METRICS_ADDR=127.0.0.1:19091 \
  REDRESS_DELETION_ADDR=127.0.0.1:19092 REDRESS_DELETION_METRICS_ADDR=127.0.0.1:19093 \
  REDRESS_ESCALATION_ADDR=127.0.0.1:19094 REDRESS_ESCALATION_METRICS_ADDR=127.0.0.1:19095 \
  REDRESS_REPORTING_ADDR=127.0.0.1:19096 REDRESS_REPORTING_METRICS_ADDR=127.0.0.1:19098 \
  REDRESS_WORKER_METRICS_ADDR=127.0.0.1:19099 REDRESS_CHECKPOINTS_METRICS_ADDR=127.0.0.1:19100 \
  REDRESS_TEMPORAL_PORT=17233 REDRESS_TEMPORAL_UI_PORT=0 REDRESS_LOG_LEVEL=warn \
  REDRESS_PPROF_ADDR=127.0.0.1:19097 REDRESS_CONSOLE_ADDR=127.0.0.1:19080 REDRESS_PUBLIC_ADDR=127.0.0.1:19081 \
  REDRESS_INBOUND_ADDR=127.0.0.1:19082 REDRESS_DEV_MAIL_SMTP_ADDR=127.0.0.1:12525 \
  REDRESS_DEV_MAIL_IMAP_ADDR=127.0.0.1:11143 REDRESS_DEV_MAIL_PAGE_ADDR=127.0.0.1:18025
"$root/.bin/redress" dev >"$root/.data/bench.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; bash deploy/dev/pg.sh stop "$pgdir"' EXIT
for _ in $(seq 1 120); do  # dev says ready once every process answers its probe
  grep -q '^ready: started' "$root/.data/bench.log" && break
  kill -0 $pid 2>/dev/null || { cat "$root/.data/bench.log"; exit 1; }
  sleep 0.5
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version | cut -d' ' -f3)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$root/.bin/redress" bench -addr 127.0.0.1:19090 -temporal 127.0.0.1:17233 \
  -rates "${BENCH_RATES:-250,500,1000}" -duration "${BENCH_DURATION:-10s}" -sat-c "${BENCH_SAT_C:-64}" \
  -startup-n "${BENCH_STARTUP_N:-10000}" -startup-c "${BENCH_STARTUP_C:-64}" \
  -pprof http://127.0.0.1:19097/debug/pprof -profile-out "$root/.data/bench-intake.cpu.pprof" \
  -server-pid "$pid" -pg-pid "$(head -1 "$pgdir/postmaster.pid")" -json "$root/.data/bench.json"
echo "figures also in .data/bench.json; CPU profile of the intake process at saturation: .data/bench-intake.cpu.pprof"
echo "(go tool pprof -top .bin/redress .data/bench-intake.cpu.pprof)"
