#!/usr/bin/env bash
# `make record-histories`: re-record the workflow histories the replay test
# (workflows/replay) replays. Runs the end-to-end tests below against a real
# Temporal with REDRESS_RECORD_HISTORIES set: each writes the histories of the
# workflows it ran to workflows/<package>/testdata/histories/<UTC day>/, then
# the replay test runs over them. Commit the new folder; keep the older ones
# while a workflow started on that code may still be open (docs/workflows.md).
#
#   RECORD_TESTS='TestX|TestY' make record-histories   records other tests
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export GOTOOLCHAIN=auto

# One or more tests per workflow type and variant: completed, rejected and
# cancelled, timers fired, Updates, a deletion asleep until its retention
# date, each escalation kind and adapter, both report workflows, a bulk batch.
tests=${RECORD_TESTS:-'^(TestComplaintLifecycleEndToEnd|TestComplaintRejectedReopenedAndMerged|TestSLABreachFiledOverHTTPSDespiteTimeoutAnd500|TestDeletionEndToEnd|TestDeletionRejectReasonTextStaysOutOfWorkflowHistory|TestDeletionDeadlineExtension|TestBulkPipelineRequestsRunWithTheirBatch|TestErasureLeavesNoNumberInCaseTexts|TestEscalationManualLifecycle|TestMaliciousProgramOpensMandatoryReport|TestLeakClusterOpensOneIncident|TestRegulatorReferralOpensInquiry|TestManualIncidentAndLinking|TestLateAcknowledgementByCallback|TestUnacknowledgedFilingAlertsSupervisor|TestDetectedIncidentWaitsForGradeAndItsDeadlineBreaches|TestIncidentBelowThresholdRecordedNotFiled|TestConfirmedCalendarRecomputesAnOpenCase|TestConfirmedCalendarRecomputesADeletionRequest|TestMonthlyReportSchedule)$'}

pgdir="$root/.data/pgrecord"
port=$(bash deploy/dev/pg.sh port "$pgdir" "${REDRESS_TEST_PG_PORT:-55433}")
REDRESS_TEST_DATABASE_URL=$(bash deploy/dev/pg.sh start "$pgdir" "$port" --fast)
export REDRESS_TEST_DATABASE_URL
trap 'bash deploy/dev/pg.sh stop "$pgdir"' EXIT

(cd services && REDRESS_RECORD_HISTORIES="$root/workflows" go test -count=1 -p 1 -run "$tests" ./e2e/)
(cd workflows && go test -count=1 ./replay/)
git status --short -- workflows/
