#!/usr/bin/env bash
# `make bench-export` (also run by `make bench`): export 1,000,000 cases as
# CSV through ReportingService beside COPY ... TO STDOUT of the same rows, on
# a private PostgreSQL cluster. The seeded cases stay in .data/pgbench-export,
# so later runs skip the seeding.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto
mkdir -p .data .bin
pgdir="$root/.data/pgbench-export"
pgport=$(bash deploy/dev/pg.sh port "$pgdir" "${REDRESS_BENCH_EXPORT_PG_PORT:-55436}")
DATABASE_URL=$(bash deploy/dev/pg.sh start "$pgdir" "$pgport")
export DATABASE_URL
trap 'bash deploy/dev/pg.sh stop "$pgdir"' EXIT
bash deploy/dev/build.sh
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
REDRESS_LOG_LEVEL=warn "$root/.bin/redress" bench-export -n "${BENCH_EXPORT_N:-1000000}" -json "$root/.data/bench-export.json"
echo "figures also in .data/bench-export.json"
