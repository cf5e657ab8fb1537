package worker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
)

type sentNotices struct {
	mu sync.Mutex
	to []string
}

func (s *sentNotices) Send(_ context.Context, to notify.Recipient, _ notify.Notice) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.to = append(s.to, to.Email)
	return nil
}

// A database error while reading the complainant's key (a stale pooled
// connection after PostgreSQL restarted) is retried, not taken for an erased
// subject: the acknowledgement still goes out. Seen once in make test-faults
// as a complainant without an acknowledgement.
func TestNoticeSurvivesTransientKeyReadError(t *testing.T) {
	url := pgtest.URL(t)
	db := pgtest.OpenURL(t, url)
	owner := pgtest.OpenURL(t, pgtest.OwnerURL(url)) // only the owner can rename a table
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	email, _ := sk.Seal("email", []byte("zhang@example.com"))
	comp, caseID, now := uuid.NewString(), uuid.NewString(), time.Now().UTC()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Exec(`INSERT INTO complainants (id, subject_key_id, email_enc) VALUES (?, ?, ?)`, comp, sk.ID, email).Error)
	must(db.Exec(`INSERT INTO cases (id, case_number, kind, category, channel, state, complainant_id, description,
		policy_pack, ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
		VALUES (?, 'C-2026-N00001', 'complaint', 'spam_sms', 'web_form', 'received', ?, 'x', 'cn', ?, ?, '\x00', ?, ?)`,
		caseID, comp, now.Add(time.Hour), now.Add(240*time.Hour), now, now).Error)

	sender := &sentNotices{}
	a := &Activities{DB: db, Keys: keys, Sender: sender}
	in := complaint.NoticeInput{CaseID: caseID, Kind: complaint.NoticeResult, DedupeKey: caseID + "/result"}

	// The key cannot be read for a moment: an error to retry, nothing recorded as final.
	must(owner.Exec(`ALTER TABLE subject_keys RENAME TO subject_keys_away`).Error)
	if err := a.SendNotice(context.Background(), in); err == nil {
		t.Fatal("SendNotice answered success while the key could not be read")
	}
	must(owner.Exec(`ALTER TABLE subject_keys_away RENAME TO subject_keys`).Error)
	var n records.Notification
	must(db.Take(&n, "dedupe_key = ?", in.DedupeKey).Error)
	if n.Status != "pending" {
		t.Fatalf("after a transient error the notice is %q (%s), want pending", n.Status, n.LastError)
	}
	// The retry finds the row the first attempt created and sends it.
	must(a.SendNotice(context.Background(), in))
	n = records.Notification{}
	must(db.Take(&n, "dedupe_key = ?", in.DedupeKey).Error)
	if n.Status != "sent" || len(sender.to) != 1 || sender.to[0] != "zhang@example.com" {
		t.Fatalf("after the retry: status %q, sent to %v", n.Status, sender.to)
	}
}
