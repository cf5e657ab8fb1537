package console

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"gorm.io/gorm"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/intake"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// logBuffer collects every log line of the stack, to search for personal data.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Env is a console in front of a real IntakeService and CaseFileService (gRPC over a socket,
// production guard, real PostgreSQL). No workflow engine: cases stay in the
// states they are submitted in, which is all these tests need; the browser
// tests run the whole stack.
type Env struct {
	URL   string
	DB    *gorm.DB
	Store *identity.Store
	// Identity is the IdentityService the console reaches over gRPC (on
	// the same socket as intake, behind the production guard).
	Identity *identity.Server
	// ConsoleToken is the console's own credential (role console).
	ConsoleToken string
	Accounts     identityv1.IdentityServiceClient
	API          intakev1.IntakeServiceClient
	Logs         *logBuffer
	Keys         *crypto.Keyring
	token        string // automation credential for seeding
}

const testPassword = "test-password-123"

// Seeded personal data, searched for in responses and logs. The national
// part of the phone number is what is searched, so escaped forms of the
// "+" (&#43;) are caught too.
var seeded = []string{"13800138000", "zhang.san@example.com", "Zhang San", "110101199003071234"}

func newEnv(t testing.TB, configure ...func(e *Env, c *Config)) *Env {
	t.Helper()
	return newEnvOn(t, pgtest.Open(t), configure...)
}

// newEnvOn is newEnv on a given database (the benchmark keeps its million
// cases between runs).
func newEnvOn(t testing.TB, gdb *gorm.DB, configure ...func(e *Env, c *Config)) *Env {
	t.Helper()
	ctx := context.Background()
	e := &Env{DB: gdb, Logs: &logBuffer{}}
	log := slog.New(slog.NewTextHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	e.Keys = keys
	e.Store = &identity.Store{DB: e.DB}
	e.Identity = &identity.Server{Store: e.Store, Log: log}
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: e.Store})
	identityv1.RegisterIdentityServiceServer(gs.GRPC, e.Identity)
	starter := intake.NewStarter(nil, e.DB, log) // never Run: no workflow engine here
	isrv := intake.New(intake.Config{DB: e.DB, Keys: keys, Policy: policy.New(cals), Log: log, Starter: starter})
	intakev1.RegisterIntakeServiceServer(gs.GRPC, isrv)
	intakev1.RegisterCaseFileServiceServer(gs.GRPC, isrv.CaseFile())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() { _ = gs.Serve(sctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e.API = intakev1.NewIntakeServiceClient(conn)
	hlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.URL = "http://" + hlis.Addr().String()
	if e.ConsoleToken, err = e.Store.ServiceCredential(ctx, "test", "console", "Console", access.Console, "console", time.Hour); err != nil {
		t.Fatal(err)
	}
	e.Accounts = identityv1.NewIdentityServiceClient(conn)
	cfg := Config{Identity: e.Accounts, ConsoleToken: e.ConsoleToken, Intake: e.API,
		CaseFile: intakev1.NewCaseFileServiceClient(conn), Log: log, Policy: policy.New(cals), Calendars: cals}
	for _, f := range configure {
		f(e, &cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	_ = hs.Listener.Close()
	hs.Listener = hlis
	hs.Start()
	t.Cleanup(hs.Close)
	for _, u := range []identity.NewUser{
		{Username: "agent.li", Role: access.Agent, Password: testPassword},
		{Username: "sup.wang", Role: access.Supervisor, Password: testPassword},
		{Username: "admin", Role: access.Admin, Password: testPassword},
		{Username: "feed", Role: access.Automation},
	} {
		if _, err := e.Store.AddUser(ctx, "test", u); err != nil && !errors.Is(err, identity.ErrExists) {
			t.Fatal(err)
		}
	}
	if e.token, _, err = e.Store.IssueToken(ctx, "test", "feed", "seed", nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	return e
}

// Submit files a complaint through the API as the automation account.
func (e *Env) Submit(t *testing.T, key, description string) *intakev1.Case {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.token)
	resp, err := e.API.SubmitComplaint(ctx, &intakev1.SubmitComplaintRequest{
		IdempotencyKey: key, Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT, Category: intakev1.Category_CATEGORY_SPAM_SMS,
		Channel: intakev1.Channel_CHANNEL_WEB_FORM, Description: description,
		Complainant: &intakev1.Complainant{Name: seeded[2], Phone: "+86" + seeded[0], Email: seeded[1], IdNumber: seeded[3]},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetCase()
}

// client is a browser-like HTTP client: cookies, no redirects followed
// automatically unless asked.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	seen strings.Builder // every response body, to search for personal data
}

func (e *Env) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.URL, http: &http.Client{Jar: jar}}
}

func (c *client) do(req *http.Request) (int, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	c.seen.Write(b)
	for k, vs := range resp.Header {
		c.seen.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	return resp.StatusCode, string(b)
}

func (c *client) get(path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", page)
	}
	return m[1]
}

func (c *client) signIn(user, pw string) (int, string) {
	c.t.Helper()
	_, page := c.get("/signin")
	return c.post("/signin", url.Values{"csrf": {csrfOf(c.t, page)}, "username": {user}, "password": {pw}})
}
