package signing

import (
	"testing"
	"time"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/workflows/command"
	"github.com/redress/redress/workflows/deletion"
)

// What the services seal, the workers' verifier accepts; a nil signer signs nothing.
func TestSealVerifies(t *testing.T) {
	key, err := ParseKey(crypto.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := NewSigner(key, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	a := deletion.Action{Actor: "sup.wang", PlanDigest: "d", NewDueAt: now}
	got, err := s.Seal(deletion.WorkflowID("1"), deletion.UpdateApprove, "u1", a.Actor, a)
	if err != nil {
		t.Fatal(err)
	}
	sealed := got.(deletion.Action)
	v, _ := command.NewVerifier(key)
	digest, _ := command.PayloadDigest(a)
	c := command.Command{WorkflowID: deletion.WorkflowID("1"), Update: deletion.UpdateApprove, UpdateID: "u1", Actor: "sup.wang", Digest: digest}
	if err := v.Verify(c, sealed.Seal, now); err != nil {
		t.Fatalf("sealed command refused: %v", err)
	}
	if err := v.Verify(c, sealed.Seal, now.Add(TTL)); err == nil {
		t.Fatal("command valid after its TTL")
	}
	var none *Signer
	if _, err := none.Seal("w", "u", "id", "a", a); err == nil {
		t.Fatal("nil signer signed")
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Fatal("short key accepted")
	}
}
