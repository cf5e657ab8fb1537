// Package customertest builds a small operator "customer database" for tests
// and benchmarks of the PostgreSQL connector: accounts, their orders, call
// detail logs under a 6-month retention floor and a marketing list.
package customertest

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Schema creates the customer tables.
const Schema = `
CREATE TABLE accounts (id bigint PRIMARY KEY, name text, phone text, email text, created_at timestamptz NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts(id), item text NOT NULL, ship_to text, created_at timestamptz NOT NULL);
CREATE TABLE call_logs (id bigint PRIMARY KEY, caller text NOT NULL, callee text NOT NULL, started_at timestamptz NOT NULL, restricted_until timestamptz);
CREATE TABLE marketing_list (id bigint PRIMARY KEY, name text, phone text, email text);
CREATE INDEX ON accounts (phone); CREATE INDEX ON accounts (lower(email)); CREATE INDEX ON orders (account_id);
CREATE INDEX ON call_logs (caller); CREATE INDEX ON marketing_list (phone); CREATE INDEX ON marketing_list (lower(email));
`

// Mapping is the connector mapping of the customer database.
const Mapping = `{
  "hash_salt": "test-salt",
  "tables": [
    {"name": "accounts", "match": {"phone": "phone", "phone_format": "national", "email": "email"}, "window": "created_at", "action": "delete"},
    {"name": "orders", "via": {"column": "account_id", "parent": "accounts", "parent_key": "id"}, "action": "delete"},
    {"name": "call_logs", "match": {"phone": "caller", "phone_format": "national"}, "window": "started_at", "action": "delete",
     "retention": {"column": "started_at", "months": 6, "restrict_column": "restricted_until", "citation": "CSL 2016 Art. 21(3)"}},
    {"name": "marketing_list", "match": {"phone": "phone", "phone_format": "national", "email": "email"}, "action": "mask",
     "columns": {"name": "mask", "phone": "hash", "email": "null"}}
  ]
}`

// Person i's identifiers.
func Phone(i int) string { return fmt.Sprintf("139%08d", i) }
func Email(i int) string { return fmt.Sprintf("person%d@example.com", i) }

// Per person: 1 account, 2 orders, 2 old call logs (8 months), 1 recent (1
// month), 1 marketing entry.
const (
	OrdersPer = 2
	OldLogs   = 2
	NewLogs   = 1
)

// Seed creates the schema and people 0..n-1, their data dated relative to now.
func Seed(ctx context.Context, db *sql.DB, n int, now time.Time) error {
	if _, err := db.ExecContext(ctx, Schema); err != nil {
		return err
	}
	since := now.AddDate(-2, 0, 0)
	phone := `'139' || lpad(i::text, 8, '0')`
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO accounts SELECT i, 'Person ' || i, ` + phone + `, 'person' || i || '@example.com', $1 FROM generate_series(0, $2 - 1) i`, []any{since, n}},
		{`INSERT INTO orders SELECT i * 10 + k, i, 'item', 'address of ' || i, $1 FROM generate_series(0, $2 - 1) i, generate_series(1, 2) k`, []any{since, n}},
		{`INSERT INTO call_logs SELECT i * 10 + k, ` + phone + `, '10086', $1::timestamptz - make_interval(months => 8, days => k), NULL FROM generate_series(0, $2 - 1) i, generate_series(1, 2) k`, []any{now, n}},
		{`INSERT INTO call_logs SELECT i * 10 + 5, ` + phone + `, '10010', $1::timestamptz - make_interval(months => 1), NULL FROM generate_series(0, $2 - 1) i`, []any{now, n}},
		{`INSERT INTO marketing_list SELECT i, 'Person ' || i, ` + phone + `, 'person' || i || '@example.com' FROM generate_series(0, $1 - 1) i`, []any{n}},
	}
	for _, st := range stmts {
		if _, err := db.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}

// SeedPreviousHolder adds an account and call logs of someone who held
// person i's phone number before heldFrom (a reassigned number).
func SeedPreviousHolder(ctx context.Context, db *sql.DB, i int, heldFrom time.Time) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO accounts VALUES (900000000 + $1, 'Previous holder', $2, 'previous@example.com', $3::timestamptz - interval '400 days');
		`, i, Phone(i), heldFrom)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO call_logs VALUES (900000000 + $1, $2, '12345', $3::timestamptz - interval '30 days', NULL)`, i, Phone(i), heldFrom)
	return err
}
