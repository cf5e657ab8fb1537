package e2e

import (
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/calendars"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// A deletion request received on 17 December 2026 is due on the statutory
// holidays (24:00 on 8 January 2027). Once the 2027 notice is confirmed,
// the deletion service finds the request its rule now dates differently and
// its workflow writes the new due date (24:00 on 11 January), audited; the
// worker reads the confirmed calendar from the database itself. A second
// pass finds nothing left to move.
func TestConfirmedCalendarRecomputesADeletionRequest(t *testing.T) {
	sh := calendar.Shanghai()
	received := time.Date(2026, 12, 17, 10, 0, 0, 0, sh)
	serviceCals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	var conf *deletion.Config
	r := newDeletionRig(t, 1, func(_ *deletionRig, c *deletion.Config) {
		c.Policy, c.Now, conf = policy.New(serviceCals), func() time.Time { return received }, c
	})
	// The worker process: its own calendars, read from the database.
	workerCals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	r.stopDeletionWorker()
	r.acts.Policy, r.acts.Calendars = policy.New(workerCals), &calendars.Store{DB: r.ddb, Set: workerCals}
	r.startDeletionWorker()

	resp, err := r.api.SubmitDeletion(r.as("agent.li"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: "calendar-deletion-0001",
		Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(0), Language: "en",
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(0), HeldFrom: timestamppb.New(time.Now().AddDate(-1, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	if old := resp.GetDeletion().GetDueAt().AsTime(); !old.Equal(time.Date(2027, 1, 9, 0, 0, 0, 0, sh)) {
		t.Fatalf("due before the notice %v", old.In(sh))
	}

	// Loaded and confirmed by two administrators (the intake process).
	file, err := os.ReadFile("../internal/calendars/testdata/cn-2027.json")
	if err != nil {
		t.Fatal(err)
	}
	cals := &calendars.Server{DB: r.db, Store: &calendars.Store{DB: r.db, Set: calendar.NewSet()}, Log: r.log}
	loaded, err := cals.Load(access.WithActor(r.ctx, "admin.li"), &calendarv1.LoadRequest{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cals.Confirm(access.WithActor(r.ctx, "admin.wang"), &calendarv1.ConfirmRequest{LoadId: loaded.GetLoad().GetId()}); err != nil {
		t.Fatal(err)
	}

	// The deletion process refreshes its calendars and recomputes.
	if err := (&calendars.Store{DB: r.ddb, Set: serviceCals}).Refresh(r.ctx); err != nil {
		t.Fatal(err)
	}
	srv := deletion.New(*conf)
	if sent, failed, err := srv.RecomputeDue(r.ctx); err != nil || sent != 1 || failed != 0 {
		t.Fatalf("recompute: sent %d failed %d: %v", sent, failed, err)
	}
	want := time.Date(2027, 1, 12, 0, 0, 0, 0, sh)
	d, err := r.api.GetDeletion(r.as("agent.li"), &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.GetDeletion().GetDueAt().AsTime(); !got.Equal(want) {
		t.Fatalf("due after the notice %v, want %v", got.In(sh), want.In(sh))
	}
	var n int64
	r.db.Table("audit_entries").Where("object_id = ? AND action = 'deletion.deadline_recomputed' AND actor = ?", id, deletion.CalendarActor).Count(&n)
	if n != 1 {
		t.Fatalf("deadline_recomputed entries: %d", n)
	}
	if sent, _, err := srv.RecomputeDue(r.ctx); err != nil || sent != 0 {
		t.Fatalf("second pass sent %d: %v", sent, err)
	}
}
