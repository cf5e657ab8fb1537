# Redress — the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
export GOTOOLCHAIN := auto
export PATH := $(CURDIR)/.bin:$(PATH)
GOBIN := $(CURDIR)/.bin

BUF_VERSION              := v1.75.0
PROTOC_GEN_GO_VERSION    := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GOLANGCI_LINT_VERSION    := v2.15.0

.PHONY: run test lint record-histories bench test-faults bench-export bench-deletion proto proto-check tools build vet fuzz clean clean-data

## run: start PostgreSQL, embedded Temporal on it (+ Web UI), demo data, then one process per service (redress serve <name>); print addresses and pids
run:
	@bash deploy/dev/run.sh

## test: start a throwaway PostgreSQL and run lint, vet, every test and brief fuzzing
test:
	@bash deploy/dev/test.sh

## lint: golangci-lint (rules in .golangci.yml) over every module; the first run builds the pinned version into .bin/
lint:
	@GOLANGCI_LINT_VERSION=$(GOLANGCI_LINT_VERSION) bash deploy/dev/lint.sh

## record-histories: re-record, from the end-to-end tests, the workflow histories the replay test replays (docs/workflows.md)
record-histories:
	@bash deploy/dev/record-histories.sh

## bench: bench-deletion, then the deployed shape (one process per service, Temporal on PostgreSQL): start-up beside empty workflows (PostgreSQL and SQLite stores), the complaint storm, intake at offered rates and saturation beside raw SQL, CPU and memory per process; every target row in .data/bench.json; then bench-export
bench:
	@if [ "$${BENCH_DELETION:-1}" != 0 ]; then $(MAKE) --no-print-directory bench-deletion; fi
	@bash deploy/dev/bench.sh
	@$(MAKE) --no-print-directory bench-export

## bench-export: CSV export of 1,000,000 cases (rows/s, peak RSS) beside COPY ... TO STDOUT of the same rows
bench-export:
	@bash deploy/dev/bench-export.sh

## bench-deletion: 10,000 deletion requests bulk-submitted and run end to end (Temporal on PostgreSQL) against the PostgreSQL connector beside direct SQL deletes of the same rows
bench-deletion:
	@bash deploy/dev/bench-deletion.sh

## test-faults: kill -9 intake, worker, Temporal and crash-restart PostgreSQL under load; print lost/duplicated/double-notified counts
test-faults:
	@bash deploy/dev/faults.sh

## build: the redress binary into .bin/
build:
	@bash deploy/dev/build.sh

## proto: regenerate the Go code of proto/ with pinned local plugins
proto: tools
	cd proto && buf lint && buf generate

## proto-check: fail when the committed generated code differs from a fresh generation
proto-check: proto
	@git diff --exit-code -- proto/ || { echo "generated code in proto/ is stale: run 'make proto' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto/)" || { git status --porcelain -- proto/; echo "untracked generated files in proto/"; exit 1; }

tools:
	@mkdir -p $(GOBIN)
	@test -x $(GOBIN)/buf || GOBIN=$(GOBIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@test -x $(GOBIN)/protoc-gen-go || GOBIN=$(GOBIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@test -x $(GOBIN)/protoc-gen-go-grpc || GOBIN=$(GOBIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

clean:
	-bash deploy/dev/pg.sh stop .data/pg
	-bash deploy/dev/pg.sh stop .data/pgtest
	rm -rf .bin

## clean-data: stop every cluster of this clone and delete all its data (.data, and any cluster kept outside it)
clean-data:
	@for d in .data/pg*; do [ -e "$$d" ] && bash deploy/dev/pg.sh remove "$$d"; done; true
	rm -rf .data
