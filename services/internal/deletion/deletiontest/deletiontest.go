// Package deletiontest serves the deletion service's DeletionFactsService on
// a real gRPC socket, for the tests of the services that reach deletion
// requests through it.
package deletiontest

import (
	"testing"

	"google.golang.org/grpc"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/grpctest"
)

// Facts serves DeletionFactsService over db until the test ends and answers
// a client of it. keys are needed only for sealing and opening answers.
func Facts(t testing.TB, db *gorm.DB, keys *crypto.Keyring) deletionv1.DeletionFactsServiceClient {
	t.Helper()
	return deletionv1.NewDeletionFactsServiceClient(grpctest.Serve(t, func(gs *grpc.Server) {
		deletionv1.RegisterDeletionFactsServiceServer(gs, &deletion.Facts{DB: db, Keys: keys})
	}))
}
