package connectors

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redress/redress/workflows/deletion"
)

// Mapping tells the PostgreSQL connector where a subject's data lives and
// what to do with it. It is read from a JSON mapping file.
type Mapping struct {
	// HashSalt is mixed into "hash" columns, so a hashed value cannot be
	// matched against a list of phone numbers without it.
	HashSalt string  `json:"hash_salt"`
	Tables   []Table `json:"tables"`
}

// Table is one mapped table.
type Table struct {
	Name string `json:"name"`
	// Match names the columns holding the subject's identifiers.
	Match struct {
		Phone string `json:"phone"`
		// PhoneFormat says how the phone column stores a number: "digits"
		// (the default: any spelling — +86…, 86…, 0086…, 138-0013-8000 — by a
		// normalising expression), "national" (exactly 13800138000) or "e164"
		// (exactly +8613800138000), which an index on the column serves, or
		// "text" (free text that contains the number somewhere).
		PhoneFormat string `json:"phone_format"`
		Email       string `json:"email"`
	} `json:"match"`
	// Window is a timestamp column: a phone number matches only rows whose
	// Window lies inside the period the requester held the number.
	Window string `json:"window"`
	// Via matches rows that reference matching rows of a parent table.
	Via *Via `json:"via"`
	// Action is "delete" (the row) or "mask" (the Columns).
	Action string `json:"action"`
	// Columns of a mask: column → "null", "mask" (a fixed "***") or "hash".
	Columns map[string]string `json:"columns"`
	// Retention marks data under a legal retention floor: rows younger than
	// the floor are restricted until it ends, then deleted.
	Retention *Retention `json:"retention"`
}

// Via links a child table to its parent.
type Via struct {
	Column    string `json:"column"`
	Parent    string `json:"parent"`
	ParentKey string `json:"parent_key"`
}

// Retention is a legal retention floor on a table.
type Retention struct {
	Column         string `json:"column"`          // the time the floor counts from
	Months         int    `json:"months"`          // e.g. 6 for network logs
	RestrictColumn string `json:"restrict_column"` // set to the date the duty ends
	Citation       string `json:"citation"`
}

var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// LoadMapping reads and checks a mapping file.
func LoadMapping(path string) (Mapping, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Mapping{}, err
	}
	return ParseMapping(raw)
}

// ParseMapping decodes and checks a mapping.
func ParseMapping(raw []byte) (Mapping, error) {
	var m Mapping
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, fmt.Errorf("mapping: %w", err)
	}
	return m, m.check()
}

func (m Mapping) check() error {
	names := map[string]bool{}
	bad := func(format string, args ...any) error { return fmt.Errorf("mapping: "+format, args...) }
	for _, t := range m.Tables {
		if !ident.MatchString(t.Name) || names[t.Name] {
			return bad("table %q: not a plain lower-case name, or listed twice", t.Name)
		}
		names[t.Name] = true
		cols := t.columns()
		if t.Via != nil {
			if !names[t.Via.Parent] {
				return bad("table %s: via parent %q must be listed before it", t.Name, t.Via.Parent)
			}
			cols = append(cols, t.Via.ParentKey)
			if t.Via.Column == "" || t.Via.ParentKey == "" {
				return bad("table %s: via needs column and parent_key", t.Name)
			}
		} else if t.Match.Phone == "" && t.Match.Email == "" {
			return bad("table %s: needs match columns or via", t.Name)
		}
		if !slices.Contains([]string{"", PhoneDigits, PhoneNational, PhoneE164, PhoneText}, t.Match.PhoneFormat) {
			return bad("table %s: phone_format %q (digits, national, e164, text)", t.Name, t.Match.PhoneFormat)
		}
		switch t.Action {
		case deletion.ActionDelete:
		case deletion.ActionMask:
			if len(t.Columns) == 0 {
				return bad("table %s: mask needs columns", t.Name)
			}
			for c, how := range t.Columns {
				if !slices.Contains([]string{"null", "mask", "hash"}, how) {
					return bad("table %s column %s: action %q (null, mask, hash)", t.Name, c, how)
				}
			}
		default:
			return bad("table %s: action %q (delete, mask)", t.Name, t.Action)
		}
		if r := t.Retention; r != nil {
			if t.Action != deletion.ActionDelete || r.Months <= 0 || r.Column == "" || r.RestrictColumn == "" {
				return bad("table %s: retention needs action delete, months > 0, column and restrict_column", t.Name)
			}
		}
		for _, c := range cols {
			if c != "" && !ident.MatchString(c) {
				return bad("table %s: column %q is not a plain lower-case name", t.Name, c)
			}
		}
	}
	return nil
}

// Postgres is the PostgreSQL connector.
type Postgres struct {
	DB      *sql.DB
	Mapping Mapping

	// The tables in foreign-key order, read from the catalogue at most once
	// a minute rather than in every Apply (a bulk run applies thousands).
	orderMu   sync.Mutex
	ordered   []*Table
	orderedAt time.Time
}

// orderTTL is how long a foreign-key order read from the catalogue is used;
// a constraint added meanwhile fails an Apply, which drops the order so
// that the retry reads it again.
const orderTTL = time.Minute

func (m Mapping) table(name string) *Table {
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i]
		}
	}
	return nil
}

// query builds a condition with positional arguments.
type query struct{ args []any }

func (q *query) arg(v any) string { q.args = append(q.args, v); return fmt.Sprintf("$%d", len(q.args)) }

// match is the SQL condition selecting the subject's rows of t.
func (p *Postgres) match(q *query, t *Table, s Subject) string {
	if t.Via != nil {
		parent := p.Mapping.table(t.Via.Parent)
		return fmt.Sprintf("%s IN (SELECT %s FROM %s WHERE %s)", t.Via.Column, t.Via.ParentKey, parent.Name, p.match(q, parent, s))
	}
	var or []string
	if s.Phone != nil && t.Match.Phone != "" {
		c := phoneMatch(q, t.Match.Phone, t.Match.PhoneFormat, s.Phone.Number)
		if t.Window != "" && s.Phone.From != nil {
			c += " AND " + t.Window + " >= " + q.arg(*s.Phone.From)
		}
		if t.Window != "" && s.Phone.Until != nil {
			c += " AND " + t.Window + " < " + q.arg(*s.Phone.Until)
		}
		or = append(or, "("+c+")")
	}
	if s.Email != "" && t.Match.Email != "" {
		or = append(or, "lower("+t.Match.Email+") = "+q.arg(s.Email))
	}
	if len(or) == 0 {
		return "false"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// How a mapped phone column stores numbers (Table.Match.PhoneFormat).
const (
	PhoneDigits   = "digits"
	PhoneNational = "national"
	PhoneE164     = "e164"
	PhoneText     = "text"
)

// phoneMatch is the condition that column holds number (digits only, the
// national number for a mainland number) in the column's format. A
// mainland mobile number is 11 digits starting with 1.
func phoneMatch(q *query, column, format, number string) string {
	mainland := len(number) == 11 && number[0] == '1'
	switch format {
	case PhoneNational:
		return column + " = " + q.arg(number)
	case PhoneE164:
		if mainland {
			return column + " = " + q.arg("+86"+number)
		}
		return column + " = " + q.arg("+"+number)
	case PhoneText:
		// The digits with any separators between them, not inside a longer
		// run of digits, optionally after a country prefix.
		const sep = `[-. ()]*`
		prefix := `((\+|00)?86` + sep + `)?`
		if !mainland {
			prefix = `(\+|00)?`
		}
		return column + " ~ " + q.arg(`(^|[^0-9])`+prefix+strings.Join(strings.Split(number, ""), sep)+`([^0-9]|$)`)
	default: // PhoneDigits
		spellings := []string{number, "00" + number}
		if mainland {
			spellings = []string{number, "86" + number, "0086" + number}
		}
		return "regexp_replace(" + column + ", '[^0-9]', '', 'g') = ANY(" + q.arg(spellings) + ")"
	}
}

// masked is true for a row whose mask has been applied.
func masked(t *Table) string {
	var and []string
	for _, c := range sortedKeys(t.Columns) {
		switch t.Columns[c] {
		case "null":
			and = append(and, c+" IS NULL")
		case "mask":
			and = append(and, "coalesce("+c+"::text, '***') = '***'")
		case "hash":
			and = append(and, "coalesce("+c+"::text, 'h:') LIKE 'h:%'")
		}
	}
	return "(" + strings.Join(and, " AND ") + ")"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func floor(t *Table) string {
	return fmt.Sprintf("%s > now() - make_interval(months => %d)", t.Retention.Column, t.Retention.Months)
}

// Locate counts the subject's rows per table and digests them in the
// database (the rows never leave it), every table in one statement: one
// round trip however many tables the mapping has.
func (p *Postgres) Locate(ctx context.Context, s Subject) (Found, error) {
	var f Found
	tables := p.Mapping.Tables
	if len(tables) == 0 {
		f.Digest = digest()
		return f, nil
	}
	q := &query{}
	parts := make([]string, len(tables))
	n, young := make([]int64, len(tables)), make([]int64, len(tables))
	until, dg := make([]sql.NullTime, len(tables)), make([]string, len(tables))
	dest := make([]any, 0, 4*len(tables))
	for i := range tables {
		t := &tables[i]
		younger, restrictUntil := "0::bigint", "NULL::timestamptz"
		if t.Retention != nil {
			younger = "count(*) FILTER (WHERE " + floor(t) + ")"
			restrictUntil = fmt.Sprintf("max(%s + make_interval(months => %d)) FILTER (WHERE %s)", t.Retention.Column, t.Retention.Months, floor(t))
		}
		parts[i] = fmt.Sprintf(`(SELECT count(*), %s, %s,
			encode(sha256(convert_to(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), ''), 'UTF8')), 'hex')
			FROM %s t WHERE %s) t%d`, younger, restrictUntil, t.Name, p.match(q, t, s), i)
		dest = append(dest, &n[i], &young[i], &until[i], &dg[i])
	}
	// Each part is an aggregate: exactly one row, so the cross join is one row.
	if err := p.DB.QueryRowContext(ctx, "SELECT * FROM "+strings.Join(parts, ", "), q.args...).Scan(dest...); err != nil {
		return Found{}, fmt.Errorf("locate: %w", err)
	}
	digests := make([]string, len(tables))
	for i := range tables {
		t := &tables[i]
		digests[i] = t.Name + ":" + dg[i]
		if n[i] == 0 {
			continue
		}
		if t.Retention != nil && young[i] > 0 {
			u := until[i].Time.UTC()
			f.Items = append(f.Items, deletion.PlanItem{Target: t.Name, Action: deletion.ActionRestrict, Count: young[i], RestrictUntil: &u,
				Citation: t.Retention.Citation})
		}
		if n[i]-young[i] > 0 {
			f.Items = append(f.Items, deletion.PlanItem{Target: t.Name, Action: t.Action, Count: n[i] - young[i]})
		}
	}
	f.Digest = digest(digests...)
	return f, nil
}

// order lists the mapped tables children first, by the foreign keys the
// database declares, so no delete trips a constraint.
func (p *Postgres) order(ctx context.Context) ([]*Table, error) {
	p.orderMu.Lock()
	defer p.orderMu.Unlock()
	if p.ordered != nil && time.Since(p.orderedAt) < orderTTL {
		return p.ordered, nil
	}
	out, err := p.readOrder(ctx)
	if err != nil {
		return nil, err
	}
	p.ordered, p.orderedAt = out, time.Now()
	return out, nil
}

// forgetOrder makes the next apply read the order again.
func (p *Postgres) forgetOrder() {
	p.orderMu.Lock()
	defer p.orderMu.Unlock()
	p.ordered = nil
}

func (p *Postgres) readOrder(ctx context.Context) ([]*Table, error) {
	rows, err := p.DB.QueryContext(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
		FROM pg_constraint c WHERE c.contype = 'f'`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	children := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, err
		}
		if child != parent {
			children[parent] = append(children[parent], child)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*Table
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, c := range children[name] {
			visit(c)
		}
		if t := p.Mapping.table(name); t != nil {
			out = append(out, t)
		}
	}
	for _, t := range p.Mapping.Tables {
		visit(t.Name)
	}
	return out, nil
}

// Apply runs the step in one transaction of the customer database. Deleting
// or masking again matches nothing more, so a retry changes nothing.
func (p *Postgres) Apply(ctx context.Context, s Subject, step string, items []deletion.PlanItem) (Result, error) {
	want := map[string]bool{}
	for _, it := range items {
		want[it.Target] = true
	}
	tables, err := p.order(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("foreign key order: %w", err)
	}
	tx, err := p.DB.BeginTx(ctx, nil)
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = tx.Rollback() }()
	var total int64
	for _, t := range tables {
		if !want[t.Name] {
			continue
		}
		for _, stmt := range p.statements(t, s, step) {
			res, err := tx.ExecContext(ctx, stmt.sql, stmt.args...)
			if err != nil {
				p.forgetOrder()
				return Result{}, fmt.Errorf("apply to %s: %w", t.Name, err)
			}
			n, _ := res.RowsAffected()
			total += n
		}
	}
	if err := tx.Commit(); err != nil {
		return Result{}, err
	}
	return Result{Affected: total}, nil
}

type statement struct {
	sql  string
	args []any
}

func (p *Postgres) statements(t *Table, s Subject, step string) []statement {
	q := &query{}
	cond := p.match(q, t, s)
	if step == StepDeferred {
		if t.Retention == nil {
			return nil
		}
		return []statement{{fmt.Sprintf("DELETE FROM %s WHERE %s AND %s <= now()", t.Name, cond, t.Retention.RestrictColumn), q.args}}
	}
	switch {
	case t.Retention != nil:
		r := t.Retention
		return []statement{
			{fmt.Sprintf("DELETE FROM %s WHERE %s AND NOT (%s)", t.Name, cond, floor(t)), q.args},
			{fmt.Sprintf("UPDATE %s SET %s = %s + make_interval(months => %d) WHERE %s AND %s AND %s IS NULL",
				t.Name, r.RestrictColumn, r.Column, r.Months, cond, floor(t), r.RestrictColumn), q.args},
		}
	case t.Action == deletion.ActionDelete:
		return []statement{{fmt.Sprintf("DELETE FROM %s WHERE %s", t.Name, cond), q.args}}
	default:
		var set []string
		for _, c := range sortedKeys(t.Columns) {
			switch t.Columns[c] {
			case "null":
				set = append(set, c+" = NULL")
			case "mask":
				set = append(set, c+" = '***'")
			case "hash":
				set = append(set, fmt.Sprintf("%s = 'h:' || encode(sha256(convert_to(%s || %s::text, 'UTF8')), 'hex')", c, q.arg(p.Mapping.HashSalt), c))
			}
		}
		return []statement{{fmt.Sprintf("UPDATE %s SET %s WHERE %s AND NOT %s", t.Name, strings.Join(set, ", "), cond, masked(t)), q.args}}
	}
}

// Remaining counts rows that should be gone (or masked) after step, every
// table in one statement.
func (p *Postgres) Remaining(ctx context.Context, s Subject, step string) (int64, error) {
	q := &query{}
	counts := []string{"0"}
	for i := range p.Mapping.Tables {
		t := &p.Mapping.Tables[i]
		if step == StepDeferred && t.Retention == nil {
			continue // nothing of it waits for a floor (and no argument of it may reach the statement)
		}
		cond := p.match(q, t, s)
		switch {
		case t.Retention != nil && step == StepDeferred:
			cond += fmt.Sprintf(" AND (%s IS NULL OR %s <= now())", t.Retention.RestrictColumn, t.Retention.RestrictColumn)
		case t.Retention != nil:
			cond += " AND " + t.Retention.RestrictColumn + " IS NULL"
		case t.Action == deletion.ActionMask:
			cond += " AND NOT " + masked(t)
		}
		counts = append(counts, fmt.Sprintf("(SELECT count(*) FROM %s WHERE %s)", t.Name, cond))
	}
	var total int64
	if err := p.DB.QueryRowContext(ctx, "SELECT "+strings.Join(counts, " + "), q.args...).Scan(&total); err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	return total, nil
}
