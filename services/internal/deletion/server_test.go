package deletion_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// testServer builds a server on a fresh migrated database; cfg may set the
// sender and the clock, opts the policy.
func testServer(t *testing.T, cfg deletion.Config, opts ...policy.Option) (*deletion.Server, *gorm.DB) {
	t.Helper()
	db := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.Default()
	}
	cfg.DB, cfg.Keys, cfg.Policy, cfg.Log = db, keys, policy.New(cals, opts...), log
	cfg.Starter = deletion.NewStarter(nil, db, log)
	return deletion.New(cfg), db
}

func newServer(t *testing.T) (*deletion.Server, context.Context) {
	srv, _ := testServer(t, deletion.Config{})
	return srv, access.WithActor(context.Background(), "agent.li")
}

var heldFrom = time.Now().AddDate(-1, 0, 0).Truncate(time.Second)

func item(key string) *deletionv1.SubmitDeletionRequest {
	return &deletionv1.SubmitDeletionRequest{IdempotencyKey: key, Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_PIPELINE, Email: "person@example.com",
		Phone: &deletionv1.PhoneIdentifier{Number: "+8613900000001", HeldFrom: timestamppb.New(heldFrom)}}
}

func TestSubmitValidatesAndReplays(t *testing.T) {
	srv, ctx := newServer(t)
	resp, err := srv.SubmitDeletion(ctx, item("key-00000001"))
	if err != nil {
		t.Fatal(err)
	}
	d := resp.GetDeletion()
	if d.GetStatus() != "awaiting_identity" || d.GetDueRule() != "cn/A1" || !strings.Contains(d.GetMaskedPhone(), "*") {
		t.Fatalf("submitted %+v", d)
	}
	// 15 working days: at least 19 calendar days away.
	if d.GetDueAt().AsTime().Before(time.Now().AddDate(0, 0, 19)) {
		t.Errorf("due %v is sooner than 15 working days", d.GetDueAt().AsTime())
	}
	again, err := srv.SubmitDeletion(ctx, item("key-00000001"))
	if err != nil || again.GetDeletion().GetId() != d.GetId() {
		t.Fatalf("replay: %v %v", again, err)
	}
	other := item("key-00000001")
	other.Email = "someone.else@example.com"
	if _, err := srv.SubmitDeletion(ctx, other); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "idempotency_key") {
		t.Fatalf("key reuse: %v", err)
	}
	for field, mut := range map[string]func(*deletionv1.SubmitDeletionRequest){
		"type":         func(r *deletionv1.SubmitDeletionRequest) { r.Type = 0 },
		"source":       func(r *deletionv1.SubmitDeletionRequest) { r.Source = 0 },
		"phone.number": func(r *deletionv1.SubmitDeletionRequest) { r.Phone.Number = "12345" },
		"phone.held_from": func(r *deletionv1.SubmitDeletionRequest) {
			r.Phone.HeldFrom = timestamppb.New(time.Now().Add(time.Hour))
		},
		"email":           func(r *deletionv1.SubmitDeletionRequest) { r.Email = "not an address" },
		"case_id":         func(r *deletionv1.SubmitDeletionRequest) { r.Source = deletionv1.Source_SOURCE_CASE },
		"idempotency_key": func(r *deletionv1.SubmitDeletionRequest) { r.IdempotencyKey = "x" },
	} {
		r := item("key-bad-" + strings.ReplaceAll(field, ".", "-"))
		mut(r)
		if _, err := srv.SubmitDeletion(ctx, r); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestBatchAnswersEachItem(t *testing.T) {
	srv, ctx := newServer(t)
	items := []*deletionv1.SubmitDeletionRequest{item("batch-0000001"), item("batch-0000002"), item("batch-0000003"), item("batch-0000003")}
	items[1].Email = "broken"
	resp, err := srv.SubmitDeletionBatch(ctx, &deletionv1.SubmitDeletionBatchRequest{Items: items})
	if err != nil {
		t.Fatal(err)
	}
	res := resp.GetResults()
	if res[0].GetDeletionId() == "" || res[2].GetDeletionId() == "" || res[0].GetErrorCode() != "" {
		t.Fatalf("good items refused: %v", res)
	}
	if res[1].GetErrorCode() != codes.InvalidArgument.String() || !strings.Contains(res[1].GetErrorMessage(), "email") {
		t.Fatalf("bad item: %v", res[1])
	}
	if res[3].GetErrorCode() != codes.InvalidArgument.String() {
		t.Fatalf("duplicate key in batch: %v", res[3])
	}
	list, err := srv.ListDeletions(ctx, &deletionv1.ListDeletionsRequest{PageSize: 1})
	if err != nil || len(list.GetDeletions()) != 1 || list.GetNextPageToken() == "" {
		t.Fatalf("list page 1: %v %v", list, err)
	}
	page2, err := srv.ListDeletions(ctx, &deletionv1.ListDeletionsRequest{PageSize: 5, PageToken: list.GetNextPageToken()})
	if err != nil || len(page2.GetDeletions()) != 1 || page2.GetDeletions()[0].GetId() == list.GetDeletions()[0].GetId() {
		t.Fatalf("list page 2: %v %v", page2, err)
	}
	if _, err := srv.ListDeletions(ctx, &deletionv1.ListDeletionsRequest{Status: "nonsense"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad filter: %v", err)
	}
}

func TestAddConnectorChecksConfig(t *testing.T) {
	srv, ctx := newServer(t)
	for _, c := range []struct {
		field string
		req   *deletionv1.AddConnectorRequest
	}{
		{"name", &deletionv1.AddConnectorRequest{Name: "Bad Name", Kind: "manual"}},
		{"kind", &deletionv1.AddConnectorRequest{Name: "crm", Kind: "ftp"}},
		{"config_json.url", &deletionv1.AddConnectorRequest{Name: "crm", Kind: "webhook", ConfigJson: `{"url":"http://crm.example","secret_env":"REDRESS_CONNECTOR_CRM"}`}},
		{"config_json.secret_env", &deletionv1.AddConnectorRequest{Name: "crm", Kind: "webhook", ConfigJson: `{"url":"https://crm.example","secret":"inline"}`}},
		{"config_json.dsn_env", &deletionv1.AddConnectorRequest{Name: "shop", Kind: "postgres", ConfigJson: `{"mapping":{"tables":[]}}`}},
		// A setting naming a secret of Redress itself (the database, the master key) is refused.
		{"config_json.dsn_env", &deletionv1.AddConnectorRequest{Name: "shop", Kind: "postgres", ConfigJson: `{"dsn_env":"DATABASE_URL","mapping":{"tables":[]}}`}},
		{"config_json.secret_env", &deletionv1.AddConnectorRequest{Name: "crm", Kind: "webhook", ConfigJson: `{"url":"https://crm.example","secret_env":"REDRESS_MASTER_KEY"}`}},
		{"max_concurrency", &deletionv1.AddConnectorRequest{Name: "desk", Kind: "manual", MaxConcurrency: 1000}},
	} {
		if _, err := srv.AddConnector(ctx, c.req); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.field, err)
		}
	}
	got, err := srv.AddConnector(ctx, &deletionv1.AddConnectorRequest{Name: "crm", Kind: "webhook", ConfigJson: `{"url":"https://crm.example/erase","secret_env":"REDRESS_CONNECTOR_CRM_SECRET"}`})
	if err != nil || !got.GetConnector().GetEnabled() || got.GetConnector().GetMaxConcurrency() != 4 {
		t.Fatalf("add: %v %v", got, err)
	}
	if _, err := srv.AddConnector(ctx, &deletionv1.AddConnectorRequest{Name: "crm", Kind: "manual"}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("duplicate: %v", err)
	}
	off, err := srv.SetConnectorEnabled(ctx, &deletionv1.SetConnectorEnabledRequest{Name: "crm"})
	if err != nil || off.GetConnector().GetEnabled() {
		t.Fatalf("disable: %v %v", off, err)
	}
	list, err := srv.ListConnectors(ctx, &deletionv1.ListConnectorsRequest{})
	if err != nil || len(list.GetConnectors()) != 1 || list.GetConnectors()[0].GetEnabled() {
		t.Fatalf("list: %v %v", list, err)
	}
}
