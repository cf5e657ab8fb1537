package connectors_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/redress/redress/services/internal/connectors"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/deletion"
)

func customerDB(t *testing.T, people int) (*sql.DB, *connectors.Postgres) {
	t.Helper()
	db := emptyCustomerDB(t)
	if err := customertest.Seed(context.Background(), db, people, time.Now()); err != nil {
		t.Fatal(err)
	}
	return db, connectorFor(t, db, customertest.Mapping)
}

// emptyCustomerDB is a customer database of its own, not the record.
func emptyCustomerDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.OwnerURL(pgtest.URL(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// connectorFor is the PostgreSQL connector over db with the mapping.
func connectorFor(t *testing.T, db *sql.DB, mapping string) *connectors.Postgres {
	t.Helper()
	m, err := connectors.ParseMapping([]byte(mapping))
	if err != nil {
		t.Fatal(err)
	}
	return &connectors.Postgres{DB: db, Mapping: m}
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func subject(i int, heldFrom time.Time) connectors.Subject {
	return connectors.Subject{DeletionID: "d", Phone: &connectors.Phone{Number: customertest.Phone(i), From: &heldFrom}, Email: customertest.Email(i)}
}

func TestPostgresLocateApplyVerify(t *testing.T) {
	ctx := context.Background()
	db, pg := customerDB(t, 5)
	heldFrom := time.Now().AddDate(-2, 0, -1)
	if err := customertest.SeedPreviousHolder(ctx, db, 2, heldFrom); err != nil {
		t.Fatal(err)
	}
	s := subject(2, heldFrom)

	found, err := pg.Locate(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, it := range found.Items {
		got[it.Target+"/"+it.Action] = it.Count
		if it.Action == deletion.ActionRestrict && (it.RestrictUntil == nil || it.RestrictUntil.Before(time.Now())) {
			t.Errorf("restrict item without a future date: %+v", it)
		}
	}
	want := map[string]int64{"accounts/delete": 1, "orders/delete": 2, "call_logs/delete": 2, "call_logs/restrict": 1, "marketing_list/mask": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("plan %s = %d, want %d (plan %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("plan has %v, want %v", got, want)
	}

	res, err := pg.Apply(ctx, s, connectors.StepExecute, found.Items)
	if err != nil {
		t.Fatal(err)
	}
	if res.Affected != 7 { // 1 account + 2 orders + 2 old logs + 1 restricted + 1 masked
		t.Errorf("affected %d, want 7", res.Affected)
	}
	again, err := pg.Apply(ctx, s, connectors.StepExecute, found.Items)
	if err != nil || again.Affected != 0 {
		t.Errorf("second apply: affected %d err %v, want 0 and nil", again.Affected, err)
	}
	if n, err := pg.Remaining(ctx, s, connectors.StepExecute); err != nil || n != 0 {
		t.Errorf("remaining %d err %v", n, err)
	}
	// The subject's rows, by SQL.
	if n := count(t, db, `SELECT count(*) FROM accounts WHERE id = 2`); n != 0 {
		t.Errorf("account 2 still there")
	}
	if n := count(t, db, `SELECT count(*) FROM orders WHERE account_id = 2`); n != 0 {
		t.Errorf("orders of 2 still there")
	}
	if n := count(t, db, `SELECT count(*) FROM call_logs WHERE caller = $1 AND id < 900000000`, customertest.Phone(2)); n != 1 {
		t.Errorf("call logs of 2: %d, want the 1 restricted", n)
	}
	if n := count(t, db, `SELECT count(*) FROM call_logs WHERE caller = $1 AND restricted_until > now() + interval '4 months'`, customertest.Phone(2)); n != 1 {
		t.Errorf("restricted log has no deletion date ~5 months ahead")
	}
	if n := count(t, db, `SELECT count(*) FROM marketing_list WHERE id = 2 AND name = '***' AND email IS NULL AND phone LIKE 'h:%'`); n != 1 {
		t.Errorf("marketing entry of 2 not masked")
	}
	// The previous holder of the number and everyone else are untouched.
	if n := count(t, db, `SELECT count(*) FROM accounts WHERE id = 900000002`); n != 1 {
		t.Errorf("previous holder's account was touched")
	}
	if n := count(t, db, `SELECT count(*) FROM call_logs WHERE id = 900000002`); n != 1 {
		t.Errorf("previous holder's call log was touched")
	}
	if n := count(t, db, `SELECT count(*) FROM accounts`); n != 5 {
		t.Errorf("accounts %d, want 5 (4 others + previous holder)", n)
	}
	if n := count(t, db, `SELECT count(*) FROM orders`); n != 8 {
		t.Errorf("orders %d, want 8", n)
	}
	if n := count(t, db, `SELECT count(*) FROM marketing_list WHERE name <> '***'`); n != 4 {
		t.Errorf("unmasked marketing entries %d, want 4", n)
	}
	if n := count(t, db, `SELECT count(*) FROM call_logs WHERE restricted_until IS NOT NULL`); n != 1 {
		t.Errorf("restricted logs %d, want 1", n)
	}

	// When the retention duty ends, the deferred step deletes the log.
	if _, err := db.Exec(`UPDATE call_logs SET restricted_until = now() - interval '1 second' WHERE restricted_until IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if n, _ := pg.Remaining(ctx, s, connectors.StepDeferred); n != 1 {
		t.Errorf("deferred remaining before the step: %d, want 1", n)
	}
	res, err = pg.Apply(ctx, s, connectors.StepDeferred, found.Items)
	if err != nil || res.Affected != 1 {
		t.Fatalf("deferred apply: %d %v", res.Affected, err)
	}
	if n, _ := pg.Remaining(ctx, s, connectors.StepDeferred); n != 0 {
		t.Errorf("deferred remaining %d", n)
	}
	if n := count(t, db, `SELECT count(*) FROM call_logs WHERE caller = $1 AND id < 900000000`, customertest.Phone(2)); n != 0 {
		t.Errorf("subject's logs remain after the retention floor")
	}
}

func TestMappingRefusesBadNames(t *testing.T) {
	for _, m := range []string{
		`{"tables":[{"name":"a; drop table x","match":{"phone":"p"},"action":"delete"}]}`,
		`{"tables":[{"name":"a","match":{"phone":"p"},"action":"truncate"}]}`,
		`{"tables":[{"name":"b","via":{"column":"a_id","parent":"a","parent_key":"id"},"action":"delete"}]}`,
		`{"tables":[{"name":"a","match":{"phone":"p"},"action":"mask","columns":{"x":"scramble"}}]}`,
		`{"tables":[{"name":"a","action":"delete"}]}`,
		`{"tables":[], "extra": 1}`,
	} {
		if _, err := connectors.ParseMapping([]byte(m)); err == nil {
			t.Errorf("accepted %s", m)
		}
	}
}

// The connector keeps the tables' foreign-key order between applies. A
// constraint added after it was read must not wedge deletions until it is
// read again: the apply it trips fails and rolls back, and the retry reads
// the new order and succeeds.
func TestApplyRereadsOrderAfterConstraintTrips(t *testing.T) {
	ctx := context.Background()
	db := emptyCustomerDB(t)
	mustExec(t, db, `CREATE TABLE members (id int PRIMARY KEY, phone text)`)
	mustExec(t, db, `CREATE TABLE notes (id serial PRIMARY KEY, member_id int, phone text)`)
	mustExec(t, db, `INSERT INTO members VALUES (1, '13800138000'), (2, '13800138000'), (3, '13900139000')`)
	pg := connectorFor(t, db, `{"tables":[
		{"name":"members","match":{"phone":"phone","phone_format":"national"},"action":"delete"},
		{"name":"notes","match":{"phone":"phone","phone_format":"national"},"action":"delete"}]}`)
	s := connectors.Subject{DeletionID: "d", Phone: &connectors.Phone{Number: "13800138000"}}
	items := []deletion.PlanItem{{Target: "members", Action: deletion.ActionDelete}, {Target: "notes", Action: deletion.ActionDelete}}
	// The first apply reads the order: no constraint yet, members first.
	if res, err := pg.Apply(ctx, s, connectors.StepExecute, items); err != nil || res.Affected != 2 {
		t.Fatalf("first apply: %d %v", res.Affected, err)
	}
	// Now notes reference members, and the subject has rows in both again.
	mustExec(t, db, `INSERT INTO members VALUES (4, '13800138000')`)
	mustExec(t, db, `ALTER TABLE notes ADD FOREIGN KEY (member_id) REFERENCES members (id)`)
	mustExec(t, db, `INSERT INTO notes (member_id, phone) VALUES (4, '13800138000'), (3, '13800138000')`)
	if _, err := pg.Apply(ctx, s, connectors.StepExecute, items); err == nil {
		t.Fatal("apply with the stale order succeeded: was the order read again already?")
	}
	if n := count(t, db, `SELECT count(*) FROM notes`); n != 2 {
		t.Fatalf("the failed apply left %d notes, want its changes rolled back (2)", n)
	}
	res, err := pg.Apply(ctx, s, connectors.StepExecute, items)
	if err != nil || res.Affected != 3 {
		t.Fatalf("retry: %d %v, want 3 rows (2 notes, then their member)", res.Affected, err)
	}
	if n, err := pg.Remaining(ctx, s, connectors.StepExecute); err != nil || n != 0 {
		t.Errorf("remaining %d %v", n, err)
	}
	if n := count(t, db, `SELECT count(*) FROM members`); n != 1 {
		t.Errorf("members left %d, want 1 (another person's)", n)
	}
}
