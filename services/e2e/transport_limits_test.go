package e2e

import (
	"bytes"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/intake"
)

// A request larger than the largest legitimate one (a complaint with 8 MiB
// of attachments) is refused by gRPC from its length, even with a valid
// credential; a call with no credential at all is refused as its stream
// opens, before its message is read: no handler, no metrics, no guard.
func TestRequestSizeAndAnonymousCallsBounded(t *testing.T) {
	h := newHarness(t, options{noTemporal: true, noWorker: true})
	// The production guard: no trusted header.
	gs := grpcserver.New(h.log, grpcserver.NewMetrics(), access.Guard{Auth: h.identity})
	srv := intake.New(intake.Config{DB: h.db, Keys: h.keys, Policy: h.policy, Temporal: h.tc, Starter: h.starter, Log: h.log})
	t.Cleanup(srv.Close)
	intakev1.RegisterIntakeServiceServer(gs.GRPC, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(h.ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	api := intakev1.NewIntakeServiceClient(conn)
	partner := h.bearer("partner.big", access.Automation)

	big := submission("limits-test-0001")
	big.Attachments = []*intakev1.AttachmentUpload{{FileName: "big.txt", ContentType: "text/plain",
		Content: bytes.Repeat([]byte("x"), 10<<20)}}
	if _, err := api.SubmitComplaint(partner, big); code(err) != codes.ResourceExhausted {
		t.Errorf("10 MiB request with a credential: %v, want ResourceExhausted", err)
	}
	// The largest legitimate submission still fits.
	full := submission("limits-test-0002")
	for range 4 {
		full.Attachments = append(full.Attachments, &intakev1.AttachmentUpload{FileName: "part.txt", ContentType: "text/plain",
			Content: bytes.Repeat([]byte("y"), 2<<20)})
	}
	full.Description = string(bytes.Repeat([]byte("长"), 10000))
	if _, err := api.SubmitComplaint(partner, full); err != nil {
		t.Errorf("8 MiB of attachments with the longest description: %v", err)
	}

	anon := submission("limits-test-0003")
	anon.Attachments = full.Attachments
	if _, err := api.SubmitComplaint(h.ctx, anon); code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous call: %v, want Unauthenticated", err)
	}
	families, err := gs.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "redress_grpc_handled_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == codes.Unauthenticated.String() {
					t.Errorf("the anonymous call reached the interceptors (%v): its message was read", m)
				}
			}
		}
	}
}
