package periodic

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// The first pass runs at once, later ones on the interval; failures are
// reported and do not stop the loop; the loop ends with its context.
func TestRunPassesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var passes, failures atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, 10*time.Millisecond, func(context.Context) error {
			if passes.Add(1) == 3 {
				cancel()
			}
			return errors.New("not yet")
		}, func(error) { failures.Add(1) })
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not end with its context")
	}
	if passes.Load() != 3 || failures.Load() != 2 {
		t.Fatalf("%d passes, %d failures reported; want 3 and 2 (the last failed after cancel)", passes.Load(), failures.Load())
	}
}
