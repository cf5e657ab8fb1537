package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	wf "github.com/redress/redress/workflows/deletion"
)

// submitPipelineBatch submits people from..to-1 as one bulk pipeline
// submission and answers their request ids.
func (r *deletionRig) submitPipelineBatch(from, to int, keyPrefix string) []string {
	r.t.Helper()
	heldFrom := time.Now().AddDate(-3, 0, 0)
	batch := &deletionv1.SubmitDeletionBatchRequest{}
	for i := from; i < to; i++ {
		batch.Items = append(batch.Items, &deletionv1.SubmitDeletionRequest{IdempotencyKey: fmt.Sprintf("%s-%d", keyPrefix, i),
			Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: deletionv1.Source_SOURCE_PIPELINE, Email: customertest.Email(i),
			Phone:             &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(i), HeldFrom: timestamppb.New(heldFrom)},
			AttestationReason: "signed in to the operator app; the app's deletion request form"})
	}
	resp, err := r.api.SubmitDeletionBatch(r.as("pipeline.crm"), batch)
	if err != nil {
		r.t.Fatal(err)
	}
	ids := make([]string, 0, to-from)
	for _, res := range resp.GetResults() {
		if res.GetErrorCode() != "" {
			r.t.Fatalf("item %d refused: %s", res.GetIndex(), res.GetErrorMessage())
		}
		ids = append(ids, res.GetDeletionId())
	}
	return ids
}

// TestBulkPipelineRequestsRunWithTheirBatch: the requests of one bulk
// pipeline submission are carried out by one batch workflow, step for step
// as a request's own workflow would (same statuses, same audit entries,
// certificate, notice), with no workflow per request; no human step reaches
// a batched request; a plan that needs a reviewer is handed to the
// request's own workflow untouched.
func TestBulkPipelineRequestsRunWithTheirBatch(t *testing.T) {
	r := newDeletionRig(t, 10)
	ids := r.submitPipelineBatch(0, 3, "batch-a")

	var batches []deletion.Batch
	r.db.Find(&batches)
	if len(batches) != 1 || batches[0].Size != 3 {
		t.Fatalf("batches on record: %+v", batches)
	}
	// A human step is refused while the batch holds the request: it runs unattended.
	_, err := r.api.CancelDeletion(r.as("supervisor.wang"), &deletionv1.CancelDeletionRequest{DeletionId: ids[0], ReasonText: "withdrawn"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "bulk submission") {
		t.Fatalf("cancel of a batched request: %v", err)
	}
	for _, id := range ids {
		r.waitBatchDone(id)
	}
	if left := r.count(`SELECT count(*) FROM accounts WHERE id < 3`); left != 0 {
		t.Fatalf("%d accounts of the batch's people remain", left)
	}
	for _, id := range ids {
		if _, err := r.tc.DescribeWorkflowExecution(r.ctx, wf.WorkflowID(id), ""); !isNotFound(err) {
			t.Fatalf("request %s has a workflow of its own: %v", id, err)
		}
		for _, action := range []string{"deletion.plan_built", "deletion.plan_approved", "deletion.certificate_issued"} {
			if n := r.audited(id, action); n != 1 {
				t.Fatalf("request %s: %d %s entries, want 1", id, n, action)
			}
		}
		var applied int64
		r.db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.connector_applied' AND details::jsonb->>'connector' = 'customer-db'", id).Count(&applied)
		if applied != 1 {
			t.Fatalf("request %s: applied %d times to the customer database, want once", id, applied)
		}
		var statuses []string
		r.db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.status_changed'", id).Order("seq").
			Pluck("details::jsonb->>'status'", &statuses)
		if strings.Join(statuses, ",") != "locating,executing,verifying" {
			t.Fatalf("request %s went through %v, want locating, executing, verifying", id, statuses)
		}
		var certs int64
		r.db.Model(&deletion.Certificate{}).Where("deletion_id = ?", id).Count(&certs)
		if certs != 1 {
			t.Fatalf("request %s: %d certificates", id, certs)
		}
	}
	desc, err := r.tc.DescribeWorkflowExecution(r.ctx, wf.BatchWorkflowID(batches[0].ID), "")
	if err != nil {
		t.Fatalf("the batch's workflow: %v", err)
	}
	if name := desc.GetWorkflowExecutionInfo().GetType().GetName(); name != wf.BatchWorkflowName {
		t.Fatalf("batch workflow type %s", name)
	}

	// A plan over the auto-approval limit needs a reviewer: the batch hands
	// the request on, and its own workflow asks for approval.
	r.stopDeletionWorker()
	r.acts.Auto.MaxRows = 0
	r.startDeletionWorker()
	held := r.submitPipelineBatch(3, 5, "batch-b")
	for _, id := range held {
		r.waitStatus(id, wf.StatusAwaitingApproval)
		var row deletion.Request
		r.db.Take(&row, "id = ?", id)
		if row.BatchID != nil || r.audited(id, "deletion.batch_released") != 1 {
			t.Fatalf("request %s not handed on from its batch: batch %v", id, row.BatchID)
		}
		if _, err := r.tc.DescribeWorkflowExecution(r.ctx, wf.WorkflowID(id), ""); err != nil {
			t.Fatalf("handed-on request %s has no workflow of its own: %v", id, err)
		}
		// Located once by its own workflow: the batch wrote nothing before handing it on.
		if n := r.audited(id, "deletion.plan_built"); n != 1 {
			t.Fatalf("request %s: %d plans built", id, n)
		}
	}
	if res, err := audit.Verify(r.ctx, r.db, audit.VerifyOptions{}); err != nil || !res.OK {
		t.Fatalf("audit chain: %+v %v", res, err)
	}
}

// waitBatchDone waits for a batched request to be answered.
func (r *deletionRig) waitBatchDone(id string) {
	r.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		switch s := r.status(id); s {
		case wf.StatusCompleted, wf.StatusRestricted:
			return
		case wf.StatusFailed:
			r.t.Fatalf("request %s failed", id)
		default:
			if time.Now().After(deadline) {
				r.t.Fatalf("request %s still %s", id, s)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
