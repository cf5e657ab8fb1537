package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/escalation"
)

// Apply is idempotent by action id (a retried activity writes nothing
// twice), refuses what the record's state does not allow without writing,
// and Create is once per dedupe key.
func TestApplyIdempotentAndGuarded(t *testing.T) {
	db := pgtest.Open(t)
	dr := uuid.NewString()
	e, created, err := Create(db, Escalation{Kind: wf.KindManual, DeletionRequestID: &dr, DedupeKey: "manual/" + dr}, "officer.wang", nil)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if _, again, err := Create(db, Escalation{Kind: wf.KindManual, DedupeKey: "manual/" + dr}, "officer.wang", nil); err != nil || again {
		t.Fatalf("second create: %v %v", again, err)
	}
	filing := wf.Action{ID: "act-1", Type: wf.ActRecordFiling, Actor: "officer.wang", Reference: "REF-1", At: time.Now()}
	for range 2 {
		s, err := Apply(db, nil, e.ID, filing)
		if err != nil || s.Status != wf.StatusFiled || s.Version != 1 {
			t.Fatalf("apply: %+v %v", s, err)
		}
	}
	// Acknowledging twice under different ids: the second is refused, nothing written.
	if _, err := Apply(db, nil, e.ID, wf.Action{ID: "act-2", Type: wf.ActAcknowledge, Reference: "A"}); err != nil {
		t.Fatal(err)
	}
	_, err = Apply(db, nil, e.ID, wf.Action{ID: "act-3", Type: wf.ActAcknowledge, Reference: "B"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != wf.ErrTypeIllegalAction {
		t.Fatalf("second acknowledgement: %v", err)
	}
	var n int64
	db.Model(&ActionRecord{}).Where("action_id = 'act-3'").Count(&n)
	recs, _ := audit.ForObject(context.Background(), db, "escalation", e.ID)
	var got []string
	for _, r := range recs {
		got = append(got, r.Action)
	}
	want := []string{"escalation.opened", "escalation.record_filing", "escalation.acknowledge"}
	if n != 0 || len(got) != len(want) || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("action rows %d, audit %v; want none and %v", n, got, want)
	}
	var row Escalation
	db.Take(&row, "id = ?", e.ID)
	if row.AckReference != "A" || row.Version != 2 {
		t.Fatalf("record %+v", row)
	}
}
