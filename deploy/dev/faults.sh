#!/usr/bin/env bash
# `make test-faults`: on a durable PostgreSQL cluster of its own (fsync on: a
# crash must not lose a commit), run TestFaults, which kills -9 the intake
# process (`redress serve intake`), the worker process (`redress serve
# worker`) and the Temporal server (on PostgreSQL, its databases in the same
# cluster) by pid and crash-restarts PostgreSQL
# under a steady load of submissions, then prints lost / duplicated /
# double-notified counts (all must be zero).
#   faults.sh                         run the test
#   faults.sh pg-crash-restart DIR    stop the cluster in DIR as a crash would, start it again
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto

if [ "${1:-}" = pg-crash-restart ]; then
  dir=$(readlink -f "$2")
  port=$(sed -n 4p "$dir/postmaster.pid")
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bindir" ] || bindir=$(dirname "$(command -v pg_ctl)")
  if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); else run=(); fi
  "${run[@]}" "$bindir/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null
  sleep 1
  bash deploy/dev/pg.sh start "$dir" "$port" >/dev/null
  exit 0
fi

pgdir="${REDRESS_FAULTS_PG_DIR:-$root/.data/pg-faults}"
port=$(bash deploy/dev/pg.sh port "$pgdir" "${REDRESS_FAULTS_PG_PORT:-55447}")
url=$(bash deploy/dev/pg.sh start "$pgdir" "$port")
trap 'bash "$root/deploy/dev/pg.sh" stop "$pgdir"' EXIT
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
"${pgbin:+$pgbin/}psql" "${url/\/redress\?/\/postgres?}" -qc 'DROP DATABASE IF EXISTS faults WITH (FORCE)' -c 'CREATE DATABASE faults'
# Temporal keeps its state in the same cluster (as in `make run`), so the
# crash-restart hits the engine too; each run starts from empty databases.
bash deploy/dev/pg.sh temporal-reset "$pgdir" "$port"
export REDRESS_FAULTS_DATABASE_URL="${url/\/redress\?/\/faults?}" REDRESS_FAULTS_PG_DIR="$pgdir" \
  REDRESS_FAULTS_TEMPORAL_DATABASE_URL="$(bash deploy/dev/pg.sh temporal-url "$pgdir" "$port")"
cd services
go test -count=1 -v -timeout 30m -run '^TestFaults$' ./e2e/ 2>&1 | grep -v '^=== RUN\|^=== PAUSE\|^=== CONT'
