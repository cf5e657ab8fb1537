package deletion_test

import (
	"crypto/sha256"
	"io"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// plainHash is what the idempotency fingerprint used to be: SHA-256 of the
// request, phone number included, which a dump reader reverses by trying
// the ~10^10 phone numbers.
func plainHash(req *deletionv1.SubmitDeletionRequest) []byte {
	c := proto.Clone(req).(*deletionv1.SubmitDeletionRequest)
	c.IdempotencyKey = ""
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	sum := sha256.Sum256(b)
	return sum[:]
}

func TestIdempotencyFingerprintIsKeyed(t *testing.T) {
	db := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := deletion.New(deletion.Config{DB: db, Keys: keys, Policy: policy.New(cals), Log: log, Starter: deletion.NewStarter(nil, db, log)})
	_, ctx := newServer(t)

	req := item("key-fingerprint-1")
	if _, err := srv.SubmitDeletion(ctx, req); err != nil {
		t.Fatal(err)
	}
	var row deletion.Idempotency
	if err := db.Where("key LIKE ?", "%/key-fingerprint-1").First(&row).Error; err != nil {
		t.Fatal(err)
	}
	if crypto.EqualHash(row.RequestHash, plainHash(req)) || !row.Keyed {
		t.Fatalf("the stored fingerprint is the plain SHA-256 of the request (keyed=%v)", row.Keyed)
	}

	// A row written before keyed fingerprints: rekeyed at start, and a retry
	// of that request is still recognised as the same request.
	old := item("key-fingerprint-2")
	first, err := srv.SubmitDeletion(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&deletion.Idempotency{}).Where("key LIKE ?", "%/key-fingerprint-2").
		Updates(map[string]any{"request_hash": plainHash(old), "keyed": false}).Error; err != nil {
		t.Fatal(err)
	}
	n, err := deletion.RekeyIdempotency(ctx, db, keys)
	if err != nil || n != 1 {
		t.Fatalf("rekeyed %d rows: %v", n, err)
	}
	if n, err := deletion.RekeyIdempotency(ctx, db, keys); err != nil || n != 0 {
		t.Fatalf("a second rekey touched %d rows: %v", n, err)
	}
	var rekeyed deletion.Idempotency
	if err := db.Where("key LIKE ?", "%/key-fingerprint-2").First(&rekeyed).Error; err != nil {
		t.Fatal(err)
	}
	if crypto.EqualHash(rekeyed.RequestHash, plainHash(old)) || !rekeyed.Keyed {
		t.Fatal("the old row still holds a plain hash")
	}
	again, err := srv.SubmitDeletion(ctx, old)
	if err != nil || again.GetDeletion().GetId() != first.GetDeletion().GetId() {
		t.Fatalf("a retry of a request accepted before rekeying: %v %v", again, err)
	}
}

// Free texts (attestation reasons, notes) enter the audit chain as keyed
// digests: a plain digest of "verified by phone 13900000001" is a guessable
// copy of the text.
func TestAuditDigestsOfTextsAreKeyed(t *testing.T) {
	srv, db := testServer(t, deletion.Config{})
	_, ctx := newServer(t)
	req := item("key-digest-1")
	req.AttestationReason = "verified by phone 13900000001"
	if _, err := srv.SubmitDeletion(ctx, req); err != nil {
		t.Fatal(err)
	}
	var digests []string
	if err := db.Raw(`SELECT after_digest FROM audit_entries WHERE after_digest <> ''`).Scan(&digests).Error; err != nil {
		t.Fatal(err)
	}
	plain := audit.Digest(req.AttestationReason)
	keyed := 0
	for _, d := range digests {
		if d == plain {
			t.Fatalf("the audit chain holds the plain digest of the attestation reason")
		}
		if strings.HasPrefix(d, "hmac-sha256:") {
			keyed++
		}
	}
	if keyed == 0 {
		t.Fatalf("no keyed text digest in the audit chain (%v)", digests)
	}
}
