package connectors_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/redress/redress/services/internal/connectors"
)

// A customer database stores phone numbers however its developers chose.
// Each spelling of the requester's number must be found, erased and then
// verified gone; lookalikes (another number, a longer run of digits) must be
// left alone. Before phone formats, the connector compared the national
// digits with = and found none of the other spellings: locate found 0,
// verify found 0 remaining, and the certificate said the data was gone.
func TestPostgresMatchesEveryStoredPhoneFormat(t *testing.T) {
	ctx := context.Background()
	db := emptyCustomerDB(t)
	mine := []string{"13800138000", "+8613800138000", "8613800138000", "008613800138000", "138-0013-8000", "(+86) 138 0013 8000", "+86 138.0013.8000"}
	others := []string{"13800138001", "138001380001", "213800138000", "+8613900139000", "", "no number"}
	mustExec(t, db, `CREATE TABLE contacts (id serial PRIMARY KEY, phone text)`)
	mustExec(t, db, `CREATE TABLE e164_contacts (id serial PRIMARY KEY, phone text)`)
	mustExec(t, db, `CREATE TABLE tickets (id serial PRIMARY KEY, body text)`)
	for _, p := range append(append([]string{}, mine...), others...) {
		mustExec(t, db, `INSERT INTO contacts (phone) VALUES ($1)`, p)
	}
	mustExec(t, db, `INSERT INTO e164_contacts (phone) VALUES ('+8613800138000'), ('+8613900139000')`)
	for _, body := range []string{"my number 138 0013 8000 leaked, call me on +86-138-0013-8000", "ring 13800138000.",
		"order 9913800138000 shipped", "call 13800138001", "nothing here"} {
		mustExec(t, db, `INSERT INTO tickets (body) VALUES ($1)`, body)
	}
	pg := connectorFor(t, db, `{"tables":[
		{"name":"contacts","match":{"phone":"phone"},"action":"delete"},
		{"name":"e164_contacts","match":{"phone":"phone","phone_format":"e164"},"action":"delete"},
		{"name":"tickets","match":{"phone":"body","phone_format":"text"},"action":"delete"}]}`)
	s := connectors.Subject{DeletionID: "d", Phone: &connectors.Phone{Number: "13800138000"}}

	found, err := pg.Locate(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"contacts": int64(len(mine)), "e164_contacts": 1, "tickets": 2}
	got := map[string]int64{}
	for _, it := range found.Items {
		got[it.Target] += it.Count
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("located %d rows in %s, want %d (%v)", got[k], k, v, got)
		}
	}
	if _, err := pg.Apply(ctx, s, connectors.StepExecute, found.Items); err != nil {
		t.Fatal(err)
	}
	left, err := pg.Remaining(ctx, s, connectors.StepExecute)
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d rows remain after erasure", left)
	}
	if n := count(t, db, `SELECT count(*) FROM contacts`); n != int64(len(others)) {
		t.Errorf("contacts kept %d rows, want the %d lookalikes", n, len(others))
	}
	if n := count(t, db, `SELECT count(*) FROM contacts WHERE phone = ANY($1)`, others); n != int64(len(others)) {
		t.Errorf("a lookalike number was erased: %d of %d left", n, len(others))
	}
	if n := count(t, db, `SELECT count(*) FROM tickets`); n != 3 {
		t.Errorf("tickets kept %d rows, want 3", n)
	}
	if n := count(t, db, `SELECT count(*) FROM e164_contacts`); n != 1 {
		t.Errorf("e164_contacts kept %d rows, want 1", n)
	}

	if _, err := connectors.ParseMapping([]byte(`{"tables":[{"name":"a","match":{"phone":"p","phone_format":"guess"},"action":"delete"}]}`)); err == nil {
		t.Error("an unknown phone_format was accepted")
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
