#!/usr/bin/env bash
# `make bench-deletion` (also run by `make bench`): bulk submission of
# BENCH_DELETION_N (10,000) deletion requests, all of them end to end against
# the PostgreSQL connector, beside direct SQL deletes of the same rows of as
# many other people; private PostgreSQL cluster, embedded Temporal keeping its
# state in that cluster (the production engine's store), real gRPC.
# Figures on stdout and in .data/bench-deletion.json. Takes ~5 minutes on
# 2 cores at 10,000 (each submission of 1,000 runs as one batch workflow; the
# bound is CPU, on about 40 statements per request across both databases).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto
mkdir -p .data
pgdir="$root/.data/pgbench-deletion"
pgport=$(bash deploy/dev/pg.sh port "$pgdir" "${REDRESS_BENCH_DELETION_PG_PORT:-55437}")
REDRESS_TEST_DATABASE_URL=$(bash deploy/dev/pg.sh start "$pgdir" "$pgport" --fast)
bash deploy/dev/pg.sh temporal-reset "$pgdir" "$pgport" # each run starts with an empty workflow history
REDRESS_E2E_TEMPORAL_DATABASE_URL=$(bash deploy/dev/pg.sh temporal-url "$pgdir" "$pgport")
export REDRESS_TEST_DATABASE_URL REDRESS_E2E_TEMPORAL_DATABASE_URL
trap 'bash "$root/deploy/dev/pg.sh" stop "$pgdir"' EXIT
# The template database is rebuilt from the migrations of this checkout.
psql -q "$(sed 's#/redress?#/postgres?#' <<<"$REDRESS_TEST_DATABASE_URL")" -c 'DROP DATABASE IF EXISTS redress_template WITH (FORCE)'
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
cd services
REDRESS_DELETION_BENCH="${BENCH_DELETION_N:-10000}" REDRESS_BENCH_JSON="$root/.data/bench-deletion.json" \
  go test -count=1 -v -timeout 120m -run '^TestDeletionBulkThroughput$' ./e2e/ | grep --line-buffered -E 'deletion_bench_test|^(--- |ok|FAIL|PASS)'
echo "figures also in .data/bench-deletion.json"
