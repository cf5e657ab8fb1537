package connectors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/outbound"
)

// Tester is a connector that can check, without reading or changing any
// requester's data, that its system is reachable and looks as its
// registration says. The error is the reason, readable by an administrator.
type Tester interface {
	Test(ctx context.Context) error
}

var (
	_ Tester = (*Postgres)(nil)
	_ Tester = (*Webhook)(nil)
	_ Tester = (*Manual)(nil)
	_ Tester = (*Redress)(nil)
)

// privileges are what each mapped table needs for its action.
func (t Table) privileges() []string {
	switch {
	case t.Retention != nil:
		return []string{"SELECT", "UPDATE", "DELETE"}
	case t.Action == "mask":
		return []string{"SELECT", "UPDATE"}
	}
	return []string{"SELECT", "DELETE"}
}

// Test checks, in a read-only transaction, that every mapped table and
// column exists and that the connector's database user may do the mapped
// action on it. It reads the catalogue only, never a row.
func (p *Postgres) Test(ctx context.Context) error {
	tx, err := p.DB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("cannot connect: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var problems []string
	for _, t := range p.Mapping.Tables {
		var missingJSON, colsJSON string
		err := tx.QueryRowContext(ctx, `SELECT
			(SELECT coalesce(json_agg(p), '[]') FROM unnest($2::text[]) p WHERE NOT has_table_privilege(c.oid, p)),
			(SELECT coalesce(json_agg(a.attname), '[]') FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
			FROM pg_class c WHERE c.oid = to_regclass($1)`, t.Name, "{"+strings.Join(t.privileges(), ",")+"}").Scan(&missingJSON, &colsJSON)
		if errors.Is(err, sql.ErrNoRows) {
			problems = append(problems, fmt.Sprintf("table %s does not exist", t.Name))
			continue
		}
		if err != nil {
			return fmt.Errorf("reading the catalogue for %s: %w", t.Name, err)
		}
		var missing, cols []string
		if json.Unmarshal([]byte(missingJSON), &missing) != nil || json.Unmarshal([]byte(colsJSON), &cols) != nil {
			return fmt.Errorf("reading the catalogue for %s: unexpected answer", t.Name)
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("table %s: the connector's database user lacks %s", t.Name, strings.Join(missing, ", ")))
		}
		for _, c := range t.columns() {
			if !slices.Contains(cols, c) {
				problems = append(problems, fmt.Sprintf("table %s has no column %s", t.Name, c))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// columns lists the columns of t itself that the mapping names (a via's
// parent key belongs to the parent table, which is checked on its own).
func (t Table) columns() []string {
	var out []string
	for _, c := range []string{t.Match.Phone, t.Match.Email, t.Window} {
		if c != "" {
			out = append(out, c)
		}
	}
	if t.Via != nil {
		out = append(out, t.Via.Column)
	}
	out = append(out, sortedKeys(t.Columns)...)
	if r := t.Retention; r != nil {
		out = append(out, r.Column, r.RestrictColumn)
	}
	return out
}

// Test sends one signed {"op":"test"} request (no subject) and expects a
// 2xx answer; it does not retry, so the answer is about this one attempt.
func (w *Webhook) Test(ctx context.Context) error {
	body, _ := json.Marshal(webhookMessage{Op: "test"})
	client := w.client()
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	_, err := w.once(ctx, client, timeout, body)
	return err
}

// Test of a manual connector: a person does the work, nothing to reach.
func (m *Manual) Test(ctx context.Context) error { return nil }

// Test of Redress's own data: intake's erasure service answers this
// credential (a lookup of a hash no identifier has).
func (r *Redress) Test(ctx context.Context) error {
	_, err := r.Intake.Locate(ctx, &intakev1.LocateRequest{Subject: &intakev1.ErasureSubject{
		DeletionRequestId: "00000000-0000-0000-0000-000000000000", EmailIndex: make([]byte, 32)}})
	if err != nil {
		return fmt.Errorf("intake's erasure service does not answer: %w", err)
	}
	return nil
}

// transportReason names the kind of a failed HTTPS exchange without the
// request itself (no body, no header).
func transportReason(err error, timeout time.Duration) string {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var tlsAlert tls.AlertError
	var recordHeader tls.RecordHeaderError
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, outbound.ErrPrivateAddress):
		return "internal address refused (not allowed for this connector: allow_private)"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &certInvalid):
		return "TLS certificate not accepted: " + tlsDetail(err)
	case errors.As(err, &tlsAlert), errors.As(err, &recordHeader):
		return "TLS handshake failed"
	case errors.As(err, &dnsErr):
		return "host name not found"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "cannot connect (refused or unreachable)"
	}
	return "transport failure"
}

func tlsDetail(err error) string {
	var hostname x509.HostnameError
	if errors.As(err, &hostname) {
		return "it is not valid for this host name"
	}
	var certInvalid x509.CertificateInvalidError
	if errors.As(err, &certInvalid) {
		return "it is expired or not valid for this use"
	}
	return "signed by an unknown authority"
}
