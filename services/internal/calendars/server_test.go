package calendars

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
)

// now: 2026-12-01 in Shanghai, before the 2027 notice is in force.
var now = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/cn-2027.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newServer(t *testing.T) (*Server, *gorm.DB) {
	t.Helper()
	db := pgtest.Open(t)
	set, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	return &Server{DB: db, Store: &Store{DB: db, Set: set, Log: log}, Log: log, Now: func() time.Time { return now }}, db
}

func as(actor string) context.Context { return access.WithActor(context.Background(), actor) }

func auditCount(t *testing.T, db *gorm.DB, action, objectID string) int64 {
	t.Helper()
	var n int64
	if err := db.Table("audit_entries").Where("action = ? AND object_id = ?", action, objectID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// One administrator loads 2027; the same one cannot confirm it; a second
// one does, and the year counts on the notice from then on.
func TestLoadThenConfirmBySecondAdmin(t *testing.T) {
	s, db := newServer(t)
	if _, known := s.Store.Set.IsWorkingDay("cn", calendar.NewDate(2027, 1, 4)); known {
		t.Fatal("2027 already known before any load")
	}
	loaded, err := s.Load(as("admin.li"), &calendarv1.LoadRequest{File: fixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	l := loaded.GetLoad()
	if l.GetStatus() != calendarv1.LoadStatus_LOAD_STATUS_PENDING || l.GetYear() != 2027 || l.GetLoadedBy() != "admin.li" ||
		l.GetNoticeDate() != "2026-11-20" || len(l.GetSha256()) != 64 || l.GetHolidays() != 1 || l.GetMakeupWorkdays() != 1 {
		t.Fatalf("load: %+v", l)
	}
	if n := auditCount(t, db, "calendar.loaded", l.GetId()); n != 1 {
		t.Fatalf("calendar.loaded audit entries: %d", n)
	}
	// Pending: not in force.
	if err := s.Store.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, known := s.Store.Set.IsWorkingDay("cn", calendar.NewDate(2027, 1, 4)); known {
		t.Fatal("a pending load is in force")
	}

	_, err = s.Confirm(as("admin.li"), &calendarv1.ConfirmRequest{LoadId: l.GetId()})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("confirm by the loader: %v, want PermissionDenied", err)
	}
	var st string
	if err := db.Raw("SELECT status FROM calendar_loads WHERE id = ?", l.GetId()).Scan(&st).Error; err != nil || st != StatusPending {
		t.Fatalf("after the loader's confirm: %q %v", st, err)
	}

	conf, err := s.Confirm(as("admin.wang"), &calendarv1.ConfirmRequest{LoadId: l.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if c := conf.GetLoad(); c.GetStatus() != calendarv1.LoadStatus_LOAD_STATUS_CONFIRMED || c.GetDecidedBy() != "admin.wang" || c.GetDecidedAt() == nil {
		t.Fatalf("confirmed: %+v", c)
	}
	if n := auditCount(t, db, "calendar.confirmed", l.GetId()); n != 1 {
		t.Fatalf("calendar.confirmed audit entries: %d", n)
	}
	// In force here at once: 4 January 2027 (a Monday) is now a holiday.
	if w, known := s.Store.Set.IsWorkingDay("cn", calendar.NewDate(2027, 1, 4)); w || !known {
		t.Fatalf("2027-01-04 after confirmation: working %v known %v", w, known)
	}
	// And in another process's set at its next refresh.
	other := &Store{DB: db, Set: calendar.NewSet()}
	if err := other.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w, known := other.Set.IsWorkingDay("cn", calendar.NewDate(2027, 1, 9)); !w || !known {
		t.Fatalf("make-up Saturday in another process: working %v known %v", w, known)
	}

	if _, err := s.Confirm(as("admin.zhao"), &calendarv1.ConfirmRequest{LoadId: l.GetId()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second confirmation: %v, want FailedPrecondition", err)
	}
	list, err := s.List(as("officer.chen"), &calendarv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	basis := map[int32]calendarv1.YearBasis{}
	for _, y := range list.GetYears() {
		basis[y.GetYear()] = y.GetBasis()
	}
	if basis[2026] != calendarv1.YearBasis_YEAR_BASIS_SHIPPED || basis[2027] != calendarv1.YearBasis_YEAR_BASIS_LOADED {
		t.Fatalf("years: %v", list.GetYears())
	}
	if len(list.GetLoads()) != 1 || list.GetLoads()[0].GetId() != l.GetId() {
		t.Fatalf("loads: %v", list.GetLoads())
	}
}

// A rejected load stays on record and never comes into force; the loader
// cannot reject their own load either.
func TestRejectedLoadStaysOnRecord(t *testing.T) {
	s, db := newServer(t)
	loaded, err := s.Load(as("admin.li"), &calendarv1.LoadRequest{File: fixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	id := loaded.GetLoad().GetId()
	if _, err := s.Reject(as("admin.li"), &calendarv1.RejectRequest{LoadId: id, Reason: "typo"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("reject by the loader: %v", err)
	}
	if _, err := s.Reject(as("admin.wang"), &calendarv1.RejectRequest{LoadId: id}); !names(err, "reason") {
		t.Fatalf("reject without a reason: %v", err)
	}
	rej, err := s.Reject(as("admin.wang"), &calendarv1.RejectRequest{LoadId: id, Reason: "Mid-Autumn dates do not match the notice"})
	if err != nil {
		t.Fatal(err)
	}
	if rej.GetLoad().GetStatus() != calendarv1.LoadStatus_LOAD_STATUS_REJECTED || auditCount(t, db, "calendar.rejected", id) != 1 {
		t.Fatalf("rejected: %+v", rej.GetLoad())
	}
	if err := s.Store.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, known := s.Store.Set.IsWorkingDay("cn", calendar.NewDate(2027, 1, 4)); known {
		t.Fatal("a rejected load is in force")
	}
	if _, err := s.Confirm(as("admin.zhao"), &calendarv1.ConfirmRequest{LoadId: id}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("confirm after rejection: %v", err)
	}
	// The same file may be loaded again after a rejection.
	if _, err := s.Load(as("admin.li"), &calendarv1.LoadRequest{File: fixture(t)}); err != nil {
		t.Fatalf("reload after rejection: %v", err)
	}
	if _, err := s.Load(as("admin.li"), &calendarv1.LoadRequest{File: fixture(t)}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("same file loaded twice while pending: %v", err)
	}
}

// names reports whether err is INVALID_ARGUMENT naming field in its details.
func names(err error, field string) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

// A bad file is refused naming the field, and nothing is written.
func TestBadFileRefusedNamingTheField(t *testing.T) {
	s, db := newServer(t)
	good := string(fixture(t))
	bad := []struct{ name, file, field string }{
		{"empty", "", "file"},
		{"not json", "{", "file"},
		{"days_off", strings.Replace(good, `"days_off": 5`, `"days_off": 4`, 1), "file.holidays[0].days_off"},
		{"weekday", strings.Replace(good, `"Saturday"`, `"Sunday"`, 1), "file.makeup_workdays[0].weekday"},
		{"year too far", `{"jurisdiction":"cn","year":2031,"source":"State Council notice of 2026-11-20 (a notice for 2031)"}`, "file.year"},
		{"jurisdiction", strings.Replace(good, `"cn"`, `"eu"`, 1), "file.jurisdiction"},
		{"no notice date", strings.Replace(good, "of 2026-11-20 ", "", 1), "file.source"},
		{"notice in the future", strings.Replace(good, "2026-11-20", "2026-12-20", 1), "file.source"},
		{"no source", strings.Replace(good, `"source": "State Council notice of 2026-11-20 (国务院办公厅关于2027年部分节假日安排的通知) — test fixture",`, "", 1), "file.source"},
		{"too big", good + strings.Repeat(" ", MaxFileBytes), "file"},
	}
	for _, c := range bad {
		_, err := s.Load(as("admin.li"), &calendarv1.LoadRequest{File: []byte(c.file)})
		if !names(err, c.field) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT naming %s", c.name, err, c.field)
		}
	}
	var loads, entries int64
	db.Table("calendar_loads").Count(&loads)
	db.Table("audit_entries").Where("action LIKE 'calendar.%'").Count(&entries)
	if loads != 0 || entries != 0 {
		t.Fatalf("refused files left %d loads and %d audit entries", loads, entries)
	}
}

// The cases a 2027 calendar can move: open, with a running deadline whose
// count reaches into 2027; the sweep leaves out those recomputed since the
// calendar's confirmation.
func TestAffectedCases(t *testing.T) {
	_, db := newServer(t)
	sh := calendar.Shanghai()
	add := func(state, status string, received, due time.Time) string {
		t.Helper()
		id, comp, key := uuid.NewString(), uuid.NewString(), uuid.NewString()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO subject_keys (id, wrapped_key) VALUES (?, '\x00')`, []any{key}},
			{`INSERT INTO complainants (id, subject_key_id) VALUES (?, ?)`, []any{comp, key}},
			{`INSERT INTO cases (id, case_number, kind, category, channel, state, complainant_id, description, policy_pack,
				ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
				VALUES (?, ?, 'complaint', 'spam_sms', 'web_form', ?, ?, 'x', 'cn', ?, ?, '\x00', ?, ?)`,
				[]any{id, "C-" + id[:8], state, comp, due, due, received, received}},
			{`INSERT INTO deadlines (case_id, kind, due_at, rule_id, citation, status) VALUES (?, 'resolution', ?, 'cn/A1', 'x', ?)`,
				[]any{id, due, status}},
		} {
			if err := db.Exec(q.sql, q.args...).Error; err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	dec17, jan9 := time.Date(2026, 12, 17, 10, 0, 0, 0, sh), time.Date(2027, 1, 9, 0, 0, 0, 0, sh)
	spans := add("in_progress", "open", dec17, jan9)
	paused := add("awaiting_complainant", "paused", dec17, jan9)
	add("in_progress", "open", time.Date(2026, 11, 2, 10, 0, 0, 0, sh), time.Date(2026, 11, 24, 0, 0, 0, 0, sh)) // all in 2026
	add("closed", "met", dec17, jan9)
	add("in_progress", "breached", dec17, jan9)
	got, err := AffectedCases(context.Background(), db, 2027, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{spans, paused}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("affected: %v, want %v", got, want)
	}
	confirmed := time.Now().Add(-time.Minute)
	if err := db.Exec(`INSERT INTO case_actions (action_id, case_id, action, from_state, to_state, actor, applied_at)
		VALUES ('r-1', ?, 'recompute_deadlines', 'in_progress', 'in_progress', 'admin.wang', now())`, spans).Error; err != nil {
		t.Fatal(err)
	}
	if got, err = AffectedCases(context.Background(), db, 2027, confirmed); err != nil || !slices.Equal(got, []string{paused}) {
		t.Fatalf("not yet recomputed since the confirmation: %v %v, want [%s]", got, err, paused)
	}
}
