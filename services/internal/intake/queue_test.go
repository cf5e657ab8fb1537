package intake

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/redress/redress/services/internal/access"
)

// The commit queue is bounded by bytes as well as by count: while the
// database holds every commit back, submissions of 2 MiB each fill a 10 MiB
// budget after two (each holds its request and its sealed copy), and the
// rest are refused at once with RESOURCE_EXHAUSTED instead of piling up in
// memory; once the database moves, the two waiting ones are recorded.
func TestCommitQueueBoundedByBytes(t *testing.T) {
	srv, _ := newTestServer(t)
	srv.commits.maxBytes = 10 << 20
	// Hold the audit head: every group commit waits for it.
	lock := srv.db.Begin()
	if err := lock.Exec("SELECT head_seq FROM audit_lock_head()").Error; err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			lock.Rollback()
		}
	}()
	const n = 8
	results := make(chan error, n)
	content := bytes.Repeat([]byte("the SMS text, again and again. "), (2<<20)/31)
	for i := range n {
		go func() {
			// A safety net so that a missing bound fails instead of hanging.
			ctx, cancel := context.WithTimeout(access.WithActor(context.Background(), "queue-test"), 30*time.Second)
			defer cancel()
			req := testRequest(fmt.Sprintf("queue-test-%04d", i))
			req.Attachments[0].Content = content
			_, err := srv.SubmitComplaint(ctx, req)
			results <- err
		}()
	}
	for range n - 2 {
		if err := <-results; status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("submission beyond the byte budget: %v, want ResourceExhausted", err)
		}
	}
	released = true
	if err := lock.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-results; err != nil {
			t.Fatalf("submission within the budget: %v", err)
		}
	}
	if b := srv.commits.bytes.Load(); b != 0 {
		t.Fatalf("%d bytes still counted after every answer", b)
	}
}
