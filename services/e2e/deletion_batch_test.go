package e2e

import (
	"encoding/json"
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
	"github.com/redress/redress/services/internal/notify/smtptest"
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
		if got := r.statusesRecorded(id); got != "locating,executing,verifying" {
			t.Fatalf("request %s went through %s, want locating, executing, verifying", id, got)
		}
		// The batch records the moves to locating and executing with the plan,
		// and to verifying with the last receipt: each request holds the audit
		// chain's head at most four times after its submission (plan, receipt,
		// certificate, forgetting the requester), not seven.
		var held int64
		r.db.Raw(`SELECT count(DISTINCT xmin::text) FROM audit_entries WHERE object_id = ? AND action NOT IN ('deletion.submitted', 'deletion.identity_verified')`, id).Scan(&held)
		if held > 4 {
			t.Fatalf("request %s: %d audited transactions after submission, want at most 4", id, held)
		}
		var certs int64
		r.db.Model(&deletion.Certificate{}).Where("deletion_id = ?", id).Count(&certs)
		if certs != 1 {
			t.Fatalf("request %s: %d certificates", id, certs)
		}
		r.checkBatchOutcome(id)
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

// checkBatchOutcome checks what a batch carries from the plan's transaction
// to the certificate and the notice rather than reading it back: the
// certificate says what the record says, every system's evidence is
// complete, and the requester's one notice says what the certificate says.
func (r *deletionRig) checkBatchOutcome(id string) {
	r.t.Helper()
	var req deletion.Request
	var cert deletion.Certificate
	r.db.Take(&req, "id = ?", id)
	r.db.Take(&cert, "deletion_id = ?", id)
	var body struct {
		Status      string     `json:"status"`
		PlanDigest  string     `json:"plan_digest"`
		ApprovedBy  string     `json:"approved_by"`
		ApprovedAt  *time.Time `json:"approved_at"`
		SubmittedAt time.Time  `json:"submitted_at"`
		Statements  []string   `json:"statement_zh"`
		StatementEN []string   `json:"statement_en"`
	}
	if err := json.Unmarshal([]byte(cert.Body), &body); err != nil {
		r.t.Fatal(err)
	}
	if body.Status != req.Status || body.PlanDigest != req.PlanDigest || body.ApprovedBy != req.ApprovedBy ||
		body.ApprovedAt == nil || req.ApprovedAt == nil || !body.ApprovedAt.Equal(*req.ApprovedAt) || !body.SubmittedAt.Equal(req.CreatedAt) {
		r.t.Fatalf("request %s: the certificate says %+v, the record %s %s %s %v %v", id, body, req.Status, req.PlanDigest, req.ApprovedBy, req.ApprovedAt, req.CreatedAt)
	}
	var ev []deletion.Evidence
	r.db.Where("deletion_id = ?", id).Find(&ev)
	if len(ev) != 2 {
		r.t.Fatalf("request %s: evidence of %d systems, want 2", id, len(ev))
	}
	for _, e := range ev {
		if e.AfterDigest == "" || e.Remaining != 0 || (e.Connector == "customer-db" && (e.Affected == 0 || e.Receipt == "")) {
			r.t.Fatalf("request %s: evidence incomplete: %+v", id, e)
		}
	}
	if req.Language == "en" {
		body.Statements = body.StatementEN
	}
	ref := "DR-" + id[:8] // the notice follows the certificate
	r.smtp.WaitFor(r.t, 20*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, ref) })
	var notices []smtptest.Message
	for _, m := range r.smtp.Messages() {
		if strings.Contains(m.Body, ref) {
			notices = append(notices, m)
		}
	}
	if len(notices) != 1 || len(body.Statements) == 0 {
		r.t.Fatalf("request %s: %d notices, certificate statements %q", id, len(notices), body.Statements)
	}
	for _, line := range body.Statements {
		if !strings.Contains(notices[0].Body, line) {
			r.t.Fatalf("request %s: the notice does not say %q:\n%s", id, line, notices[0].Body)
		}
	}
}

// statusesRecorded answers the statuses the audit chain says the request
// moved through after submission, in order.
func (r *deletionRig) statusesRecorded(id string) string {
	var statuses []string
	r.db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.status_changed'", id).Order("seq").
		Pluck("details::jsonb->>'status'", &statuses)
	return strings.Join(statuses, ",")
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

// A pass that stops part-way (here the customer database refuses deletes)
// leaves every request where its record says it is, and the next pass
// carries each on from there: planned once, applied once, each status and
// the certificate recorded once.
func TestBatchPassResumesWhereItStopped(t *testing.T) {
	r := newDeletionRig(t, 6)
	r.stopDeletionWorker() // the passes below are the only ones
	for _, q := range []string{
		`CREATE TABLE refuse_deletes (on_ boolean)`,
		`INSERT INTO refuse_deletes VALUES (true)`,
		`CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN IF EXISTS (SELECT 1 FROM refuse_deletes) THEN RAISE EXCEPTION 'connector down'; END IF; RETURN OLD; END $$`,
		`CREATE TRIGGER refuse_delete BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION refuse_delete()`,
	} {
		if _, err := r.customer.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ids := r.submitPipelineBatch(0, 3, "resume")
	var b deletion.Batch
	if err := r.db.Take(&b).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := r.acts.BatchStep(r.ctx, wf.BatchStepInput{BatchID: b.ID}); err == nil || !strings.Contains(err.Error(), "connector down") {
		t.Fatalf("a pass against a refusing connector: %v", err)
	}
	var certs int64
	r.db.Model(&deletion.Certificate{}).Where("deletion_id IN ?", ids).Count(&certs)
	if certs != 0 {
		t.Fatalf("%d certificates after a failed pass", certs)
	}
	if _, err := r.customer.Exec(`DELETE FROM refuse_deletes`); err != nil {
		t.Fatal(err)
	}
	p, err := r.acts.BatchStep(r.ctx, wf.BatchStepInput{BatchID: b.ID})
	if err != nil || p.Remaining != 0 || p.Released != 0 {
		t.Fatalf("the next pass: %+v %v", p, err)
	}
	// Restricted requests bring the batch back when their floor ends.
	var floor *time.Time
	r.db.Model(&deletion.Request{}).Where("id IN ? AND status = ?", ids, wf.StatusRestricted).Select("min(restricted_until)").Scan(&floor)
	if (floor == nil) != (p.NextDeferred == nil) || (floor != nil && !floor.Equal(*p.NextDeferred)) {
		t.Fatalf("next pass at %v, earliest retention floor %v", p.NextDeferred, floor)
	}
	for _, id := range ids {
		if s := r.status(id); s != wf.StatusCompleted && s != wf.StatusRestricted {
			t.Fatalf("request %s %s after the second pass", id, s)
		}
		if got := r.statusesRecorded(id); got != "locating,executing,verifying" {
			t.Fatalf("request %s went through %s, want locating, executing, verifying", id, got)
		}
		for _, action := range []string{"deletion.plan_built", "deletion.connector_applied", "deletion.certificate_issued"} {
			if n := r.audited(id, action); n != 1 {
				t.Fatalf("request %s: %d %s entries, want 1", id, n, action)
			}
		}
	}
}
