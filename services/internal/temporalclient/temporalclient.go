// Package temporalclient dials Temporal the way every Redress process does.
package temporalclient

import (
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Dial returns a lazy client: processes start, and intake keeps accepting,
// while the engine is unreachable. Reconnection backs off to at most 2 s
// (gRPC's default climbs to 2 min), so work resumes soon after an outage.
func Dial(address, namespace string) (client.Client, error) {
	return client.NewLazyClient(client.Options{
		HostPort:  address,
		Namespace: namespace,
		// The SDK's info lines would drown the services' own; warnings only.
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr,
			&slog.HandlerOptions{Level: slog.LevelWarn})).With("component", "temporal-sdk")),
		ConnectionOptions: client.ConnectionOptions{
			DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
				MinConnectTimeout: 2 * time.Second,
			})},
		},
	})
}
