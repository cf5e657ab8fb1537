package inbound

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/devmail"
)

// flakyIntake refuses submissions with UNAVAILABLE while down, and
// records the idempotency keys it took.
type flakyIntake struct {
	intakev1.IntakeServiceClient
	mu   sync.Mutex
	down bool
	keys []string
}

func (f *flakyIntake) SubmitComplaint(_ context.Context, req *intakev1.SubmitComplaintRequest, _ ...grpc.CallOption) (*intakev1.SubmitComplaintResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, status.Error(codes.Unavailable, "intake is restarting")
	}
	f.keys = append(f.keys, req.GetIdempotencyKey())
	return &intakev1.SubmitComplaintResponse{Case: &intakev1.Case{Id: "case-1"}}, nil
}

func (f *flakyIntake) taken() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

// A mail intake cannot take now stays in the mailbox untaken and is taken
// once intake answers again; a taken mail is not handed over twice.
func TestReaderTakesAMailOnceIntakeAnswers(t *testing.T) {
	mb, err := devmail.Start(devmail.Config{SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0", PageAddr: "127.0.0.1:0", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mb.Close() })
	intake := &flakyIntake{down: true}
	log := slog.New(slog.DiscardHandler)
	r := &Reader{Gateway: &Gateway{Intake: intake, Log: log}, Log: log,
		Mailbox: Mailbox{Addr: mb.IMAPAddr(), User: mb.ComplaintsAddress(), Password: "pw", Insecure: true, Poll: 100 * time.Millisecond}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	mail := raw("From: a@example.com\nSubject: spam\nMessage-ID: <m1@example.com>\n", "Spam every day.")
	if err := mb.Deliver("a@example.com", mb.ComplaintsAddress(), mail); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // several rounds while intake is down
	intake.mu.Lock()
	intake.down = false
	intake.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for len(intake.taken()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the mail was not taken once intake answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // more rounds: nothing is handed over again
	if keys := intake.taken(); len(keys) != 1 || keys[0] != idempotencyKey("mail", "<m1@example.com>") {
		t.Fatalf("submissions %v, want one under the mail's key", keys)
	}
}
