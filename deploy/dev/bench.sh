#!/usr/bin/env bash
# `make bench`: start a private stack in the deployed shape (its own
# PostgreSQL cluster, durable settings as in `make run`; `redress dev`: the
# embedded Temporal server on that cluster and every service as its own
# process) and measure workflow start-up beside empty workflows, a complaint
# storm, intake at offered rates and at saturation beside a raw SQL baseline
# of the same rows, with every process's CPU and memory and what PostgreSQL's
# sessions wait on, per phase; then the issue's target rows, each beside its
# same-run baseline, in .data/bench.json.
# Before that, the same start-up measure on a stack whose Temporal keeps its
# state in SQLite, so both stores are compared in one run (BENCH_SQLITE=0
# skips it). The deletion row comes from .data/bench-deletion.json
# (`make bench` runs bench-deletion first; BENCH_DELETION=0 leaves it out).
#
# BENCH_* variables shorten or lengthen runs (defaults = the full figures):
#   BENCH_STARTUP_N=10000 BENCH_STARTUP_C=64  start-up measure (0 skips)
#   BENCH_STORM_N=20000 BENCH_STORM_RATE=500  the complaint storm (0 skips)
#   BENCH_RATES=250,500,1000 BENCH_DURATION=10s BENCH_SAT_C=64
#   BENCH_SQLITE_STARTUP_N (default BENCH_STARTUP_N) for the SQLite stack
# Ports: REDRESS_BENCH_PORT_BASE (19080: console, +1 public, +10.. services)
# and REDRESS_BENCH_TEMPORAL_PORT (17233), so a bench runs beside `make run`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto
mkdir -p .data .bin
pgdir="${REDRESS_BENCH_PG_DIR:-$root/.data/pgbench}"
pgport=$(bash deploy/dev/pg.sh port "$pgdir" "${REDRESS_BENCH_PG_PORT:-55434}")
# The owner migrates (and holds the baseline's schema); the services run as their own roles.
REDRESS_MIGRATE_DATABASE_URL=$(bash deploy/dev/pg.sh start "$pgdir" "$pgport")
DATABASE_URL=$(bash deploy/dev/pg.sh runtime-url "$pgdir" "$pgport")
# The embedded Temporal server keeps its state in the same cluster, as its own role.
REDRESS_TEMPORAL_DATABASE_URL=$(bash deploy/dev/pg.sh temporal-url "$pgdir" "$pgport")
export DATABASE_URL REDRESS_MIGRATE_DATABASE_URL REDRESS_TEMPORAL_DATABASE_URL
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
bash deploy/dev/build.sh

b=${REDRESS_BENCH_PORT_BASE:-19080}
tport=${REDRESS_BENCH_TEMPORAL_PORT:-17233}
export REDRESS_DATA_DIR="$root/.data/bench" \
  REDRESS_CONSOLE_ADDR=127.0.0.1:$b REDRESS_PUBLIC_ADDR=127.0.0.1:$((b + 1)) \
  REDRESS_INTAKE_ADDR=127.0.0.1:$((b + 10)) REDRESS_INTAKE_METRICS_ADDR=127.0.0.1:$((b + 11)) \
  REDRESS_DELETION_ADDR=127.0.0.1:$((b + 12)) REDRESS_DELETION_METRICS_ADDR=127.0.0.1:$((b + 13)) \
  REDRESS_ESCALATION_ADDR=127.0.0.1:$((b + 14)) REDRESS_ESCALATION_METRICS_ADDR=127.0.0.1:$((b + 15)) \
  REDRESS_REPORTING_ADDR=127.0.0.1:$((b + 16)) REDRESS_PPROF_ADDR=127.0.0.1:$((b + 17)) \
  REDRESS_REPORTING_METRICS_ADDR=127.0.0.1:$((b + 18)) REDRESS_WORKER_METRICS_ADDR=127.0.0.1:$((b + 19)) \
  REDRESS_CHECKPOINTS_METRICS_ADDR=127.0.0.1:$((b + 20)) REDRESS_DEV_PPROF_ADDR=127.0.0.1:$((b + 21)) \
  REDRESS_INBOUND_ADDR=127.0.0.1:$((b + 2)) REDRESS_DEV_MAIL_SMTP_ADDR=127.0.0.1:$((b + 22)) \
  REDRESS_DEV_MAIL_IMAP_ADDR=127.0.0.1:$((b + 23)) REDRESS_DEV_MAIL_PAGE_ADDR=127.0.0.1:$((b + 24)) \
  REDRESS_WORKER_PPROF_ADDR=127.0.0.1:$((b + 25)) \
  REDRESS_TEMPORAL_PORT=$tport REDRESS_TEMPORAL_UI_PORT=0 REDRESS_LOG_LEVEL=warn

pid=
stop_stack() {
  [ -n "$pid" ] || return 0
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}
trap 'stop_stack; bash deploy/dev/pg.sh stop "$pgdir"' EXIT

# start_stack STORE LOG: an empty record and workflow history (so runs
# compare), then `redress dev` with the embedded Temporal on STORE; waits
# until every process answers its probe.
start_stack() {
  "${pgbin:+$pgbin/}psql" "${REDRESS_MIGRATE_DATABASE_URL/\/redress\?/\/postgres?}" -qc 'DROP DATABASE IF EXISTS redress WITH (FORCE)' -c 'CREATE DATABASE redress'
  bash deploy/dev/pg.sh temporal-reset "$pgdir" "$pgport"
  rm -rf "$REDRESS_DATA_DIR"
  REDRESS_TEMPORAL_STORE=$1 "$root/.bin/redress" dev >"$2" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    grep -q '^ready: started' "$2" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$2"; exit 1; }
    sleep 0.5
  done
  echo "bench: the stack did not come up; see $2" >&2
  exit 1
}

bench() {
  "$root/.bin/redress" bench -addr "127.0.0.1:$((b + 10))" -temporal "127.0.0.1:$tport" \
    -server-pid "$pid" -pg-pid "$(head -1 "$pgdir/postmaster.pid")" "$@"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version | cut -d' ' -f3)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
other=()
rm -f "$root/.data/bench-sqlite.json"
if [ "${BENCH_SQLITE:-1}" != 0 ] && [ "${BENCH_SQLITE_STARTUP_N:-${BENCH_STARTUP_N:-10000}}" != 0 ]; then
  echo "== Temporal on SQLite: workflow start-up only"
  start_stack sqlite "$root/.data/bench-sqlite.log"
  bench -store sqlite -rates '' -sat-c 0 -storm-n 0 \
    -startup-n "${BENCH_SQLITE_STARTUP_N:-${BENCH_STARTUP_N:-10000}}" -startup-c "${BENCH_STARTUP_C:-64}" \
    -json "$root/.data/bench-sqlite.json"
  stop_stack
  other=(-other-startup "$root/.data/bench-sqlite.json")
fi
deletion=()
[ "${BENCH_DELETION:-1}" != 0 ] && deletion=(-deletion-json "$root/.data/bench-deletion.json")

echo "== Temporal on PostgreSQL: the full run"
start_stack postgres "$root/.data/bench.log"
bench -store postgres "${other[@]}" "${deletion[@]}" \
  -rates "${BENCH_RATES-250,500,1000}" -duration "${BENCH_DURATION:-10s}" -sat-c "${BENCH_SAT_C:-64}" \
  -startup-n "${BENCH_STARTUP_N:-10000}" -startup-c "${BENCH_STARTUP_C:-64}" \
  -storm-n "${BENCH_STORM_N:-20000}" -storm-rate "${BENCH_STORM_RATE:-500}" \
  -pprof "http://127.0.0.1:$((b + 17))/debug/pprof" -profile-out "$root/.data/bench-intake.cpu.pprof" \
  -temporal-pprof "http://127.0.0.1:$((b + 21))/debug/pprof" -temporal-profile-out "$root/.data/bench-temporal.cpu.pprof" \
  -worker-pprof "http://127.0.0.1:$((b + 25))/debug/pprof" -worker-profile-out "$root/.data/bench-worker.cpu.pprof" \
  -json "$root/.data/bench.json"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "figures also in .data/bench.json; CPU profile of the intake process at saturation: .data/bench-intake.cpu.pprof"
echo "CPU profiles during the storm: .data/bench-temporal.cpu.pprof (redress dev, the embedded Temporal server), .data/bench-worker.cpu.pprof (the worker)"
echo "(go tool pprof -top .bin/redress .data/bench-intake.cpu.pprof)"
