package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/temporalclient"
	"github.com/redress/redress/services/internal/temporaldev"
	"github.com/redress/redress/workflows/complaint"
)

// TestFaultsTemporalProcess is not a test: TestFaults runs the test binary
// again with REDRESS_FAULTS_TEMPORAL set (the URL of its PostgreSQL
// databases, as `make run` keeps them), so Temporal is a process of its own
// that kill -9 can hit. It serves until killed.
func TestFaultsTemporalProcess(t *testing.T) {
	pgURL := os.Getenv("REDRESS_FAULTS_TEMPORAL")
	if pgURL == "" {
		t.Skip("helper process of TestFaults")
	}
	var port int
	if _, err := fmt.Sscan(os.Getenv("REDRESS_FAULTS_TEMPORAL_PORT"), &port); err != nil {
		t.Fatalf("REDRESS_FAULTS_TEMPORAL_PORT: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ts, err := temporaldev.Start(ctx, temporaldev.Options{PostgresURL: pgURL, FrontendPort: port, LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	_ = ts.Stop()
}

// TestFaults (make test-faults) submits complaints steadily while it kills
// -9, in turn, the intake service, the worker and the Temporal server (on
// PostgreSQL, in the same cluster), and restarts PostgreSQL as a crash would
// (immediate stop). Then every key
// whose submission failed is retried with the same key, and it checks: each
// key that was ever answered OK names exactly one case, which has its two
// deadlines and a running workflow that loaded it; no case exists without
// its key; each complainant got exactly one acknowledgement (one Message-ID;
// a redelivery of the same message after a crash is counted and printed).
func TestFaults(t *testing.T) {
	pgURL, pgDir := os.Getenv("REDRESS_FAULTS_DATABASE_URL"), os.Getenv("REDRESS_FAULTS_PG_DIR")
	temporalURL := os.Getenv("REDRESS_FAULTS_TEMPORAL_DATABASE_URL")
	if pgURL == "" || pgDir == "" || temporalURL == "" {
		t.Skip("run with make test-faults (needs REDRESS_FAULTS_DATABASE_URL, REDRESS_FAULTS_PG_DIR and REDRESS_FAULTS_TEMPORAL_DATABASE_URL)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "redress")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/redress").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	migrate := exec.Command(bin, "migrate")
	migrate.Env = append(os.Environ(), "REDRESS_MIGRATE_DATABASE_URL="+pgURL)
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	smtp := smtptest.Start(t)
	temporalPort, intakePort, metricsPort, wMetricsPort := freePort(t), freePort(t), freePort(t), freePort(t)
	// The worker erases through intake and reads case facts as the deletion
	// and escalation services, with their own credentials, as in production.
	services := &identity.Store{DB: pgtest.OpenURL(t, pgtest.RuntimeURL(pgURL))}
	deletionToken, err := services.ServiceCredential(context.Background(), "faults", "svc.deletion", "Deletion service",
		access.DeletionService, "faults", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	escalationToken, err := services.ServiceCredential(context.Background(), "faults", "svc.escalation", "Escalation service",
		access.EscalationService, "faults", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The services run as the runtime role pg.sh created, as in production.
	env := append(os.Environ(), "DATABASE_URL="+pgtest.RuntimeURL(pgURL), "REDRESS_MASTER_KEY="+crypto.GenerateMasterKey(),
		"REDRESS_DELETION_SERVICE_TOKEN="+deletionToken, "REDRESS_ESCALATION_SERVICE_TOKEN="+escalationToken,
		"REDRESS_COMMAND_KEY="+crypto.GenerateMasterKey(),
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", temporalPort), "REDRESS_LOG_LEVEL=error",
		"REDRESS_SMTP_ADDR="+smtp.Addr(), "REDRESS_DATA_DIR="+dir)
	procs := map[string]*exec.Cmd{}
	var mu sync.Mutex
	start := func(name string) {
		var cmd *exec.Cmd
		switch name {
		case "temporal":
			cmd = exec.Command(os.Args[0], "-test.run=^TestFaultsTemporalProcess$")
			cmd.Env = append(os.Environ(), "REDRESS_FAULTS_TEMPORAL="+temporalURL,
				fmt.Sprintf("REDRESS_FAULTS_TEMPORAL_PORT=%d", temporalPort))
		case "intake":
			cmd = exec.Command(bin, "serve", "intake")
			cmd.Env = slices.Concat(env, []string{fmt.Sprintf("REDRESS_INTAKE_ADDR=127.0.0.1:%d", intakePort),
				fmt.Sprintf("REDRESS_INTAKE_METRICS_ADDR=127.0.0.1:%d", metricsPort)})
		case "worker":
			cmd = exec.Command(bin, "serve", "worker")
			cmd.Env = slices.Concat(env, []string{fmt.Sprintf("REDRESS_WORKER_METRICS_ADDR=127.0.0.1:%d", wMetricsPort)})
		}
		log, _ := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		go func() { _ = cmd.Wait(); _ = log.Close() }()
		mu.Lock()
		procs[name] = cmd
		mu.Unlock()
	}
	kill9 := func(name string) {
		mu.Lock()
		p := procs[name]
		mu.Unlock()
		_ = p.Process.Kill() // SIGKILL
		time.Sleep(300 * time.Millisecond)
	}
	t.Cleanup(func() {
		for _, n := range []string{"intake", "worker", "temporal"} {
			kill9(n)
		}
	})
	waitReady := func() {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", metricsPort))
			if err == nil {
				_ = r.Body.Close()
				if r.StatusCode == 200 {
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("intake not ready; logs in %s", dir)
	}
	start("temporal")
	start("worker")
	start("intake")
	waitReady()

	gdb, err := db.Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	ids := &identity.Store{DB: gdb}
	if _, err := ids.AddUser(ctx, "faults", identity.NewUser{Username: "faults", DisplayName: "Fault test", Role: access.Automation}); err != nil {
		t.Fatal(err)
	}
	token, _, err := ids.IssueToken(ctx, "faults", "faults", "faults", nil, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", intakePort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	api := intakev1.NewIntakeServiceClient(conn)
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	request := func(i int) *intakev1.SubmitComplaintRequest {
		return &intakev1.SubmitComplaintRequest{
			IdempotencyKey: fmt.Sprintf("fault-%s-%05d", run, i), Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
			Category: intakev1.Category_CATEGORY_SPAM_SMS, Channel: intakev1.Channel_CHANNEL_API,
			Complainant: &intakev1.Complainant{Name: "Fault Person", Email: fmt.Sprintf("fault-%05d@example.com", i)},
			Subject:     &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_PHONE_NUMBER, Value: "+8610690000001"},
			Description: "Spam SMS every day since the leak.",
		}
	}
	// answers[i] is the case id of key i once answered OK ("" while not).
	var answers sync.Map
	var sent, okFirst, failed atomic.Int64
	submit := func(i int) error {
		cctx, ccancel := context.WithTimeout(authed, 10*time.Second)
		defer ccancel()
		resp, err := api.SubmitComplaint(cctx, request(i))
		if err != nil {
			return err
		}
		if prev, loaded := answers.LoadOrStore(i, resp.GetCase().GetId()); loaded && prev != resp.GetCase().GetId() {
			t.Errorf("key %d answered two cases: %s and %s", i, prev, resp.GetCase().GetId())
		}
		return nil
	}
	// Steady load: 8 callers, about 40 submissions a second.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				i := int(next.Add(1)) - 1
				sent.Add(1)
				if err := submit(i); err != nil {
					failed.Add(1)
				} else {
					okFirst.Add(1)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	faults := []struct {
		name string
		do   func()
	}{
		{"kill -9 intake", func() { kill9("intake"); time.Sleep(time.Second); start("intake"); waitReady() }},
		{"kill -9 worker", func() { kill9("worker"); time.Sleep(2 * time.Second); start("worker") }},
		{"kill -9 Temporal", func() { kill9("temporal"); time.Sleep(2 * time.Second); start("temporal") }},
		{"restart PostgreSQL (immediate stop)", func() {
			out, err := exec.Command("bash", "../../deploy/dev/faults.sh", "pg-crash-restart", pgDir).CombinedOutput()
			if err != nil {
				t.Fatalf("restart PostgreSQL: %v\n%s", err, out)
			}
		}},
	}
	time.Sleep(5 * time.Second)
	for _, f := range faults {
		before := failed.Load()
		f.do()
		time.Sleep(6 * time.Second)
		t.Logf("%-40s submissions refused meanwhile: %d", f.name, failed.Load()-before)
	}
	stopLoad()
	wg.Wait()
	total := int(next.Load())

	// Converge: every key not answered OK is retried with the same key.
	retried := 0
	for i := range total {
		if _, ok := answers.Load(i); ok {
			continue
		}
		retried++
		var err error
		for attempt := 0; attempt < 30; attempt++ {
			if err = submit(i); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			t.Errorf("key %d never converged: %v", i, err)
		}
	}

	// Every complainant gets its acknowledgement once the workflows catch up.
	tc, err := temporalclient.Dial(fmt.Sprintf("127.0.0.1:%d", temporalPort), "default", temporalclient.Security{})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ackDeadline := time.Now().Add(5 * time.Minute)
	for {
		var acked int64
		gdb.Raw(`SELECT count(*) FROM notifications n JOIN intake_idempotency i ON i.case_id = n.case_id
			WHERE n.kind = 'acknowledgement' AND n.status = 'sent' AND i.key LIKE ?`, "faults/fault-"+run+"-%").Scan(&acked)
		if int(acked) >= total || time.Now().After(ackDeadline) {
			break
		}
		time.Sleep(time.Second)
	}
	time.Sleep(2 * time.Second) // a late duplicate, if any, has time to arrive

	var lost, duplicated, missingKey, badDeadlines, notRunning, doubleNotified, missingNotice int
	for i := range total {
		v, ok := answers.Load(i)
		if !ok {
			lost++
			continue
		}
		var n int64
		gdb.Raw(`SELECT count(*) FROM intake_idempotency WHERE key = ? AND case_id = ?`,
			"faults/"+request(i).GetIdempotencyKey(), v).Scan(&n)
		if n != 1 {
			lost++
		}
	}
	var cases int64
	gdb.Raw(`SELECT count(*) FROM cases`).Scan(&cases) // the database is the run's own
	gdb.Raw(`SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM intake_idempotency i WHERE i.case_id = c.id)`).Scan(&missingKey)
	duplicated = int(cases) - total
	var ids2 []string
	gdb.Raw(`SELECT case_id FROM intake_idempotency WHERE key LIKE ?`, "faults/fault-"+run+"-%").Scan(&ids2)
	for _, id := range ids2 {
		var dl int64
		gdb.Raw(`SELECT count(*) FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.case_id = ?
			AND ((d.kind = 'acknowledgement' AND d.due_at = c.ack_due_at) OR (d.kind = 'resolution' AND d.due_at = c.resolution_due_at))`, id).Scan(&dl)
		if dl != 2 {
			badDeadlines++
		}
		qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := tc.QueryWorkflow(qctx, complaint.WorkflowID(id), "", complaint.QueryState)
		var view complaint.StateView
		if err == nil {
			err = v.Get(&view)
		}
		qcancel()
		if err != nil || view.CaseID != id {
			notRunning++
		}
	}
	// A notice is one Message-ID (stable per dedupe key). A worker killed
	// after the mail server took a notice but before it was recorded as sent
	// sends it again under the same Message-ID, which mailboxes collapse (and
	// SMS gateways dedupe by the same key): counted as a redelivery. Two
	// different notices of one kind would be two IDs: a double notification.
	perRecipient := map[string]map[string]int{}
	redelivered := 0
	for _, m := range smtp.Messages() {
		for _, to := range m.To {
			if !strings.HasPrefix(to, "fault-") {
				continue
			}
			if perRecipient[to] == nil {
				perRecipient[to] = map[string]int{}
			}
			id := m.Header.Get("Message-ID")
			if perRecipient[to][id]++; perRecipient[to][id] > 1 {
				redelivered++
			}
		}
	}
	for i := range total {
		switch len(perRecipient[fmt.Sprintf("fault-%05d@example.com", i)]) {
		case 0:
			missingNotice++
		case 1:
		default:
			doubleNotified++
		}
	}
	fmt.Printf("\nfault test: %d keys submitted (%d calls, %d answered OK first time, %d refused during faults, %d keys retried to convergence)\n",
		total, sent.Load(), okFirst.Load(), failed.Load(), retried)
	fmt.Printf("  lost: %d   duplicated: %d   cases without key: %d   wrong deadlines: %d   workflows not running: %d\n",
		lost, duplicated, missingKey, badDeadlines, notRunning)
	fmt.Printf("  acknowledgement emails: %d recipients with exactly one, %d with none, %d with more than one (double notifications)\n",
		total-missingNotice-doubleNotified, missingNotice, doubleNotified)
	fmt.Printf("  redeliveries of one notice under its own Message-ID (worker killed between the mail server's OK and the record): %d\n", redelivered)
	if lost+duplicated+missingKey+badDeadlines+notRunning+missingNotice+doubleNotified > 0 {
		t.Errorf("faults broke guarantees; process logs in %s", dir)
	}
}
