// Package periodic runs a background pass now and then at a fixed interval
// until its context ends: the shape of every side loop (starters, sweeps,
// refreshes, checks).
package periodic

import (
	"context"
	"time"
)

// Run calls pass at once and then every interval until ctx ends. A pass that
// fails while ctx is still live is handed to failed (when not nil); the next
// pass simply tries again.
func Run(ctx context.Context, every time.Duration, pass func(context.Context) error, failed func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := pass(ctx); err != nil && ctx.Err() == nil && failed != nil {
			failed(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
