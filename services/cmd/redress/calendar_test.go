package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/calendars"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
)

// `redress calendar load` calls CalendarService with the person's own
// credential: the load is theirs, so they cannot confirm it; a second
// administrator's credential can. An agent's credential cannot load at all.
func TestCalendarCommandActsAsThePerson(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gdb := pgtest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids := &identity.Store{DB: gdb}
	token := func(user string, role access.Role) string {
		t.Helper()
		if _, err := ids.AddUser(ctx, "test", identity.NewUser{Username: user, DisplayName: user, Role: role}); err != nil {
			t.Fatal(err)
		}
		tok, _, err := ids.IssueToken(ctx, user, user, "cli", nil, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	li, wang, agent := token("admin.li", access.Admin), token("admin.wang", access.Admin), token("agent.zhou", access.Agent)
	set, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: ids})
	calendarv1.RegisterCalendarServiceServer(gs.GRPC, &calendars.Server{DB: gdb, Store: &calendars.Store{DB: gdb, Set: set}, Log: log})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ctx, lis) }()
	cfg := config.Config{IntakeAddr: lis.Addr().String()}
	run := func(tok string, args ...string) (string, error) {
		var out bytes.Buffer
		err := runCalendar(ctx, cfg, append(args, "-token", tok), &out)
		return out.String(), err
	}
	file := "../../internal/calendars/testdata/cn-2027.json"

	if _, err := run(agent, "load", file); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Fatalf("load as an agent: %v", err)
	}
	out, err := run(li, "load", file)
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`as ([0-9a-f-]{36})`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("load output: %q", out)
	}
	if _, err := run(li, "confirm", id[1]); err == nil || !strings.Contains(err.Error(), "another administrator") {
		t.Fatalf("confirm by the loader: %v", err)
	}
	if out, err = run(wang, "confirm", id[1]); err != nil || !strings.Contains(out, "confirmed cn 2027") {
		t.Fatalf("confirm by a second administrator: %q %v", out, err)
	}
	var by struct{ LoadedBy, DecidedBy string }
	if err := gdb.Raw("SELECT loaded_by, decided_by FROM calendar_loads WHERE id = ?", id[1]).Scan(&by).Error; err != nil {
		t.Fatal(err)
	}
	if by.LoadedBy != "admin.li" || by.DecidedBy != "admin.wang" {
		t.Fatalf("recorded as loaded by %q, confirmed by %q", by.LoadedBy, by.DecidedBy)
	}
	if out, err = run(wang, "list"); err != nil || !strings.Contains(out, "2027  official (loaded)") {
		t.Fatalf("list: %q %v", out, err)
	}
}
