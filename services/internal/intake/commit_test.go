package intake

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

func newTestServer(t *testing.T) (*Server, *Starter) {
	t.Helper()
	gdb := pgtest.As(t, pgtest.Open(t), "redress_intake_app") // as the intake process connects
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	starter := NewStarter(nil, gdb, log) // never run: nothing is started here
	srv := New(Config{DB: gdb, Keys: keys, Policy: policy.New(cals), Starter: starter, Log: log})
	t.Cleanup(srv.Close)
	return srv, starter
}

func testRequest(key string) *intakev1.SubmitComplaintRequest {
	return &intakev1.SubmitComplaintRequest{
		IdempotencyKey: key, Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
		Category: intakev1.Category_CATEGORY_SPAM_SMS, Channel: intakev1.Channel_CHANNEL_API,
		Complainant: &intakev1.Complainant{Name: "Wang Fang", Phone: "+8613800138000", Email: "wang@example.com"},
		Subject:     &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_PHONE_NUMBER, Value: "+8610690000001"},
		Description: "Spam SMS every day since the leak.",
		Attachments: []*intakev1.AttachmentUpload{{FileName: "note.txt", ContentType: "text/plain", Content: []byte("the SMS text")}},
	}
}

// Concurrent submissions share group commits: every one answered OK exists
// exactly once with its rows, the answer matches GetCase, keys sent twice at
// the same moment converge on one case, and the audit chain still holds.
func TestGroupCommitConcurrentSubmissions(t *testing.T) {
	srv, _ := newTestServer(t)
	ctx := access.WithActor(context.Background(), "intake-test")
	const n = 300
	resps := make([]*intakev1.SubmitComplaintResponse, 2*n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n { // every key twice
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = srv.SubmitComplaint(ctx, testRequest(fmt.Sprintf("key-%04d", i%n)))
		}()
	}
	wg.Wait()
	ids := map[string]string{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
		key := fmt.Sprintf("key-%04d", i%n)
		if prev, ok := ids[key]; ok && prev != resps[i].GetCase().GetId() {
			t.Fatalf("key %s answered two cases %s and %s", key, prev, resps[i].GetCase().GetId())
		}
		ids[key] = resps[i].GetCase().GetId()
	}
	var cases, deadlines, atts, audits int64
	srv.db.Model(&records.Case{}).Count(&cases)
	srv.db.Model(&records.Deadline{}).Count(&deadlines)
	srv.db.Model(&records.Attachment{}).Count(&atts)
	srv.db.Table("audit_entries").Where("action = 'case.submitted'").Count(&audits)
	if cases != n || deadlines != 2*n || atts != n || audits != n {
		t.Fatalf("rows: %d cases, %d deadlines, %d attachments, %d audit entries; want %d, %d, %d, %d",
			cases, deadlines, atts, audits, n, 2*n, n, n)
	}
	res, err := audit.Verify(ctx, srv.db, audit.VerifyOptions{})
	if err != nil || !res.OK {
		t.Fatalf("audit chain: %+v %v", res, err)
	}
	for i := range 5 {
		got, err := srv.loadCase(ctx, resps[i].GetCase().GetId())
		if err != nil {
			t.Fatal(err)
		}
		want := resps[i].GetCase()
		if got.GetCaseNumber() != want.GetCaseNumber() || got.GetComplainant().GetPhone() != want.GetComplainant().GetPhone() ||
			!got.GetResolution().GetDueAt().AsTime().Equal(want.GetResolution().GetDueAt().AsTime()) ||
			len(got.GetAttachments()) != 1 || got.GetAttachments()[0].GetSha256() != want.GetAttachments()[0].GetSha256() {
			t.Fatalf("answer differs from the record:\nanswer %v\nrecord %v", want, got)
		}
	}
}

// A full commit queue refuses at once with RESOURCE_EXHAUSTED instead of
// holding the request in memory.
func TestFullCommitQueueIsRefused(t *testing.T) {
	srv, _ := newTestServer(t)
	// A committer without workers and a full queue of one.
	srv.commits = &committer{queue: make(chan *submission, 1), stop: make(chan struct{})}
	srv.commits.queue <- &submission{}
	_, err := srv.SubmitComplaint(access.WithActor(context.Background(), "intake-test"), testRequest("queue-full"))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("got %v, want RESOURCE_EXHAUSTED", err)
	}
}

// A submission's commit notifies NewCasesChannel (the worker's case starter
// listens there), and only at the commit: a listener hears it once per
// group, after the case is readable.
func TestSubmissionCommitNotifiesNewCases(t *testing.T) {
	srv, _ := newTestServer(t)
	sqlDB, err := srv.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(t.Context(), "LISTEN "+NewCasesChannel); err != nil {
			return err
		}
		resp, err := srv.SubmitComplaint(access.WithActor(context.Background(), "intake-test"), testRequest("notify-1"))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("no notification after a submission: %w", err)
		}
		var c records.Case
		if err := srv.db.Take(&c, "id = ?", resp.GetCase().GetId()).Error; err != nil {
			return fmt.Errorf("notified before the case was readable: %w", err)
		}
		if n.Channel != NewCasesChannel {
			return fmt.Errorf("notified on %q", n.Channel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
