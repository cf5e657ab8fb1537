// Package mtls sets up optional mutual TLS between Redress processes: the
// gRPC server asks for a client certificate signed by the services' CA, and
// clients present theirs and check the server's. With no files configured
// both sides stay plaintext (one machine, loopback).
package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Files names the PEM files of one process: its certificate and key, and the
// CA that signs its peers. All empty: no TLS.
type Files struct {
	Cert, Key, CA string
}

// Enabled reports whether TLS is configured.
func (f Files) Enabled() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

func (f Files) load() (tls.Certificate, *x509.CertPool, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return tls.Certificate{}, nil, errors.New("mtls: certificate, key and CA are all needed")
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("mtls: %w", err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("mtls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return tls.Certificate{}, nil, fmt.Errorf("mtls: no certificate in %s", f.CA)
	}
	return cert, pool, nil
}

// ServerOptions returns the gRPC server options: none without TLS, else
// TLS 1.3 requiring a client certificate from the CA.
func ServerOptions(f Files) ([]grpc.ServerOption, error) {
	if !f.Enabled() {
		return nil, nil
	}
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13,
	}))}, nil
}

// DialOption returns the client's transport: plaintext without TLS, else
// TLS 1.3 presenting the client certificate and checking the server's
// against the CA (serverName: the name in the server's certificate; empty
// = the host dialled).
func DialOption(f Files, serverName string) (grpc.DialOption, error) {
	if !f.Enabled() {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS13,
	})), nil
}
