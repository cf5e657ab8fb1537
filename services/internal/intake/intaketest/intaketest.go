// Package intaketest serves intake's CaseFactsService on a real gRPC socket,
// for the tests of the services that reach intake through it.
package intaketest

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/notify"
)

// CaseFacts serves CaseFactsService over db until the test ends and answers
// a client of it. keys and sender are needed only for notices.
func CaseFacts(t testing.TB, db *gorm.DB, keys *crypto.Keyring, sender notify.Sender) intakev1.CaseFactsServiceClient {
	t.Helper()
	gs := grpc.NewServer()
	intakev1.RegisterCaseFactsServiceServer(gs, &intake.CaseFacts{DB: db, Keys: keys, Sender: sender})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return intakev1.NewCaseFactsServiceClient(conn)
}
