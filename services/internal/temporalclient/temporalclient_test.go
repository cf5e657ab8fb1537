package temporalclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// frontend answers the one call a client makes before its first request.
type frontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
}

func (frontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

// issue writes a certificate for name signed by ca (self-signed when ca is
// nil) and answers it with its key.
func issue(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, serial int64) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if ca == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
		ca, caKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	for file, block := range map[string]*pem.Block{name + ".pem": {Type: "CERTIFICATE", Bytes: der}, name + ".key": {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// A frontend that demands a client certificate from its CA: Dial presents
// the configured one, checks the frontend's against TEMPORAL_TLS_CA, and
// sends the API key as a bearer token; without the certificate it is refused.
func TestDialMutualTLSAndAPIKey(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := issue(t, dir, "ca", nil, nil, 1)
	issue(t, dir, "temporal-frontend.test", ca, caKey, 2)
	issue(t, dir, "redress-worker", ca, caKey, 3)
	serverCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "temporal-frontend.test.pem"), filepath.Join(dir, "temporal-frontend.test.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	var mu sync.Mutex
	var auth []string
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			mu.Lock()
			auth = append(auth, md.Get("authorization")...)
			mu.Unlock()
			return next(ctx, req)
		}))
	hs := health.NewServer()
	hs.SetServingStatus("temporal.api.workflowservice.v1.WorkflowService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	workflowservice.RegisterWorkflowServiceServer(gs, frontend{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	check := func(sec Security) error {
		c, err := Dial(lis.Addr().String(), "default", sec)
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
	sec := Security{CertFile: filepath.Join(dir, "redress-worker.pem"), KeyFile: filepath.Join(dir, "redress-worker.key"),
		CAFile: filepath.Join(dir, "ca.pem"), ServerName: "temporal-frontend.test", APIKey: "key-123"}
	if err := check(sec); err != nil {
		t.Fatalf("with certificate and CA: %v", err)
	}
	mu.Lock()
	got := append([]string(nil), auth...)
	mu.Unlock()
	if len(got) == 0 || got[0] != "Bearer key-123" {
		t.Fatalf("authorization sent: %q, want the API key as bearer", got)
	}
	noCert := sec
	noCert.CertFile, noCert.KeyFile = "", ""
	if err := check(noCert); err == nil {
		t.Fatal("a client without a certificate got through")
	}
	if _, err := Dial(lis.Addr().String(), "default", Security{CertFile: sec.CertFile}); err == nil {
		t.Fatal("a certificate without its key was accepted")
	}
}
