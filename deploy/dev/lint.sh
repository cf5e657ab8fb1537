#!/usr/bin/env bash
# `make lint`: golangci-lint (configuration in .golangci.yml) over every module
# of the workspace, run inside each module directory (a run from the root
# finds no packages). The version pinned in the Makefile is built into .bin/
# on first use, and again when the pin changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto

version=${GOLANGCI_LINT_VERSION:?run through make lint, which pins the version}
bin="$root/.bin/golangci-lint"
if [ ! -x "$bin" ] || [ "v$("$bin" version --short 2>/dev/null)" != "$version" ]; then
  echo "lint: building golangci-lint $version into .bin/ (the first time on a machine this takes about 4 minutes on 2 cores)" >&2
  mkdir -p "$root/.bin"
  GOBIN="$root/.bin" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
fi

status=0
for m in proto workflows services; do
  echo "lint: $m" >&2
  (cd "$m" && "$bin" run --config "$root/.golangci.yml" ./...) || status=1
done
exit $status
