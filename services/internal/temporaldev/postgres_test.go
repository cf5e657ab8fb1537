package temporaldev

import (
	"context"
	"database/sql"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	pgschema "go.temporal.io/server/schema/postgresql/v12"

	"github.com/redress/redress/services/internal/pgtest"
)

// schemaVersions answers the schema version recorded in the persistence and
// the visibility database of a PostgreSQL store.
func schemaVersions(t *testing.T, pgURL string) (store, vis string) {
	t.Helper()
	conf, err := postgresConfig(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		db, err := sql.Open("pgx", withDatabaseName(t, pgURL, name))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		var v string
		if err := db.QueryRow("SELECT curr_version FROM schema_version WHERE db_name = $1", name).Scan(&v); err != nil {
			t.Fatalf("schema version of %s: %v", name, err)
		}
		return v
	}
	return read(conf.DatabaseName), read(conf.DatabaseName + visibilitySuffix)
}

func withDatabaseName(t *testing.T, pgURL, name string) string {
	t.Helper()
	conf, err := postgresConfig(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	return "postgres://" + conf.User + ":" + conf.Password + "@" + conf.ConnectAddr + "/" + name + "?sslmode=disable"
}

// TestPostgresWorkflowSurvivesRestart is `make run` stopped and started
// again: a server on PostgreSQL sets up its schema, runs a workflow to its
// durable timer and stops; the timer's deadline passes while it is down; a
// new server on the same databases and port (the schema left as it is) fires
// the timer, and a worker on it completes the workflow.
func TestPostgresWorkflowSurvivesRestart(t *testing.T) {
	logger := testLogger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pgURL := pgtest.TemporalURL(t)

	s1 := start(t, Options{PostgresURL: pgURL, Logger: logger, Namespace: "redress-test"})
	if store, vis := schemaVersions(t, pgURL); store != pgschema.Version || vis != pgschema.VisibilityVersion {
		t.Fatalf("schema versions %s / %s on new databases, want %s / %s", store, vis, pgschema.Version, pgschema.VisibilityVersion)
	}
	port := portOf(t, s1.FrontendAddress())
	c1 := dial(t, s1, logger)
	w1 := startWorker(t, c1)
	const sleep = 2 * time.Second
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "pg-survivor", TaskQueue: taskQueue}, sleepThenReturn, sleep)
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	awaitEvent(ctx, t, c1, run, enumspb.EVENT_TYPE_TIMER_STARTED)
	w1.Stop()
	c1.Close()
	if err := s1.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	time.Sleep(sleep + 500*time.Millisecond) // the timer is due while no server runs

	s2 := start(t, Options{PostgresURL: pgURL, FrontendPort: port, Logger: logger, Namespace: "redress-test"})
	c2 := dial(t, s2, logger)
	desc, err := c2.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %v, want Running (no worker has run since the timer)", st)
	}
	w2 := startWorker(t, c2)
	defer w2.Stop()
	var result string
	if err := c2.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &result); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if result != "timer" {
		t.Fatalf("result = %q, want %q", result, "timer")
	}
	if !hasEvent(ctx, t, c2, run, enumspb.EVENT_TYPE_TIMER_FIRED) {
		t.Fatal("the workflow completed without its timer firing")
	}
	if err := s2.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if l, err := net.Listen("tcp", s2.FrontendAddress()); err != nil {
		t.Fatalf("frontend port not released on Stop: %v", err)
	} else {
		_ = l.Close()
	}
}

// TestPostgresSchemaUpgrade: databases left at an older schema version (a
// server module upgrade since the last start) are upgraded by Start, step by
// step, to the version the server module embeds, and the server runs on them.
func TestPostgresSchemaUpgrade(t *testing.T) {
	logger := testLogger(t)
	pgURL := pgtest.TemporalURL(t)
	conf, err := postgresConfig(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	vis := *conf
	vis.DatabaseName += visibilitySuffix
	tl := serverLogger{l: logger}
	if err := upgradeSchema(conf, postgresSchema, "1.10", tl); err != nil {
		t.Fatal(err)
	}
	if err := upgradeSchema(&vis, postgresVisibilitySchema, "1.5", tl); err != nil {
		t.Fatal(err)
	}
	if store, vis := schemaVersions(t, pgURL); store != "1.10" || vis != "1.5" {
		t.Fatalf("schema versions %s / %s, want the older 1.10 / 1.5", store, vis)
	}

	s := start(t, Options{PostgresURL: pgURL, Logger: logger})
	if store, vis := schemaVersions(t, pgURL); store != pgschema.Version || vis != pgschema.VisibilityVersion {
		t.Fatalf("schema versions %s / %s after Start, want %s / %s", store, vis, pgschema.Version, pgschema.VisibilityVersion)
	}
	c := dial(t, s, logger)
	w := startWorker(t, c)
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: taskQueue}, sleepThenReturn, time.Millisecond)
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow on the upgraded databases: %v", err)
	}
}

// TestPostgresVisibilityIndexesSkipUnsetColumns: after Start, every index
// of the visibility table led by a nullable column is partial (rows that
// leave the column NULL do not enter it); a finished workflow's row is in
// the indexes of the columns it sets only; a query on a custom search
// attribute still finds its workflow; a restart changes no index.
func TestPostgresVisibilityIndexesSkipUnsetColumns(t *testing.T) {
	logger := testLogger(t)
	pgURL := pgtest.TemporalURL(t)
	attrs := map[string]enumspb.IndexedValueType{"RedressProbe": enumspb.INDEXED_VALUE_TYPE_KEYWORD}
	s := start(t, Options{PostgresURL: pgURL, Logger: logger, SearchAttributes: attrs})
	conf, err := postgresConfig(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", withDatabaseName(t, pgURL, conf.DatabaseName+visibilitySuffix))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	indexes := func() map[string]string {
		rows, err := db.Query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'executions_visibility'`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		defs := map[string]string{}
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				t.Fatal(err)
			}
			defs[name] = def
		}
		return defs
	}
	before := indexes()
	var full []string
	partial := 0
	for name, def := range before {
		if strings.Contains(def, " WHERE ") {
			partial++
		} else {
			full = append(full, name)
		}
	}
	slices.Sort(full)
	// The primary key and the indexes led by NOT NULL columns or by the
	// close-time expression stay whole.
	want := []string{"by_execution_time", "by_root_run_id", "by_root_workflow_id", "by_status", "by_task_queue",
		"by_workflow_id", "by_workflow_type", "default_idx", "executions_visibility_pkey"}
	if !slices.Equal(full, want) || partial < 60 {
		t.Fatalf("%d partial indexes; whole: %v, want %v", partial, full, want)
	}

	c := dial(t, s, logger)
	w := startWorker(t, c)
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "visibility-probe", TaskQueue: taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("RedressProbe").ValueSet("p-1")),
	}, sleepThenReturn, time.Millisecond)
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var found []string
	for deadline := time.Now().Add(30 * time.Second); len(found) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace(), Query: `RedressProbe = 'p-1' AND ExecutionStatus = 'Completed'`})
		if err != nil {
			t.Fatalf("ListWorkflow: %v", err)
		}
		for _, e := range resp.GetExecutions() {
			found = append(found, e.GetExecution().GetWorkflowId())
		}
	}
	if !slices.Equal(found, []string{"visibility-probe"}) {
		t.Fatalf("query on the custom search attribute found %v", found)
	}

	// Entries per B-tree index, counted by VACUUM (a GIN index reports the
	// table's rows instead): the finished row is in default_idx and in the
	// index of its history length, not in those of columns it leaves NULL.
	if _, err := db.Exec(`VACUUM executions_visibility`); err != nil {
		t.Fatal(err)
	}
	entries := func(index string) float64 {
		var n float64
		if err := db.QueryRow(`SELECT reltuples FROM pg_class WHERE relname = $1`, index).Scan(&n); err != nil {
			t.Fatalf("%s: %v", index, err)
		}
		return n
	}
	for index, want := range map[string]float64{"default_idx": 1, "by_history_length": 1, "by_parent_workflow_id": 0, "by_bool_01": 0, "by_batcher_user": 0} {
		if got := entries(index); got != want {
			t.Errorf("%s holds %v entries, want %v", index, got, want)
		}
	}

	w.Stop()
	c.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	start(t, Options{PostgresURL: pgURL, Logger: logger, SearchAttributes: attrs})
	if after := indexes(); !maps.Equal(after, before) {
		t.Fatal("a restart changed the visibility indexes")
	}
}

func TestPostgresURLErrors(t *testing.T) {
	for _, u := range []string{"mysql://u@h/db", "postgres://u@h:5432/", "postgres://u@h/a/b", "postgres://u@h/db?sslmode=a&sslmode=b"} {
		if _, err := postgresConfig(u); err == nil {
			t.Errorf("postgresConfig(%q): no error", u)
		}
	}
	c, err := postgresConfig("postgres://temporal:p%40ss@db.example:6543/temporal?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	if c.ConnectAddr != "db.example:6543" || c.User != "temporal" || c.Password != "p@ss" || c.DatabaseName != "temporal" ||
		c.ConnectAttributes["sslmode"] != "require" {
		t.Fatalf("postgresConfig = %+v", c)
	}
	if _, err := Start(context.Background(), Options{PostgresURL: "postgres://u@h/db", DatabaseFile: "x.db", Logger: testLogger(t)}); err == nil {
		t.Fatal("Start with both PostgresURL and DatabaseFile: no error")
	}
}
