// Package intaketest serves intake's CaseFactsService on a real gRPC socket,
// for the tests of the services that reach intake through it.
package intaketest

import (
	"testing"

	"google.golang.org/grpc"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/grpctest"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/notify"
)

// CaseFacts serves CaseFactsService over db until the test ends and answers
// a client of it. keys and sender are needed only for notices.
func CaseFacts(t testing.TB, db *gorm.DB, keys *crypto.Keyring, sender notify.Sender) intakev1.CaseFactsServiceClient {
	t.Helper()
	return intakev1.NewCaseFactsServiceClient(grpctest.Serve(t, func(gs *grpc.Server) {
		intakev1.RegisterCaseFactsServiceServer(gs, &intake.CaseFacts{DB: db, Keys: keys, Sender: sender})
	}))
}
