package temporaldev

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// syncBuffer collects server logs; shown only when a test fails. (t.Log must
// not be used: server goroutines may still log after the test returns.)
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

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func start(t *testing.T, o Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server on %s (ui %q) started in %v", s.FrontendAddress(), s.UIAddress(), time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func dial(t *testing.T, s *Server, logger *slog.Logger) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.FrontendAddress(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(logger.With("component", "test-sdk")),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", s.FrontendAddress(), err)
	}
	t.Cleanup(c.Close)
	return c
}

const taskQueue = "temporaldev-test"

// waitOrSignal waits on a 1 h timer, or returns early on the "finish" signal.
func waitOrSignal(ctx workflow.Context) (string, error) {
	timer := workflow.NewTimer(ctx, time.Hour)
	finish := workflow.GetSignalChannel(ctx, "finish")
	var result string
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(workflow.Future) { result = "timer" })
	sel.AddReceive(finish, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &result) })
	sel.Select(ctx)
	return result, nil
}

// sleepThenReturn waits on a short durable timer.
func sleepThenReturn(ctx workflow.Context, d time.Duration) (string, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return "", err
	}
	return "timer", nil
}

func startWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(waitOrSignal)
	w.RegisterWorkflow(sleepThenReturn)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	return w
}

// awaitEvent polls run's history until it holds an event of type want.
func awaitEvent(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun, want enumspb.EventType) {
	t.Helper()
	for !hasEvent(ctx, t, c, run, want) {
		if ctx.Err() != nil {
			t.Fatalf("no %v event in the history of %s", want, run.GetID())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasEvent(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun, want enumspb.EventType) bool {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if ev.GetEventType() == want {
			return true
		}
	}
	return false
}

func portOf(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWorkflowSurvivesRestart stops the server under a running workflow and
// starts a new one on the same SQLite file and the same port: the workflow is
// still Running, and a worker on the new server completes it.
func TestWorkflowSurvivesRestart(t *testing.T) {
	logger := testLogger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := filepath.Join(t.TempDir(), "temporal.db")
	goroutinesBefore := runtime.NumGoroutine()

	s1 := start(t, Options{DatabaseFile: db, Logger: logger, Namespace: "redress-test"})
	port := portOf(t, s1.FrontendAddress())
	c1 := dial(t, s1, logger)
	w1 := startWorker(t, c1)
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survivor", TaskQueue: taskQueue}, waitOrSignal)
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	// Wait until the worker has run the first workflow task (the timer exists).
	awaitEvent(ctx, t, c1, run, enumspb.EVENT_TYPE_TIMER_STARTED)
	w1.Stop()
	c1.Close()

	// Outage.
	began := time.Now()
	if err := s1.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(began).Round(time.Millisecond))
	if err := s1.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	l, err := net.Listen("tcp", s1.FrontendAddress())
	if err != nil {
		t.Fatalf("frontend port not released on Stop: %v", err)
	}
	_ = l.Close()

	// Another process sees the workflow in the file too (the SQLite plugin
	// keeps its connections for the life of the process, so the in-process
	// restart below alone would not prove the state reached the file).
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildDescribe$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TEMPORALDEV_CHILD_DB="+db, "TEMPORALDEV_CHILD_WF="+run.GetID())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "status=Running") {
		t.Fatalf("child process: err=%v\n%s", err, out)
	}

	// Recovery: same file, same port.
	s2 := start(t, Options{DatabaseFile: db, FrontendPort: port, Logger: logger, Namespace: "redress-test"})
	if s2.FrontendAddress() != s1.FrontendAddress() {
		t.Fatalf("restarted on %s, want %s", s2.FrontendAddress(), s1.FrontendAddress())
	}
	c2 := dial(t, s2, logger)
	desc, err := c2.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %v, want Running", st)
	}

	// And it still makes progress on the new server.
	w2 := startWorker(t, c2)
	defer w2.Stop()
	if err := c2.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "finish", "signalled"); err != nil {
		t.Fatalf("SignalWorkflow: %v", err)
	}
	var result string
	if err := c2.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &result); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if result != "signalled" {
		t.Fatalf("result = %q, want %q", result, "signalled")
	}

	w2.Stop()
	c2.Close()
	if err := s2.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	t.Logf("goroutines: %d before the first Start, %d after the last Stop", goroutinesBefore, runtime.NumGoroutine())
	// No SDK worker of either server outlives Stop: a leaked system worker
	// would keep polling, and poll the next server started on the same port.
	buf := make([]byte, 4<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if strings.Contains(stacks, "go.temporal.io/sdk/internal.(*baseWorker)") {
		t.Errorf("SDK worker goroutines survive Stop:\n%s", stacks)
	}
}

// TestChildDescribe runs only as the child process of
// TestWorkflowSurvivesRestart: it starts a server on the parent's database
// file and prints the workflow's status.
func TestChildDescribe(t *testing.T) {
	db, id := os.Getenv("TEMPORALDEV_CHILD_DB"), os.Getenv("TEMPORALDEV_CHILD_WF")
	if db == "" {
		t.Skip("child process of TestWorkflowSurvivesRestart")
	}
	logger := testLogger(t)
	s := start(t, Options{DatabaseFile: db, Logger: logger, Namespace: "redress-test"})
	desc, err := dial(t, s, logger).DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution: %v", err)
	}
	fmt.Printf("status=%v\n", desc.GetWorkflowExecutionInfo().GetStatus())
}

// TestUI serves the Web UI next to the server.
func TestUI(t *testing.T) {
	s := start(t, Options{UIPort: -1, Logger: testLogger(t)})
	if s.UIAddress() == "" {
		t.Fatal("UIAddress is empty with UIPort set")
	}
	resp, err := http.Get("http://" + s.UIAddress() + "/")
	if err != nil {
		t.Fatalf("GET UI: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET UI: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type = %q, want text/html", ct)
	}
	if !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Fatalf("body is not HTML: %.200q", body)
	}
	// The UI's API proxy reaches the frontend.
	resp2, err := http.Get("http://" + s.UIAddress() + "/api/v1/namespaces/" + s.Namespace())
	if err != nil {
		t.Fatalf("GET UI API: %v", err)
	}
	defer func() { _ = resp2.Body.Close() }()
	if resp2.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp2.Body)
		t.Fatalf("GET UI API: %s %.300s", resp2.Status, b)
	}

	uiAddr := s.UIAddress()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	l, err := net.Listen("tcp", uiAddr)
	if err != nil {
		t.Fatalf("UI port not released on Stop: %v", err)
	}
	_ = l.Close()
}

// TestNoUIAndInMemory checks the defaults: in memory, no UI, namespace "default".
func TestNoUIAndInMemory(t *testing.T) {
	s := start(t, Options{Logger: testLogger(t)})
	if s.UIAddress() != "" {
		t.Fatalf("UIAddress = %q without UI", s.UIAddress())
	}
	if s.Namespace() != "default" {
		t.Fatalf("Namespace = %q", s.Namespace())
	}
	c := dial(t, s, testLogger(t))
	ns, err := c.WorkflowService().DescribeNamespace(context.Background(),
		&workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatalf("DescribeNamespace: %v", err)
	}
	if r := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); r != 72*time.Hour {
		t.Fatalf("retention = %v, want 72h", r)
	}
}

// TestSearchAttributes: registered with a new namespace, and added to an
// existing one (a database created without them).
func TestSearchAttributes(t *testing.T) {
	logger := testLogger(t)
	db := filepath.Join(t.TempDir(), "temporal.db")
	s1 := start(t, Options{DatabaseFile: db, Logger: logger,
		SearchAttributes: map[string]enumspb.IndexedValueType{"RedressCaseID": enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
	listed := func(s *Server) map[string]enumspb.IndexedValueType {
		resp, err := dial(t, s, logger).OperatorService().ListSearchAttributes(context.Background(),
			&operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
		if err != nil {
			t.Fatalf("ListSearchAttributes: %v", err)
		}
		return resp.GetCustomAttributes()
	}
	if got := listed(s1)["RedressCaseID"]; got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("RedressCaseID = %v on a new namespace", got)
	}
	if err := s1.Stop(); err != nil {
		t.Fatal(err)
	}
	s2 := start(t, Options{DatabaseFile: db, Logger: logger, SearchAttributes: map[string]enumspb.IndexedValueType{
		"RedressCaseID": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "RedressDeadline": enumspb.INDEXED_VALUE_TYPE_DATETIME}})
	got := listed(s2)
	if got["RedressCaseID"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD || got["RedressDeadline"] != enumspb.INDEXED_VALUE_TYPE_DATETIME {
		t.Fatalf("custom search attributes after restart = %v", got)
	}
}

func TestBusyPortIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	_, err = Start(context.Background(), Options{FrontendPort: l.Addr().(*net.TCPAddr).Port, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("Start on a busy port: err = %v", err)
	}
}

// TestExternalPayloadsNotAccounted: Redress stores no payload outside the
// history, so the server does not walk every new event's payloads looking
// for references to count (history.externalPayloadsEnabled, on by default).
// A start whose input claims an external payload shows it: counted, the
// description would report one.
func TestExternalPayloadsNotAccounted(t *testing.T) {
	s := start(t, Options{Logger: testLogger(t)})
	c := dial(t, s, testLogger(t))
	ctx := context.Background()
	input := &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata:         map[string][]byte{"encoding": []byte("json/plain")},
		Data:             []byte(`"reference"`),
		ExternalPayloads: []*commonpb.Payload_ExternalPayloadDetails{{SizeBytes: 4096}},
	}}}
	started, err := c.WorkflowService().StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace:    s.Namespace(),
		WorkflowId:   "external-payload",
		WorkflowType: &commonpb.WorkflowType{Name: "NotRegistered"},
		TaskQueue:    &taskqueuepb.TaskQueue{Name: "nobody-polls"},
		Input:        input,
		RequestId:    "external-payload-1",
	})
	if err != nil {
		t.Fatalf("StartWorkflowExecution: %v", err)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, "external-payload", started.GetRunId())
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution: %v", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if n, size := info.GetExternalPayloadCount(), info.GetExternalPayloadSizeBytes(); n != 0 || size != 0 {
		t.Fatalf("external payloads accounted: count %d, %d bytes; want none", n, size)
	}
}
