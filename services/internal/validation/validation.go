// Package validation collects field-level problems of a request and turns
// them into one INVALID_ARGUMENT status that names every bad field.
package validation

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors accumulates field violations.
type Errors struct {
	violations []*errdetails.BadRequest_FieldViolation
}

// Add records that field is invalid for reason.
func (e *Errors) Add(field, reason string) {
	e.violations = append(e.violations, &errdetails.BadRequest_FieldViolation{Field: field, Description: reason})
}

// Addf records a formatted reason.
func (e *Errors) Addf(field, format string, args ...any) { e.Add(field, fmt.Sprintf(format, args...)) }

// Empty tells whether nothing was recorded.
func (e *Errors) Empty() bool { return len(e.violations) == 0 }

// Err returns nil, or an INVALID_ARGUMENT status whose message names each
// field and whose details carry a BadRequest for programs.
func (e *Errors) Err() error {
	if e.Empty() {
		return nil
	}
	parts := make([]string, len(e.violations))
	for i, v := range e.violations {
		parts[i] = v.Field + ": " + v.Description
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(parts, "; "))
	if withDetails, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: e.violations}); err == nil {
		st = withDetails
	}
	return st.Err()
}

// Invalid is a shortcut for a single bad field.
func Invalid(field, reason string) error {
	var e Errors
	e.Add(field, reason)
	return e.Err()
}

// Text checks a free-text field: valid UTF-8, no NUL or other control
// characters except tab and newlines, length within [min, max] runes.
func (e *Errors) Text(field, value string, min, max int) {
	if !utf8.ValidString(value) {
		e.Add(field, "must be valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(strings.TrimSpace(value))
	switch {
	case n < min && min == 1:
		e.Add(field, "is required")
		return
	case n < min:
		e.Addf(field, "must be at least %d characters", min)
		return
	case utf8.RuneCountInString(value) > max:
		e.Addf(field, "must be at most %d characters", max)
		return
	}
	for _, r := range value {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			e.Add(field, "must not contain control characters")
			return
		}
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// UUID checks that a required id is a UUID.
func (e *Errors) UUID(field, value string) {
	switch {
	case value == "":
		e.Add(field, "is required")
	case !uuidPattern.MatchString(value):
		e.Add(field, "must be a UUID")
	}
}

var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Phone checks an optional E.164 phone number.
func (e *Errors) Phone(field, value string) {
	if value != "" && !phonePattern.MatchString(value) {
		e.Add(field, "must be an E.164 number such as +8613800138000")
	}
}

// Email checks an optional email address.
func (e *Errors) Email(field, value string) {
	if value == "" {
		return
	}
	addr, err := mail.ParseAddress(value)
	if err != nil || addr.Address != value || len(value) > 254 {
		e.Add(field, "must be a plain email address such as name@example.com")
	}
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// IdempotencyKey checks a client idempotency key.
func (e *Errors) IdempotencyKey(field, value string) {
	if !keyPattern.MatchString(value) {
		e.Add(field, "must be 8 to 128 characters of letters, digits, '.', '_', ':' or '-'")
	}
}
