// Package temporalclient dials Temporal the way every Redress process does.
package temporalclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Security is how a process proves itself to the Temporal frontend and
// checks it (config: TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA,
// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY). All empty: plaintext, for the
// embedded dev server on loopback.
type Security struct {
	// CertFile and KeyFile: this process's client certificate (mutual TLS).
	CertFile, KeyFile string
	// CAFile: the CA that signs the frontend's certificate; empty = system roots.
	CAFile string
	// ServerName: the name in the frontend's certificate; empty = the host dialled.
	ServerName string
	// APIKey is sent as a bearer token on every call (over TLS only).
	APIKey string
}

// tls answers the TLS configuration: nil when nothing is set. An API key
// turns TLS on, so that it never travels in clear.
func (s Security) tls() (*tls.Config, error) {
	if s.CertFile == "" && s.KeyFile == "" && s.CAFile == "" && s.ServerName == "" && s.APIKey == "" {
		return nil, nil
	}
	c := &tls.Config{ServerName: s.ServerName, MinVersion: tls.VersionTLS12}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return nil, errors.New("temporal TLS: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together")
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal TLS: no certificate in %s", s.CAFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// Dial returns a lazy client: processes start, and intake keeps accepting,
// while the engine is unreachable. Reconnection backs off to at most 2 s
// (gRPC's default climbs to 2 min), so work resumes soon after an outage.
func Dial(address, namespace string, sec Security) (client.Client, error) {
	tlsConf, err := sec.tls()
	if err != nil {
		return nil, err
	}
	var creds client.Credentials
	if sec.APIKey != "" {
		creds = client.NewAPIKeyStaticCredentials(sec.APIKey)
	}
	return client.NewLazyClient(client.Options{
		HostPort:    address,
		Namespace:   namespace,
		Credentials: creds,
		// The SDK's info lines would drown the services' own; warnings only.
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr,
			&slog.HandlerOptions{Level: slog.LevelWarn})).With("component", "temporal-sdk")),
		ConnectionOptions: client.ConnectionOptions{
			TLS: tlsConf,
			// The SDK gzips every request by default (and the server its
			// answers). Redress's payloads are ids and codes: compression
			// saved few bytes and took 6 % of the worker's CPU in a
			// complaint storm (make bench), besides the server's share.
			GrpcCompression: &client.GrpcCompressionNone{},
			DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
				MinConnectTimeout: 2 * time.Second,
			})},
		},
	})
}
