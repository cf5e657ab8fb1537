package deletionworker

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/deletion"
)

func TestBreachOpensOneEscalation(t *testing.T) {
	db := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, _ := crypto.NewKeyring(master)
	k, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r := deletion.Request{ID: uuid.NewString(), Type: "erasure", Source: "agent", Status: wf.StatusAwaitingApproval, SubjectKeyID: k.ID,
		DueAt: now.Add(-time.Hour), SubmittedBy: "agent.li", CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: db, Keys: keys}
	for range 2 { // a retried activity opens it once
		if err := a.RecordBreach(context.Background(), wf.BreachInput{DeletionID: r.ID, DueAt: r.DueAt}); err != nil {
			t.Fatal(err)
		}
	}
	var n, audited int64
	db.Table("escalations").Where("kind = 'sla_breach' AND deletion_request_id = ?", r.ID).Count(&n)
	db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.escalated'", r.ID).Count(&audited)
	if n != 1 || audited != 1 {
		t.Fatalf("escalations %d, audit entries %d; want 1 and 1", n, audited)
	}
}
