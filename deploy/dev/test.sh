#!/usr/bin/env bash
# `make test`: lint, vet, every test of every module against a real PostgreSQL
# started here (throwaway cluster, fsync off), then brief fuzzing of the
# parsers of outside input. Needs nothing started by hand.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto

# The console's browser tests drive the system Chromium (chromedp).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && [ -z "${REDRESS_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing Chromium for the browser tests (apt-get install chromium)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    echo "test.sh: Chromium not found; install the 'chromium' package (or set REDRESS_CHROMIUM)" >&2
    exit 1
  fi
fi

# The PDF tests read the text back with pdftotext (poppler-utils).
if ! command -v pdftotext >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing pdftotext for the PDF tests (apt-get install poppler-utils)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >&2
  else
    echo "test.sh: pdftotext not found; install the 'poppler-utils' package" >&2
    exit 1
  fi
fi

pgdir="$root/.data/pgtest"
# A port something else holds is skipped (pg.sh port).
port=$(bash deploy/dev/pg.sh port "$pgdir" "${REDRESS_TEST_PG_PORT:-55433}")
REDRESS_TEST_DATABASE_URL=$(bash deploy/dev/pg.sh start "$pgdir" "$port" --fast)
export REDRESS_TEST_DATABASE_URL
trap 'bash deploy/dev/pg.sh stop "$pgdir"' EXIT

t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }
modules=(proto workflows services)
echo "== go mod tidy leaves every module unchanged"
for m in "${modules[@]}"; do
  (cd "$m" && go mod tidy -diff) || { echo "$m/go.mod or go.sum is not tidy: run 'go mod tidy' in $m and commit"; exit 1; }
done
echo "== lint"
make --no-print-directory lint
echo "== vet (the first run on a machine downloads modules and compiles for minutes)"
for m in "${modules[@]}"; do (cd "$m" && go vet ./...); done
# The development stack and the benchmarks build only with -tags dev.
(cd services && go vet -tags dev ./cmd/redress/)

echo "== test ($(elapsed) so far)"
for m in "${modules[@]}"; do (cd "$m" && go test -tags dev -count=1 -timeout 20m ./...); done

echo "== fuzz (brief; $(elapsed) so far)"
# Budgets are counts of inputs (about 8 s each here), not durations: a
# duration races Go's fuzz coordinator at its deadline and, on a busy
# machine, fails with a bare "context deadline exceeded" and no failing input
# (go.dev/issue/75804). FUZZTIME overrides them all.
fuzz() { (cd "$1" && go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-$4}" "$3"); }
fuzz services FuzzValidateSubmit ./internal/intake/ 40000x
fuzz workflows FuzzAdd ./calendar/ 400000x
fuzz services FuzzOpen ./internal/crypto/ 90000x
fuzz services FuzzReadPackage ./internal/filing/ 80000x
fuzz services FuzzDecodeCursor ./internal/escalation/ 60000x
echo "== all tests passed in $(elapsed)"
