package identity

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"io"
	"log/slog"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/pgtest"
)

const pw = "correct horse battery"

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t *testing.T) (*Store, *clock) {
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	// As the intake process, which hosts identity, connects: a member of
	// redress_intake and redress_identity.
	return &Store{DB: pgtest.As(t, pgtest.Open(t), "redress_intake_app"), Now: c.now}, c
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword(pw)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q %v", h, err)
	}
	if ok, err := VerifyPassword(h, pw); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, pw+"x"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := VerifyPassword("$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", pw); err == nil {
		t.Fatal("malformed hash accepted")
	}
}

func TestSignInLockoutAndPasswordChange(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t)
	if _, err := s.AddUser(ctx, "cli", NewUser{Username: "agent.li", Role: access.Agent, Password: pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, "cli", NewUser{Username: "agent.li", Role: access.Agent, Password: pw}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.AddUser(ctx, "cli", NewUser{Username: "x", Role: access.Agent, Password: "short"}); err == nil {
		t.Fatal("bad username/short password accepted")
	}
	if _, err := s.AddUser(ctx, "cli", NewUser{Username: "root.user", Role: "root", Password: pw}); err == nil {
		t.Fatal("unknown role accepted")
	}
	if u, err := s.SignIn(ctx, "agent.li", pw); err != nil || u.Role != "agent" {
		t.Fatalf("sign in: %v", err)
	}
	if _, err := s.SignIn(ctx, "nobody", pw); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	for i := 0; i < 4; i++ {
		if _, err := s.SignIn(ctx, "agent.li", "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, err := s.SignIn(ctx, "agent.li", "wrong"); !errors.Is(err, ErrLocked) {
		t.Fatalf("fifth failure: %v", err)
	}
	if _, err := s.SignIn(ctx, "agent.li", pw); !errors.Is(err, ErrLocked) {
		t.Fatalf("right password while locked: %v", err)
	}
	clk.t = clk.t.Add(16 * time.Minute)
	if _, err := s.SignIn(ctx, "agent.li", pw); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	recs, err := audit.ForObject(ctx, s.DB, "user", "agent.li")
	if err != nil || len(recs) != 2 || recs[0].Action != "user.add" || recs[1].Action != "user.lock" {
		t.Fatalf("audit: %+v %v", recs, err)
	}

	u, _ := s.User(ctx, "agent.li")
	sess, err := s.NewSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, "agent.li", "wrong", "another long password"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("change with wrong old password: %v", err)
	}
	if err := s.ChangePassword(ctx, "agent.li", pw, "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "agent.li", pw); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password after change: %v", err)
	}
	if _, err := s.SessionFor(ctx, sess.Token); err == nil {
		t.Fatal("session survived a password change")
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t)
	u, err := s.AddUser(ctx, "cli", NewUser{Username: "sup.wang", Role: access.Supervisor, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.NewSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionFor(ctx, sess.Token)
	if err != nil || got.User.Username != "sup.wang" || got.CSRF != sess.CSRF || sess.CSRF == "" {
		t.Fatalf("session: %+v %v", got, err)
	}
	if _, err := s.SessionFor(ctx, sess.Token+"x"); err == nil {
		t.Fatal("forged session accepted")
	}
	clk.t = clk.t.Add(59 * time.Minute)
	if _, err := s.SessionFor(ctx, sess.Token); err != nil {
		t.Fatalf("within idle timeout: %v", err)
	}
	clk.t = clk.t.Add(61 * time.Minute)
	if _, err := s.SessionFor(ctx, sess.Token); err == nil {
		t.Fatal("idle session accepted")
	}
	sess, _ = s.NewSession(ctx, u)
	if err := s.SetDisabled(ctx, "admin", "sup.wang", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionFor(ctx, sess.Token); err == nil {
		t.Fatal("disabled user's session accepted")
	}
	if err := s.SetDisabled(ctx, "admin", "sup.wang", false); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionFor(ctx, sess.Token); err == nil {
		t.Fatal("ended session accepted")
	}
}

// Credentials end to end: a real gRPC server with the production guard in
// front of IntakeService, called over a socket.
func TestCredentialsOverGRPC(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: s})
	intakev1.RegisterIntakeServiceServer(gs.GRPC, intake.New(intake.Config{DB: s.DB, Log: log}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = gs.Serve(sctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	api := intakev1.NewIntakeServiceClient(conn)
	get := func(bearer string) codes.Code {
		c := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+bearer)
		_, err := api.GetCase(c, &intakev1.GetCaseRequest{CaseId: uuid.NewString()})
		return status.Code(err)
	}
	assign := func(bearer string) codes.Code {
		c := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+bearer)
		_, err := api.AssignCase(c, &intakev1.AssignCaseRequest{CaseId: uuid.NewString(), Assignee: "agent.li"})
		return status.Code(err)
	}
	for _, nu := range []NewUser{{Username: "partner.feed", Role: access.Automation}, {Username: "agent.li", Role: access.Agent, Password: pw},
		{Username: "admin.two", Role: access.Admin}} {
		if _, err := s.AddUser(ctx, "admin", nu); err != nil {
			t.Fatal(err)
		}
	}
	secret, tok, err := s.IssueToken(ctx, "admin", "partner.feed", "feed", nil, time.Hour)
	if err != nil || !strings.HasPrefix(secret, "rdt_") {
		t.Fatal(err)
	}
	// NotFound means the call got through the guard to the service.
	if c := get(secret); c != codes.NotFound {
		t.Fatalf("automation GetCase: %v", c)
	}
	if c := assign(secret); c != codes.PermissionDenied {
		t.Fatalf("automation AssignCase: %v", c)
	}
	if c := get("rdt_forged"); c != codes.Unauthenticated {
		t.Fatalf("forged: %v", c)
	}
	if _, _, err := s.IssueToken(ctx, "admin", "partner.feed", "x", []access.Permission{access.CaseAssign}, time.Hour); err == nil {
		t.Fatal("scope beyond the role accepted")
	}
	scoped, _, err := s.IssueToken(ctx, "admin", "partner.feed", "submit-only", []access.Permission{access.CaseSubmit}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c := get(scoped); c != codes.PermissionDenied {
		t.Fatalf("scoped credential outside its scope: %v", c)
	}
	if err := s.RevokeToken(ctx, "admin", tok.ID); err != nil {
		t.Fatal(err)
	}
	if c := get(secret); c != codes.Unauthenticated {
		t.Fatalf("revoked: %v", c)
	}
	clk.t = clk.t.Add(2 * time.Hour)
	if c := get(scoped); c != codes.Unauthenticated {
		t.Fatalf("expired: %v", c)
	}

	u, _ := s.User(ctx, "agent.li")
	sess, _ := s.NewSession(ctx, u)
	if c := get(sess.Token); c != codes.NotFound {
		t.Fatalf("agent session GetCase: %v", c)
	}
	if c := assign(sess.Token); c != codes.PermissionDenied {
		t.Fatalf("agent AssignCase: %v", c)
	}
	g, err := s.SetRole(ctx, "admin", "agent.li", access.Supervisor)
	if err != nil {
		t.Fatal(err)
	}
	if c := assign(sess.Token); c != codes.PermissionDenied {
		t.Fatalf("agent AssignCase before the grant is confirmed: %v", c)
	}
	if err := s.ConfirmGrant(ctx, "admin.two", g.ID); err != nil {
		t.Fatal(err)
	}
	if c := assign(sess.Token); c == codes.PermissionDenied || c == codes.Unauthenticated {
		t.Fatalf("supervisor AssignCase: %v", c)
	}
	if err := s.EndSession(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if c := get(sess.Token); c != codes.Unauthenticated {
		t.Fatalf("signed-out session: %v", c)
	}
}

// The deletion service's role erases people's data: granting it to an
// account takes a second person, as for the other powerful roles.
func TestDeletionServiceRoleNeedsSecondPerson(t *testing.T) {
	if !NeedsSecondPerson(access.DeletionService) || NeedsSecondPerson(access.Automation) {
		t.Fatal("deletion_service must need a second person; automation must not")
	}
}
