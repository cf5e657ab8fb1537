// Package deletiontest serves the deletion service's DeletionFactsService on
// a real gRPC socket, for the tests of the services that reach deletion
// requests through it.
package deletiontest

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
)

// Facts serves DeletionFactsService over db until the test ends and answers
// a client of it. keys are needed only for sealing and opening answers.
func Facts(t testing.TB, db *gorm.DB, keys *crypto.Keyring) deletionv1.DeletionFactsServiceClient {
	t.Helper()
	gs := grpc.NewServer()
	deletionv1.RegisterDeletionFactsServiceServer(gs, &deletion.Facts{DB: db, Keys: keys})
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
	return deletionv1.NewDeletionFactsServiceClient(conn)
}
