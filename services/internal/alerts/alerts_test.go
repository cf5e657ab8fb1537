package alerts_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/pgtest"
)

const pw = "correct horse battery"

func as(bearer string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+bearer)
}

// rig serves AlertService behind the access guard on a real socket, as the
// intake process does, on intake's database role.
type rig struct {
	ids    *identity.Store
	store  *alerts.Store
	client identityv1.AlertServiceClient
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := pgtest.As(t, pgtest.Open(t), "redress_intake_app")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &rig{ids: &identity.Store{DB: db, Log: log}, store: &alerts.Store{DB: db, Log: log}}
	gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: r.ids})
	identityv1.RegisterAlertServiceServer(gs.GRPC, &alerts.Server{Store: r.store})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = gs.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	r.client = identityv1.NewAlertServiceClient(conn)
	return r
}

// person adds an account of role and answers a credential of its own.
func (r *rig) person(t *testing.T, username string, role access.Role) string {
	t.Helper()
	ctx := context.Background()
	if _, err := r.ids.AddUser(ctx, "test", identity.NewUser{Username: username, Role: role, Password: pw}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := r.ids.IssueToken(ctx, username, username, "test", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// People read and mark only their own alerts: another person's alert id is
// NOT_FOUND and stays unread; a service account reads no alerts, a person
// raises none, and the deletion service raises with its own credential.
func TestAlertServiceKeepsAlertsToTheirOwner(t *testing.T) {
	r := newRig(t)
	li := r.person(t, "agent.li", access.Agent)
	wu := r.person(t, "agent.wu", access.Agent)
	svc, err := r.ids.ServiceCredential(context.Background(), "test", "svc.deletion", "Deletion", access.DeletionService, "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"agent.li", "agent.wu"} {
		if _, err := r.store.Raise(context.Background(), alerts.Event{Kind: alerts.CaseOverdue, Key: "case/1/breach/" + who,
			SubjectType: "case", SubjectRef: "C-1", Link: "/cases/1", Assignee: who}); err != nil {
			t.Fatal(err)
		}
	}
	mine, err := r.client.ListMyAlerts(as(li), &identityv1.ListMyAlertsRequest{})
	if err != nil || len(mine.Alerts) != 1 {
		t.Fatalf("agent.li's alerts: %v %v", mine, err)
	}
	theirs, err := r.client.ListMyAlerts(as(wu), &identityv1.ListMyAlertsRequest{UnreadOnly: true})
	if err != nil || len(theirs.Alerts) != 1 || theirs.Alerts[0].Id == mine.Alerts[0].Id {
		t.Fatalf("agent.wu's alerts: %v %v", theirs, err)
	}
	_, err = r.client.MarkRead(as(li), &identityv1.MarkReadRequest{Ids: []int64{theirs.Alerts[0].Id}})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("marking another person's alert: %v, want NOT_FOUND", err)
	}
	_, err = r.client.MarkRead(as(li), &identityv1.MarkReadRequest{Ids: []int64{mine.Alerts[0].Id, theirs.Alerts[0].Id}})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("marking one's own and another's: %v, want NOT_FOUND", err)
	}
	if n, err := r.client.CountUnread(as(wu), &identityv1.CountUnreadRequest{}); err != nil || n.Unread != 1 {
		t.Fatalf("agent.wu's unread after agent.li tried: %v %v", n, err)
	}
	if n, err := r.client.MarkRead(as(li), &identityv1.MarkReadRequest{All: true}); err != nil || n.Marked != 1 {
		t.Fatalf("mark all: %v %v", n, err)
	}
	if n, _ := r.client.CountUnread(as(wu), &identityv1.CountUnreadRequest{}); n.GetUnread() != 1 {
		t.Fatalf("agent.li's mark-all touched agent.wu's: %v", n)
	}
	if n, _ := r.client.CountUnread(as(li), &identityv1.CountUnreadRequest{}); n.GetUnread() != 0 {
		t.Fatalf("agent.li's unread after mark-all: %v", n)
	}

	if _, err := r.client.ListMyAlerts(as(svc), &identityv1.ListMyAlertsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a service account lists alerts: %v", err)
	}
	raise := &identityv1.RaiseAlertRequest{Kind: identityv1.AlertKind_ALERT_KIND_CASE_OVERDUE, EventKey: "case/2/breach",
		SubjectType: "case", SubjectRef: "C-2", Link: "/cases/2", Assignee: "agent.wu"}
	if _, err := r.client.RaiseAlert(as(li), raise); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a person raises an alert: %v", err)
	}
	for i := range 2 {
		res, err := r.client.RaiseAlert(as(svc), raise)
		if err != nil || int(res.Added) != 1-i {
			t.Fatalf("raise %d: %v %v", i, res, err)
		}
	}
	bad := &identityv1.RaiseAlertRequest{Kind: identityv1.AlertKind_ALERT_KIND_CASE_OVERDUE, SubjectType: "case", SubjectRef: "C-2"}
	if _, err := r.client.RaiseAlert(as(svc), bad); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "event_key") {
		t.Fatalf("raise without an event key: %v", err)
	}
}

// Preferences are one's own: set, read back, defaults for the rest; a
// kind turned off for the console leaves the alert out of the list and the
// count.
func TestPreferencesOwnAndApplied(t *testing.T) {
	r := newRig(t)
	li := r.person(t, "agent.li", access.Agent)
	got, err := r.client.GetPreferences(as(li), &identityv1.GetPreferencesRequest{})
	if err != nil || len(got.Preferences) != len(alerts.Kinds) {
		t.Fatalf("defaults: %v %v", got, err)
	}
	_, err = r.client.SetPreferences(as(li), &identityv1.SetPreferencesRequest{Preferences: []*identityv1.AlertPreference{
		{Kind: identityv1.AlertKind_ALERT_KIND_CASE_AT_RISK, Console: false, Email: false}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Raise(context.Background(), alerts.Event{Kind: alerts.CaseAtRisk, Key: "case/1/reminder/1",
		SubjectType: "case", SubjectRef: "C-1", Assignee: "agent.li"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.client.CountUnread(as(li), &identityv1.CountUnreadRequest{}); n.GetUnread() != 0 {
		t.Fatalf("an alert of a kind turned off for the console is counted: %v", n)
	}
	_, err = r.client.SetPreferences(as(li), &identityv1.SetPreferencesRequest{Preferences: []*identityv1.AlertPreference{{Kind: 99}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "preferences[0].kind") {
		t.Fatalf("unknown kind: %v", err)
	}
}

// From 1 October (Beijing time) of a year, the administrators are warned
// once that next year has no official holiday calendar; not before, and not
// for a year that has one.
func TestCalendarWarningOncePerYearWithoutFile(t *testing.T) {
	r := newRig(t)
	r.person(t, "admin.zhao", access.Admin)
	r.person(t, "agent.li", access.Agent)
	official := map[int]bool{2026: true}
	now := time.Date(2025, 9, 30, 15, 59, 0, 0, time.UTC) // 23:59 on 30 September in Beijing
	c := alerts.CalendarCheck{Alerts: alerts.Local{Store: r.store}, Official: func(y int) bool { return official[y] },
		Now: func() time.Time { return now }}
	count := func() (n int64) {
		r.store.DB.Model(&alerts.Alert{}).Where("kind = 'calendar_missing'").Count(&n)
		return n
	}
	check := func() {
		t.Helper()
		if err := c.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	check()
	if count() != 0 {
		t.Fatal("warned before 1 October")
	}
	now = now.Add(2 * time.Minute) // 1 October 2025 in Beijing: 2026 has its official calendar
	check()
	if count() != 0 {
		t.Fatal("warned about 2026, which has an official calendar")
	}
	now = time.Date(2026, 10, 1, 1, 0, 0, 0, time.UTC) // 2027 has none
	for range 3 {
		check()
		now = now.Add(24 * time.Hour)
	}
	var got []alerts.Alert
	r.store.DB.Find(&got, "kind = 'calendar_missing'")
	if len(got) != 1 || got[0].Recipient != "admin.zhao" || got[0].SubjectRef != "2027" {
		t.Fatalf("warnings %+v, want one for admin.zhao about 2027", got)
	}
}

// Who hears of the new kinds: a deadline moved earlier goes to the case's
// assignee and the supervisors, or for a deletion request to those who may
// approve plans or complete their tasks; a complainant's message goes to
// the assignee alone, to the supervisors while the case has none.
func TestRecipientsOfMovedDeadlinesAndComplainantMessages(t *testing.T) {
	r := newRig(t)
	r.person(t, "agent.li", access.Agent)
	r.person(t, "agent.wu", access.Agent)
	r.person(t, "sup.wang", access.Supervisor)
	r.person(t, "officer.he", access.ComplianceOfficer)
	for _, e := range []alerts.Event{
		{Kind: alerts.DeadlineMovedEarlier, Key: "moved/case", SubjectType: "case", SubjectRef: "C-1", Assignee: "agent.li"},
		{Kind: alerts.DeadlineMovedEarlier, Key: "moved/deletion", SubjectType: "deletion_request", SubjectRef: "DR-1"},
		{Kind: alerts.ComplainantWrote, Key: "wrote/assigned", SubjectType: "case", SubjectRef: "C-1", Assignee: "agent.li"},
		{Kind: alerts.ComplainantWrote, Key: "wrote/unassigned", SubjectType: "case", SubjectRef: "C-2"},
	} {
		if _, err := r.store.Raise(context.Background(), e); err != nil {
			t.Fatalf("%s: %v", e.Key, err)
		}
	}
	var rows []alerts.Alert
	r.store.DB.Order("event_key, recipient").Find(&rows)
	var got []string
	for _, a := range rows {
		got = append(got, a.EventKey+":"+a.Recipient)
	}
	want := "moved/case:agent.li,moved/case:sup.wang,moved/deletion:agent.li,moved/deletion:agent.wu,moved/deletion:sup.wang," +
		"wrote/assigned:agent.li,wrote/unassigned:sup.wang"
	if strings.Join(got, ",") != want {
		t.Fatalf("recipients\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}
