#!/usr/bin/env bash
# Builds .bin/redress and says what it is doing: the first build on a machine
# fetches the Go toolchain and modules and compiles about 1,500 packages
# (minutes on 2 cores); later builds take seconds. Progress goes to stderr.
#   build.sh            build .bin/redress (the development build: -tags dev adds
#                       `redress dev` with its embedded Temporal, and the benchmarks)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/services"
export GOTOOLCHAIN=auto
mkdir -p "$root/.bin"

say() { printf 'build: %s\n' "$*" >&2; }
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }
t0=$(date +%s)

# A counter on one line on a terminal; a line every 100 packages otherwise.
progress() {
  local what=$1 total=$2 n=0 line
  while IFS= read -r line; do
    n=$((n + 1))
    if [ -t 2 ]; then
      printf '\rbuild: %s %d/%s (%s)   ' "$what" "$n" "$total" "$(elapsed)" >&2
    elif [ $((n % 100)) = 0 ]; then
      say "$what $n/$total ($(elapsed))"
    fi
  done
  [ -t 2 ] && [ "$n" -gt 0 ] && printf '\n' >&2
  return 0
}

# The toolchain go.mod asks for, when the machine's Go is older (once).
want=$(sed -n 's/^go //p' go.mod)
if [ "$(GOTOOLCHAIN=local go env GOVERSION)" != "go$want" ] && ! GOPROXY=off go env GOVERSION >/dev/null 2>&1; then
  say "fetching the Go toolchain go$want from the module proxy (first run only)"
fi
go env GOVERSION >/dev/null || { say "could not get the Go toolchain go$want"; exit 1; }

# Modules: a cold module cache needs a few hundred downloads, once.
if ! GOPROXY=off go list -deps ./cmd/redress >/dev/null 2>&1; then
  total=$(go list -m all 2>/dev/null | wc -l)
  say "downloading Go modules into $(go env GOMODCACHE) (first run only; about $total modules)"
  go mod download -x 2>&1 | grep --line-buffered -E '^# get .*: 200 OK' | grep --line-buffered '\.zip' | progress "downloaded modules" "~$total"
fi

total=$(go list -deps -tags dev ./cmd/redress | wc -l)
say "compiling redress ($total packages; the first build takes minutes, later ones seconds)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! go build -tags dev -v -o "$root/.bin/redress" ./cmd/redress 2> >(tee "$log" | progress "compiled packages" "$total"); then
  wait
  grep -vE '^[^ :]+$' "$log" >&2 || true # the errors, without the package names
  say "go build failed"; exit 1
fi
wait
say "built .bin/redress in $(elapsed)"
