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
	"github.com/redress/redress/workflows/escalation"
)

// openings records what a worker asked the escalation service to open.
type openings struct{ got []escalation.Opening }

func (o *openings) Open(_ context.Context, op escalation.Opening) (string, error) {
	o.got = append(o.got, op)
	return "00000000-0000-0000-0000-0000000000e1", nil
}

// A breach asks the escalation service to open its escalation under one
// dedupe key (the service opens one per key) and records it on the request
// once, however often the activity is retried; it writes no escalation row.
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
	opened := &openings{}
	a := &Activities{DB: db, Keys: keys, Escalations: opened}
	for range 2 { // a retried activity
		if err := a.RecordBreach(context.Background(), wf.BreachInput{DeletionID: r.ID, DueAt: r.DueAt}); err != nil {
			t.Fatal(err)
		}
	}
	if len(opened.got) != 2 || opened.got[0].DedupeKey != opened.got[1].DedupeKey || opened.got[0].Kind != escalation.KindSLABreach ||
		opened.got[0].DeletionRequestID != r.ID {
		t.Fatalf("openings %+v", opened.got)
	}
	var rows, audited int64
	db.Table("escalations").Where("deletion_request_id = ?", r.ID).Count(&rows)
	db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.escalated' AND details::jsonb->>'escalation_id' = ?", r.ID,
		"00000000-0000-0000-0000-0000000000e1").Count(&audited)
	if rows != 0 || audited != 1 {
		t.Fatalf("escalation rows written here %d, audit entries %d; want 0 and 1", rows, audited)
	}
}

// Auto-approval trusts the source only where no person's word stands alone:
// a person's attestation, or an attested SELF request, waits for a reviewer.
func TestAutoApprovalNeedsNoPersonsWord(t *testing.T) {
	items := []wf.PlanItem{{Connector: "customer-db", Target: "accounts", Action: wf.ActionDelete, Count: 1}}
	for _, c := range []struct {
		req  deletion.Request
		want bool
	}{
		{deletion.Request{Source: "pipeline", IdentityMethod: "otp"}, true},
		{deletion.Request{Source: "pipeline", IdentityMethod: "attestation", AttestedBy: "pipeline.crm"}, true},
		{deletion.Request{Source: "pipeline", IdentityMethod: "attestation", AttestedBy: "agent.li", AttestedByHuman: true}, false},
		{deletion.Request{Source: "self", IdentityMethod: "otp"}, true},
		{deletion.Request{Source: "self", IdentityMethod: "attestation", AttestedBy: "app"}, false},
		{deletion.Request{Source: "agent", IdentityMethod: "otp"}, false},
	} {
		if got := DefaultAutoApproval.approves(c.req, items); got != c.want {
			t.Errorf("%s verified by %s (attested by %q, person %v): auto-approved %v, want %v",
				c.req.Source, c.req.IdentityMethod, c.req.AttestedBy, c.req.AttestedByHuman, got, c.want)
		}
	}
}

// An approval that reaches the workflow without the service (whose checks
// come first) is still refused from the submitter or the attestor; an
// attestation the service did not record counts as a person's.
func TestApprovalActivityNeedsSecondPerson(t *testing.T) {
	db := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, _ := crypto.NewKeyring(master)
	k, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r := deletion.Request{ID: uuid.NewString(), Type: "erasure", Source: "pipeline", Status: wf.StatusAwaitingIdentity, SubjectKeyID: k.ID,
		DueAt: now.Add(time.Hour), SubmittedBy: "pipeline.crm", CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: db, Keys: keys}
	ctx := context.Background()
	if _, err := a.RecordIdentity(ctx, r.ID, wf.Action{Actor: "agent.li", Method: "attestation"}); err != nil {
		t.Fatal(err)
	}
	var got deletion.Request
	db.Take(&got, "id = ?", r.ID)
	if got.AttestedBy != "agent.li" || !got.AttestedByHuman {
		t.Fatalf("attested by %q, person %v", got.AttestedBy, got.AttestedByHuman)
	}
	db.Model(&deletion.Request{}).Where("id = ?", r.ID).Updates(map[string]any{"plan_digest": "d", "status": wf.StatusAwaitingApproval})
	for _, actor := range []string{"pipeline.crm", "agent.li"} {
		if _, err := a.RecordApproval(ctx, r.ID, wf.Action{Actor: actor, PlanDigest: "d"}); err == nil {
			t.Errorf("%s approved alone", actor)
		}
	}
	if s, err := a.RecordApproval(ctx, r.ID, wf.Action{Actor: "sup.wang", PlanDigest: "d"}); err != nil || s.ApprovedBy != "sup.wang" {
		t.Fatalf("a second person's approval: %+v %v", s, err)
	}
}
