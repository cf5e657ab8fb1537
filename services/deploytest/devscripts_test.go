package deploytest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	redressdb "github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/freeport"
)

// The dev scripts are what a newcomer runs first. These tests run them the
// way a newcomer would: from a fresh clone in a folder only its owner can
// enter (mode 0700, like a home folder or `mktemp -d`) whose path has a
// space in it. As root, PostgreSQL runs as the postgres system user, which
// cannot enter such a folder: the scripts must still work.

// newClone clones this checkout into a fresh 0700 folder and lays the
// working tree's Makefile and deploy/ over it, so uncommitted script changes
// are what is tested.
func newClone(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed to clone the checkout: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(parent, "a clone")
	run(t, root, "git", "clone", "--quiet", "--no-hardlinks", root, clone)
	run(t, root, "cp", "-R", "deploy", "Makefile", clone+"/")
	return clone
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// freePort answers a loopback port nobody listens on now, below the
// kernel's ephemeral range (freeport.Pick): the processes it is handed to
// bind it only after a build of many seconds, and a port from the ephemeral
// range can be taken meanwhile as the local port of an outgoing connection
// (CI once saw "bind: address already in use").
func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Pick("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withDatabase is the URL u naming database name.
func withDatabase(t *testing.T, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Path = "/" + name
	return p.String()
}

func TestPostgresScriptFromClosedFolder(t *testing.T) {
	clone := newClone(t)
	dataDir := filepath.Join(clone, ".data", "pg")
	port := fmt.Sprint(freePort(t))
	t.Cleanup(func() { _ = exec.Command("bash", filepath.Join(clone, "deploy/dev/pg.sh"), "remove", dataDir).Run() })

	url := run(t, clone, "bash", "deploy/dev/pg.sh", "start", dataDir, port, "--fast")
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query the started cluster: %v (got %d)", err, one)
	}
	// `make run` migrates with the printed (owner's) URL and runs the
	// services with runtime-url's role, which cannot switch off the audit trigger.
	if err := redressdb.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	runtime, err := sql.Open("pgx", run(t, clone, "bash", "deploy/dev/pg.sh", "runtime-url", dataDir, port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = runtime.Close() }()
	var who string
	if err := runtime.QueryRow("SELECT current_user").Scan(&who); err != nil || who == "redress" {
		t.Fatalf("runtime-url connects as %q (%v), want the runtime role", who, err)
	}
	if _, err := runtime.Exec("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_update_delete"); err == nil ||
		!strings.Contains(err.Error(), "must be owner") {
		t.Fatalf("the services' role switching off the audit trigger: %v, want refused", err)
	}
	if _, err := runtime.Exec("INSERT INTO subject_keys (id, wrapped_key) VALUES (gen_random_uuid(), '\\x00')"); err != nil {
		t.Fatalf("the services' role writing the record: %v", err)
	}
	// The embedded Temporal server connects as its own role, owner of its
	// databases; the services' role cannot connect to them at all.
	temporalURL := run(t, clone, "bash", "deploy/dev/pg.sh", "temporal-url", dataDir, port)
	runtimeURL := run(t, clone, "bash", "deploy/dev/pg.sh", "runtime-url", dataDir, port)
	for _, name := range []string{"temporal", "temporal_visibility"} {
		tdb, err := sql.Open("pgx", withDatabase(t, temporalURL, name))
		if err != nil {
			t.Fatal(err)
		}
		var who, owner string
		err = tdb.QueryRow("SELECT current_user, pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").Scan(&who, &owner)
		_ = tdb.Close()
		if err != nil || who != "temporal" || owner != "temporal" {
			t.Fatalf("database %s through temporal-url: user %q, owner %q (%v), want both temporal", name, who, owner, err)
		}
		rdb, err := sql.Open("pgx", withDatabase(t, runtimeURL, name))
		if err != nil {
			t.Fatal(err)
		}
		err = rdb.Ping()
		_ = rdb.Close()
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("the services' role connecting to %s: %v, want permission denied", name, err)
		}
	}
	// The processes with a role of their own connect as a login that is a
	// member of their service's role only: deletion cannot read complainants.
	for svc, login := range map[string]string{"intake": "redress_intake_app", "deletion": "redress_deletion_app",
		"escalation": "redress_escalation_app", "reporting": "redress_reporting_app", "checkpoints": "redress_checkpoints_app",
		"worker": "redress_app"} {
		own, err := sql.Open("pgx", run(t, clone, "bash", "deploy/dev/pg.sh", "runtime-url", dataDir, port, svc))
		if err != nil {
			t.Fatal(err)
		}
		if err := own.QueryRow("SELECT current_user").Scan(&who); err != nil || who != login {
			t.Errorf("runtime-url %s connects as %q (%v), want %s", svc, who, err, login)
		}
		if svc == "deletion" || svc == "escalation" {
			if _, err := own.Exec("SELECT count(*) FROM complainants"); err == nil || !strings.Contains(err.Error(), "42501") {
				t.Errorf("the %s service's login reading complainants: %v, want permission denied", svc, err)
			}
		}
		_ = own.Close()
	}
	// A second start of a running cluster is harmless; stop, then start again
	// from the same data (what the next `make run` does).
	run(t, clone, "bash", "deploy/dev/pg.sh", "start", dataDir, port, "--fast")
	run(t, clone, "bash", "deploy/dev/pg.sh", "stop", dataDir)
	if err := db.QueryRow("SELECT 1").Scan(&one); err == nil {
		t.Fatal("the cluster still answers after pg.sh stop")
	}
	_ = db.Close()
	run(t, clone, "bash", "deploy/dev/pg.sh", "start", dataDir, port, "--fast")
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Fatalf("the cluster's data is not reachable from the project folder: %v", err)
	}
	target, _ := filepath.EvalSymlinks(dataDir)
	run(t, clone, "bash", "deploy/dev/pg.sh", "remove", dataDir)
	for _, p := range []string{dataDir, target} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("pg.sh remove left %s behind (%v)", p, err)
		}
	}
}

// pg.sh port: a throwaway cluster starts on a port nothing holds. A port is
// held by a listener or by a client's end of a connection (either makes
// the server's bind fail); a cluster already running in the folder keeps
// its own port.
func TestPostgresPortSkipsHeldPorts(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pg")
	portFrom := func(from int) int {
		t.Helper()
		out := run(t, root, "bash", "deploy/dev/pg.sh", "port", dir, strconv.Itoa(from))
		p, err := strconv.Atoi(out)
		if err != nil {
			t.Fatalf("pg.sh port answered %q: %v", out, err)
		}
		return p
	}
	bindable := func(p int) error {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			_ = l.Close()
		}
		return err
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = listener.Close() }()
	conn, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	for what, held := range map[string]int{
		"a listener's port":         listener.Addr().(*net.TCPAddr).Port,
		"a connected client's port": conn.LocalAddr().(*net.TCPAddr).Port,
	} {
		if bindable(held) == nil {
			t.Fatalf("%s (%d) can be bound: the case tests nothing", what, held)
		}
		got := portFrom(held)
		if got <= held {
			t.Errorf("pg.sh port from %s %d answered %d, want a later port", what, held, got)
		} else if err := bindable(got); err != nil {
			t.Errorf("pg.sh port from %s %d answered %d, which cannot be bound: %v", what, held, got, err)
		}
	}

	// A cluster running in the folder: its postmaster.pid names its port
	// on the fourth line, whatever port is asked for.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pid := fmt.Sprintf("4242\n%s\n1764000000\n55999\n/tmp\n127.0.0.1\n", dir)
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(pid), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := portFrom(listener.Addr().(*net.TCPAddr).Port); got != 55999 {
		t.Errorf("pg.sh port with a cluster running in the folder answered %d, want its own port 55999", got)
	}
}

// makeRun is one `make run` in a clone, started by startMakeRun.
type makeRun struct {
	out  *syncBuffer
	stop func() error
}

// startMakeRun starts `make run` in clone with env and waits until the gRPC
// health check at grpcAddr answers SERVING and the banner is printed.
func startMakeRun(t *testing.T, clone, grpcAddr string, env []string) *makeRun {
	t.Helper()
	cmd := exec.Command("make", "run")
	cmd.Dir = clone
	cmd.Env = env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case err := <-exited:
			// Ctrl-C ends make itself by the signal: that is a clean stop.
			if ee, ok := err.(*exec.ExitError); ok {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
					return nil
				}
			}
			return err
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return fmt.Errorf("make run did not stop within 60 s of Ctrl-C")
		}
	}
	t.Cleanup(func() {
		_ = stop()
		if t.Failed() {
			t.Logf("make run printed:\n%s", out.String())
		}
	})

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(8 * time.Minute) // a cold build compiles for minutes
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("make run exited before its gRPC health check answered: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gRPC health check did not answer SERVING (last: %v)", err)
		}
		time.Sleep(time.Second)
	}
	// The banner (printed with "ready: started in", once every process
	// answers its probe) lists one process per service with its pid.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "ready: started in"); {
		if time.Now().After(deadline) {
			t.Fatal("make run did not say how long its start took")
		}
		time.Sleep(200 * time.Millisecond)
	}
	return &makeRun{out: out, stop: stop}
}

// syncBuffer is an output buffer written by make's process and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningWorkflows answers the run ID of every running workflow of the
// namespace "default" on the Temporal frontend at addr, by workflow ID.
func runningWorkflows(t *testing.T, addr string) map[string]string {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatalf("dial Temporal at %s: %v", addr, err)
	}
	defer c.Close()
	runs := map[string]string{}
	var page []byte
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "ExecutionStatus = 'Running'", NextPageToken: page,
		})
		if err != nil {
			t.Fatalf("list running workflows: %v", err)
		}
		for _, e := range resp.GetExecutions() {
			runs[e.GetExecution().GetWorkflowId()] = e.GetExecution().GetRunId()
		}
		if page = resp.GetNextPageToken(); len(page) == 0 {
			return runs
		}
	}
}

// TestMakeRunFromClosedFolder starts `make run` in a fresh clone (its own
// ports) until the gRPC health check answers and the banner lists one
// process per service, then stops it as Ctrl-C would and checks that every
// process and PostgreSQL stopped with it. Then it starts `make run` again:
// the demo cases' workflows started the first time (the embedded Temporal
// server keeps them in PostgreSQL) are still running, the same runs.
func TestMakeRunFromClosedFolder(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed: %v", err)
	}
	clone := newClone(t)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := append(os.Environ(),
		"DATABASE_URL=", "TEMPORAL_ADDRESS=", "REDRESS_TEMPORAL_DATABASE_URL=", "REDRESS_TEMPORAL_STORE=",
		fmt.Sprintf("REDRESS_PG_PORT=%d", freePort(t)),
		"REDRESS_INTAKE_ADDR="+grpcAddr,
		"REDRESS_TEMPORAL_PORT="+strings.TrimPrefix(temporalAddr, "127.0.0.1:"),
		"REDRESS_TEMPORAL_UI_PORT=0", "REDRESS_PPROF_ADDR=", "REDRESS_LOG_LEVEL=warn",
	)
	addrs := map[string]string{}
	for _, v := range []string{"INTAKE_METRICS", "DELETION", "DELETION_METRICS", "ESCALATION", "ESCALATION_METRICS",
		"REPORTING", "REPORTING_METRICS", "WORKER_METRICS", "CHECKPOINTS_METRICS", "CONSOLE", "PUBLIC", "INBOUND",
		"DEV_MAIL_SMTP", "DEV_MAIL_IMAP", "DEV_MAIL_PAGE"} {
		addrs[v] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		env = append(env, "REDRESS_"+v+"_ADDR="+addrs[v])
	}
	t.Cleanup(func() {
		_ = exec.Command("bash", filepath.Join(clone, "deploy/dev/pg.sh"), "remove", filepath.Join(clone, ".data/pg")).Run()
	})

	first := startMakeRun(t, clone, grpcAddr, env)
	if !regexp.MustCompile(`(?m)^  Temporal store +PostgreSQL postgres://`).MatchString(first.out.String()) {
		t.Errorf("the banner does not show the embedded Temporal server on PostgreSQL")
	}
	pids := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^  (\w+) +pid (\d+) `).FindAllStringSubmatch(first.out.String(), -1) {
		pids[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, name := range []string{"intake", "deletion", "escalation", "reporting", "worker", "checkpoints", "console", "public", "inbound"} {
		pid := pids[name]
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if pid == 0 || err != nil || !strings.HasSuffix(string(cmdline), "\x00serve\x00"+name+"\x00") {
			t.Errorf("process %q (pid %d from the banner) is not a running `redress serve %s`: %q %v", name, pid, name, cmdline, err)
		}
		if pid == pids["dev"] {
			t.Errorf("%s runs in the dev process itself", name)
		}
	}
	checkDevMailbox(t, first.out.String(), addrs)
	// The demo cases' workflows (started before the banner; visibility
	// follows within moments).
	var before map[string]string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		before = runningWorkflows(t, temporalAddr)
		n := 0
		for id := range before {
			if strings.HasPrefix(id, "complaint/") {
				n++
			}
		}
		if n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d demo case workflows running, want 5: %v", n, before)
		}
	}
	if err := first.stop(); err != nil {
		t.Fatalf("stopping make run: %v", err)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %s (pid %d) still runs after Ctrl-C", name, pid)
		}
	}
	if _, err := os.Stat(filepath.Join(clone, ".data/pg/postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("PostgreSQL still runs after make run stopped (postmaster.pid: %v)", err)
	}

	// The next `make run` resumes: the same runs, still running.
	second := startMakeRun(t, clone, grpcAddr, env)
	after := runningWorkflows(t, temporalAddr)
	for id, runID := range before {
		if after[id] != runID {
			t.Errorf("workflow %s: run %q running after the restart, want %q (the run before it)", id, after[id], runID)
		}
	}
	if err := second.stop(); err != nil {
		t.Fatalf("stopping the second make run: %v", err)
	}
}

// checkDevMailbox: the banner prints the development mailbox's addresses,
// and a mail sent to the complaints address becomes a case, whose
// acknowledgement the mailbox's page then lists.
func checkDevMailbox(t *testing.T, banner string, addrs map[string]string) {
	t.Helper()
	const complaints = "complaints@redress.localhost"
	for _, want := range []string{"Complaints address " + complaints, "Mail SMTP          " + addrs["DEV_MAIL_SMTP"],
		"Mail IMAP          " + addrs["DEV_MAIL_IMAP"], "Delivered mail     http://" + addrs["DEV_MAIL_PAGE"] + "/",
		"SMS webhook        http://" + addrs["INBOUND"] + "/sms/inbound"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not print %q", want)
		}
	}
	msg := "From: New Comer <newcomer@example.com>\r\nTo: " + complaints + "\r\nSubject: Spam calls\r\n" +
		"Message-ID: <try.1@example.com>\r\n\r\nI get spam calls every evening since last week.\r\n"
	if err := smtp.SendMail(addrs["DEV_MAIL_SMTP"], nil, "newcomer@example.com", []string{complaints}, []byte(msg)); err != nil {
		t.Fatalf("mail to the complaints address: %v", err)
	}
	page := ""
	for deadline := time.Now().Add(90 * time.Second); strings.Count(page, "newcomer@example.com") < 2; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no acknowledgement to the mail within 90 s; the mailbox's page:\n%s", page)
		}
		if resp, err := http.Get("http://" + addrs["DEV_MAIL_PAGE"] + "/"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			page = string(b)
		}
	}
}
