package deletionworker

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/deletion"
)

// A plan waiting for approval alerts those who may approve it, once however
// often the reminder is retried, through identity's AlertService with the
// deletion service's own credential: the deletion worker runs as the
// deletion role, which has no grant on identity's tables.
func TestApprovalReminderAlertsApproversThroughIdentity(t *testing.T) {
	ctx := context.Background()
	base := pgtest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	intakeDB := pgtest.As(t, base, "redress_intake_app") // the intake process, which hosts identity
	ids := &identity.Store{DB: intakeDB, Log: log}
	for _, u := range []struct {
		name string
		role access.Role
	}{{"sup.wang", access.Supervisor}, {"agent.li", access.Agent}, {"officer.he", access.ComplianceOfficer}} {
		if _, err := ids.AddUser(ctx, "test", identity.NewUser{Username: u.name, Role: u.role, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
	}
	token, err := ids.ServiceCredential(ctx, "test", "svc.deletion", "Deletion", access.DeletionService, "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: ids})
	identityv1.RegisterAlertServiceServer(gs.GRPC, &alerts.Server{Store: &alerts.Store{DB: intakeDB, Log: log}})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() { _ = gs.Serve(sctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(access.Bearer{Token: func(context.Context) (string, error) { return token, nil }}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	db := pgtest.As(t, base, "redress_deletion_app")
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, _ := crypto.NewKeyring(master)
	k, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r := deletion.Request{ID: uuid.NewString(), Type: "erasure", Source: "agent", Status: wf.StatusAwaitingApproval, SubjectKeyID: k.ID,
		DueAt: now.Add(72 * time.Hour), SubmittedBy: "agent.li", CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&r).Error; err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: db, Keys: keys, Alerts: alerts.Remote{Client: identityv1.NewAlertServiceClient(conn)}}
	for range 2 { // a retried activity
		if err := a.Remind(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	var got []alerts.Alert
	if err := base.Find(&got, "kind = 'deletion_approval'").Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Recipient != "sup.wang" || got[0].Link != "/deletions/"+r.ID || got[0].SubjectRef != "DR-"+r.ID[:8] {
		t.Fatalf("alerts %+v, want one for sup.wang (the only one who may approve)", got)
	}
}
