package deletionworker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/deletion"
	wf "github.com/redress/redress/workflows/deletion"
)

var _ wf.BatchActivities = (*Activities)(nil)

// batchParallel is how many requests of a batch a pass works on at once,
// and so the largest group of their changes committed together; the
// connectors' own limits (MaxConcurrency) still bound what reaches them.
const batchParallel = 16

// passOutcome is where one request of a batch stands after a pass.
type passOutcome int

const (
	settled   passOutcome = iota // answered, or handed to its own workflow
	released                     // handed to its own workflow in this pass
	remaining                    // a connector still holds data after verify
	deferred                     // restricted until a retention floor ends
)

// planned is what a pass holds of a request whose plan it has just built
// and auto-approved in its own transaction: the record as that transaction
// left it, the plan and the evidence. The steps after act on them instead
// of reading them back, and look for no receipt or certificate, which no
// earlier attempt can have written before the plan existed.
type planned struct {
	req      deletion.Request
	plan     wf.Plan
	evidence []deletion.Evidence
}

// BatchStep takes each request of the batch through the steps
// DeletionWorkflow would take it through, as far as it can go now, judging
// from its record where it stands: a pass retried after a crash acts only
// where the first one stopped (every step below is idempotent).
func (a *Activities) BatchStep(ctx context.Context, in wf.BatchStepInput) (wf.BatchProgress, error) {
	defer heartbeat(ctx)()
	var ids []string
	if err := a.DB.WithContext(ctx).Model(&deletion.Request{}).Where("batch_id = ?", in.BatchID).Order("created_at, id").Pluck("id", &ids).Error; err != nil {
		return wf.BatchProgress{}, err
	}
	names, err := a.EnabledConnectors(ctx)
	if err != nil {
		return wf.BatchProgress{}, err
	}
	var (
		mu   sync.Mutex
		prog wf.BatchProgress
	)
	now := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchParallel)
	gctx, stopRecorder := a.withRecorder(gctx)
	for _, id := range ids {
		g.Go(func() error {
			o, at, err := a.batchOne(withSubjectMemo(gctx), in, id, names, now)
			if err != nil {
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || !appErr.NonRetryable() {
					return err // the pass is retried; what was done stays done
				}
				// DeletionWorkflow would end on this error; the batch leaves the
				// request where it stands rather than stall its other requests.
				a.Log.Warn("deletion batch: request left where it stands", "deletion_id", id, "batch_id", in.BatchID, "error_type", appErr.Type())
				o = settled
			}
			mu.Lock()
			defer mu.Unlock()
			switch o {
			case settled:
				prog.Done++
			case released:
				prog.Done++
				prog.Released++
			case remaining:
				prog.Remaining++
			case deferred:
				if prog.NextDeferred == nil || at.Before(*prog.NextDeferred) {
					prog.NextDeferred = &at
				}
			}
			return nil
		})
	}
	err = g.Wait()
	stopRecorder()
	return prog, err
}

// batchOne moves one request of the batch on.
func (a *Activities) batchOne(ctx context.Context, in wf.BatchStepInput, id string, names []string, now time.Time) (passOutcome, time.Time, error) {
	r, err := a.request(a.DB.WithContext(ctx), id)
	if err != nil {
		return settled, time.Time{}, err
	}
	if r.BatchID == nil || *r.BatchID != in.BatchID {
		return settled, time.Time{}, nil // handed on by an earlier pass
	}
	step := connectors.StepExecute
	var fresh *planned // planned in this pass: carried on, not read back
	switch r.Status {
	case wf.StatusAwaitingIdentity, wf.StatusLocating:
		if !r.IdentityVerified() {
			return a.release(ctx, r, "identity_not_verified")
		}
		if err := a.rememberSubject(ctx, r); err != nil {
			return settled, time.Time{}, err
		}
		found := make([]wf.Located, 0, len(names))
		var items []wf.PlanItem
		for _, n := range names {
			f, err := a.Locate(ctx, id, n)
			if err != nil {
				return settled, time.Time{}, err
			}
			found, items = append(found, f), append(items, f.Items...)
		}
		// Judged before anything is written: a request a person must review
		// reaches its own workflow exactly as it was submitted.
		if !a.Auto.approves(r, items) {
			return a.release(ctx, r, "plan_needs_review")
		}
		var err error
		if _, fresh, err = a.buildPlan(ctx, id, found, true); err != nil {
			return settled, time.Time{}, err
		}
	case wf.StatusAwaitingApproval:
		if r.ApprovedBy == "" {
			return a.release(ctx, r, "plan_needs_review")
		}
	case wf.StatusExecuting, wf.StatusVerifying:
		if s, err := a.certifiedStep(ctx, id); err != nil {
			return settled, time.Time{}, err
		} else if s == connectors.StepExecute {
			step = connectors.StepDeferred // certified once: this is the step after the floor
		}
	case wf.StatusRestricted:
		if r.RestrictedUntil != nil && r.RestrictedUntil.After(now) {
			return deferred, *r.RestrictedUntil, a.tellAndForget(ctx, id, r.Status, nil)
		}
		step = connectors.StepDeferred
	default: // completed, failed; rejected and cancelled do not happen in a batch
		return settled, time.Time{}, a.tellAndForget(ctx, id, r.Status, nil)
	}
	return a.batchExecute(ctx, id, step, fresh, in.Escalate)
}

// batchExecute is DeletionWorkflow's executePhase for one request: apply,
// verify, certify, tell the requester, forget them once completed. fresh
// is the request as this pass planned it (nil: read from the record).
func (a *Activities) batchExecute(ctx context.Context, id, step string, fresh *planned, escalate bool) (passOutcome, time.Time, error) {
	var plan wf.Plan
	if fresh != nil {
		plan = fresh.plan
	} else {
		var err error
		if plan, err = a.storedPlan(ctx, id); err != nil {
			return settled, time.Time{}, err
		}
	}
	var inStep []string
	for _, it := range plan.Items {
		if (step == connectors.StepExecute || it.Action == wf.ActionRestrict) && !slices.Contains(inStep, it.Connector) {
			inStep = append(inStep, it.Connector)
		}
	}
	// The same statuses as DeletionWorkflow's, so a request reads the same
	// in the console and in the audit chain however it was carried out.
	// The moves to executing and verifying are recorded with the plan and
	// with the last receipt; on their own only when a pass stopped between.
	if fresh == nil {
		if _, err := a.SetStatus(ctx, wf.StatusInput{DeletionID: id, Status: wf.StatusExecuting, Actor: system}); err != nil {
			return settled, time.Time{}, err
		}
	}
	receipts := make([]wf.Receipt, 0, len(inStep))
	verifying := false
	for i, c := range inStep {
		last := i == len(inStep)-1
		rc, err := a.apply(ctx, wf.ApplyInput{DeletionID: id, Connector: c, PlanDigest: plan.Digest, Step: step}, last, fresh)
		if err != nil {
			return settled, time.Time{}, err
		}
		receipts = append(receipts, rc)
		verifying = last && !rc.Replayed
	}
	if !verifying {
		if _, err := a.SetStatus(ctx, wf.StatusInput{DeletionID: id, Status: wf.StatusVerifying, Actor: system}); err != nil {
			return settled, time.Time{}, err
		}
	}
	verified := map[string]bool{} // found empty now: Finish need not count again
	for _, c := range inStep {
		_, err := a.Verify(ctx, wf.VerifyInput{DeletionID: id, Connector: c, Step: step})
		var appErr *temporal.ApplicationError
		switch {
		case err == nil:
			verified[c] = true
		case errors.As(err, &appErr) && appErr.Type() == wf.ErrDataRemaining:
			if !escalate {
				return remaining, time.Time{}, nil
			}
			if err := a.Escalate(ctx, wf.EscalateInput{DeletionID: id, Connector: c, Reason: "data_remaining"}); err != nil {
				return settled, time.Time{}, err
			}
		default:
			return settled, time.Time{}, err
		}
	}
	snap, cert, err := a.finish(ctx, wf.FinishInput{DeletionID: id, Step: step, Receipts: receipts}, fresh, verified)
	if err != nil {
		return settled, time.Time{}, err
	}
	var known *told
	if key := rememberedKey(ctx, id); fresh != nil && key != nil {
		known = &told{req: fresh.req, key: *key, statements: cert.statementsIn(fresh.req.Language)}
	}
	if err := a.tellAndForget(ctx, id, snap.Status, known); err != nil {
		return settled, time.Time{}, err
	}
	if snap.Status == wf.StatusRestricted && plan.RestrictUntil != nil { // the plan set the request's restricted_until
		return deferred, *plan.RestrictUntil, nil
	}
	return settled, time.Time{}, nil
}

// tellAndForget sends the notice of the request's outcome (once per kind)
// and, once completed, forgets the requester: a pass retried after the
// certificate still finishes what DeletionWorkflow does after it.
func (a *Activities) tellAndForget(ctx context.Context, id, status string, known *told) error {
	if err := a.notify(ctx, wf.NoticeInput{DeletionID: id, Kind: status}, known); err != nil {
		return err
	}
	if status != wf.StatusCompleted {
		return nil
	}
	return a.ForgetRequester(ctx, id)
}

// certifiedStep answers the step of the request's certificate ("" before one).
func (a *Activities) certifiedStep(ctx context.Context, id string) (string, error) {
	var steps []string
	err := a.DB.WithContext(ctx).Model(&deletion.Certificate{}).Where("deletion_id = ?", id).Pluck("body::jsonb->>'step'", &steps).Error
	if err != nil || len(steps) == 0 {
		return "", err
	}
	return steps[0], nil
}

// release hands the request to its own DeletionWorkflow: the batch no
// longer holds it, and the service's starter starts its workflow (recovery
// takes a record whose workflow has not started).
func (a *Activities) release(ctx context.Context, r deletion.Request, reason string) (passOutcome, time.Time, error) {
	err := a.audited(ctx, func(tx *gorm.DB) ([]audit.Entry, error) {
		res := tx.Model(&deletion.Request{}).Where("id = ? AND batch_id = ?", r.ID, *r.BatchID).
			Updates(map[string]any{"batch_id": nil, "workflow_started_at": nil})
		if res.Error != nil || res.RowsAffected == 0 {
			return nil, res.Error
		}
		return []audit.Entry{{Actor: system, Action: "deletion.batch_released", ObjectType: "deletion_request", ObjectID: r.ID,
			Details: map[string]any{"batch_id": *r.BatchID, "reason": reason}}}, nil
	})
	if err != nil {
		return settled, time.Time{}, fmt.Errorf("release from batch: %w", err)
	}
	return released, time.Time{}, nil
}

// BatchNextDue answers the earliest due date still ahead among the batch's
// unanswered requests.
func (a *Activities) BatchNextDue(ctx context.Context, batchID string) (*time.Time, error) {
	var due *time.Time
	err := a.DB.WithContext(ctx).Model(&deletion.Request{}).Select("min(due_at)").
		Where("batch_id = ? AND status NOT IN ? AND due_at > ?", batchID, deletion.Answered, time.Now()).Scan(&due).Error
	return due, err
}

// BatchBreaches records the breach of every request of the batch past its
// due date and unanswered (RecordBreach: once each).
func (a *Activities) BatchBreaches(ctx context.Context, batchID string) (int, error) {
	var rows []deletion.Request
	if err := a.DB.WithContext(ctx).Select("id", "due_at").
		Where("batch_id = ? AND status NOT IN ? AND due_at <= ?", batchID, deletion.Answered, time.Now()).Find(&rows).Error; err != nil {
		return 0, err
	}
	for _, r := range rows {
		if err := a.RecordBreach(ctx, wf.BreachInput{DeletionID: r.ID, DueAt: r.DueAt}); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}
