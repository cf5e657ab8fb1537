package temporaldev

import (
	"context"
	"database/sql"
	"net"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
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
