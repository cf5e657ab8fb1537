package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/policy"
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// `redress serve console` runs with no database URL, no master key and no
// command key: it signs a person in through IdentityService with its own
// credential and serves the queue and a case page from the intake
// listener; without its credential it does not start.
func TestServeConsoleWithoutDatabaseOrKeys(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gdb := pgtest.Open(t)
	keys, err := crypto.NewKeyring(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids := &identity.Store{DB: gdb}
	token, err := ids.ServiceCredential(ctx, "test", "console", "Console", access.Console, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.AddUser(ctx, "test", identity.NewUser{Username: "agent.li", Role: access.Agent, Password: "a long enough password"}); err != nil {
		t.Fatal(err)
	}
	srv := intake.New(intake.Config{DB: gdb, Keys: keys, Policy: policy.New(nil), Log: log, Starter: intake.NewStarter(nil, gdb, log)})
	defer srv.Close()
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: ids})
	intakev1.RegisterIntakeServiceServer(gs.GRPC, srv)
	intakev1.RegisterCaseFileServiceServer(gs.GRPC, srv.CaseFile())
	identityv1.RegisterIdentityServiceServer(gs.GRPC, &identity.Server{Store: ids, Log: log})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ctx, lis) }()
	sub, err := srv.SubmitComplaint(access.WithActor(ctx, "test"), &intakev1.SubmitComplaintRequest{
		IdempotencyKey: "serve-console-0001", Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT, Category: intakev1.Category_CATEGORY_SPAM_SMS,
		Channel: intakev1.Channel_CHANNEL_PHONE, Complainant: &intakev1.Complainant{Name: "Zhang San", Phone: "+8613800138000"},
		Description: "Loan spam every day"})
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.MigrateDatabaseURL, cfg.MasterKey, cfg.CommandKey, cfg.TemporalAddress = "", "", "", "", ""
	cfg.IntakeAddr, cfg.ConsoleAddr, cfg.ConsoleToken, cfg.ConsoleTLS = lis.Addr().String(), freeAddr(t), "", false
	if err := runServe(ctx, cfg, log, []string{"console"}); err == nil || !strings.Contains(err.Error(), "REDRESS_CONSOLE_TOKEN") {
		t.Fatalf("serve console without its credential: %v", err)
	}
	cfg.ConsoleToken = token
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, log, []string{"console"}) }()

	base := "http://" + cfg.ConsoleAddr
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		resp, err := hc.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	giveUp := time.After(30 * time.Second)
	var page string
	for {
		var code int
		if code, page = get("/signin"); code == http.StatusOK {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve console ended before serving: %v", err)
		case <-giveUp:
			t.Fatal("serve console never served its sign-in page")
		case <-time.After(50 * time.Millisecond):
		}
	}
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in page:\n%s", page)
	}
	resp, err := hc.PostForm(base+"/signin", url.Values{"csrf": {m[1]}, "username": {"agent.li"}, "password": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if code, page := get("/queue"); code != http.StatusOK || !strings.Contains(page, sub.GetCase().GetCaseNumber()) {
		t.Fatalf("queue after sign-in: %d\n%s", code, page)
	}
	if code, page := get("/cases/" + sub.GetCase().GetId()); code != http.StatusOK || !strings.Contains(page, sub.GetCase().GetCaseNumber()) {
		t.Fatalf("case page: %d\n%s", code, page)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve console after cancel: %v", err)
	}
}
