package intake

import (
	"context"
	"testing"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/records"
)

// What a complainant writes while the case does not await them is kept as
// their message, sealed and audited; the case's state does not move.
func TestComplainantWroteOutsideAnInformationRequest(t *testing.T) {
	srv, _ := newTestServer(t)
	ctx := access.WithActor(context.Background(), "mail-gateway")
	sub, err := srv.SubmitComplaint(ctx, testRequest("wrote-0001"))
	if err != nil {
		t.Fatal(err)
	}
	c, id, err := srv.complainantWrote(ctx, sub.GetCase().GetId(), "email", "Another SMS came this morning.")
	if err != nil {
		t.Fatal(err)
	}
	if c.GetState() != sub.GetCase().GetState() {
		t.Fatalf("state moved from %v to %v", sub.GetCase().GetState(), c.GetState())
	}
	var m records.CaseMessage
	if err := srv.db.Take(&m, "id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	if m.Kind != records.MessageComplainantResponse || m.Status != records.MessageCommitted || len(m.BodyEnc) == 0 {
		t.Fatalf("message stored as %+v", m)
	}
	var audited int64
	srv.db.Raw(`SELECT count(*) FROM audit_entries WHERE action = 'case.complainant_wrote' AND object_id = ? AND details::jsonb->>'via' = 'email'`,
		c.GetId()).Scan(&audited)
	if audited != 1 {
		t.Fatalf("%d audit entries, want 1", audited)
	}
}
