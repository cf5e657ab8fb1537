package temporaldev

import (
	"context"
	"time"

	"github.com/redress/redress/services/internal/freeport"
)

// waitBindable polls until host:port can be listened on, or ctx ends.
func waitBindable(ctx context.Context, host string, port int) error {
	for {
		err := freeport.Bindable(host, port)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}
