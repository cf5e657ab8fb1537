package console

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/calendars"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/workflows/calendar"
)

func (c *client) upload(path, csrf, field, name string, content []byte) (int, string) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", csrf)
	fw, _ := mw.CreateFormFile(field, name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// An administrator uploads the 2027 calendar; it waits, without buttons for
// its loader; a second administrator confirms it and the year shows as an
// official calendar with the notice's date and both names. A compliance
// officer may look, an agent may not.
func TestCalendarsPageLoadAndConfirm(t *testing.T) {
	e := newEnv(t, func(e *Env, c *Config) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		set, err := calendar.LoadEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		gs := grpcserver.New(log, grpcserver.NewMetrics(), access.Guard{Auth: e.Store})
		calendarv1.RegisterCalendarServiceServer(gs.GRPC, &calendars.Server{DB: e.DB, Store: &calendars.Store{DB: e.DB, Set: set}, Log: log})
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
		c.Calendar = calendarv1.NewCalendarServiceClient(conn)
	})
	for _, u := range []identity.NewUser{
		{Username: "admin.two", Role: access.Admin, Password: testPassword},
		{Username: "officer.chen", Role: access.ComplianceOfficer, Password: testPassword},
	} {
		if _, err := e.Store.AddUser(context.Background(), "test", u); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.ReadFile("../internal/calendars/testdata/cn-2027.json")
	if err != nil {
		t.Fatal(err)
	}

	agent := e.client(t)
	agent.signIn("agent.li", testPassword)
	if code, _ := agent.get("/calendars"); code != http.StatusForbidden {
		t.Fatalf("agent on the calendars page: %d", code)
	}

	admin := e.client(t)
	admin.signIn("admin", testPassword)
	code, page := admin.get("/calendars")
	if code != http.StatusOK || !regexp.MustCompile(`id="year-2027" data-basis="statutory"`).MatchString(page) ||
		!strings.Contains(page, `id="year-2026" data-basis="shipped"`) || !strings.Contains(page, `id="nav-calendars"`) {
		t.Fatalf("calendars page before the load: %d\n%s", code, page)
	}
	// A bad file is refused with the field named, nothing loaded.
	bad := bytes.Replace(file, []byte(`"days_off": 5`), []byte(`"days_off": 4`), 1)
	if code, page := admin.upload("/calendars", csrfOf(t, page), "file", "2027.json", bad); code != http.StatusBadRequest ||
		!strings.Contains(page, "file.holidays[0].days_off") {
		t.Fatalf("bad file: %d\n%s", code, page)
	}
	if code, _ := admin.upload("/calendars", csrfOf(t, page), "file", "2027.json", file); code != http.StatusOK { // after the redirect
		t.Fatalf("upload: %d", code)
	}
	_, page = admin.get("/calendars")
	id := regexp.MustCompile(`id="load-([0-9a-f-]{36})"`).FindStringSubmatch(page)
	if id == nil || strings.Contains(page, "/calendars/"+id[1]+"/confirm") {
		t.Fatalf("pending load for its loader (no confirm button expected):\n%s", page)
	}
	// Even posted by hand, the loader's confirmation is refused.
	if code, page := admin.post("/calendars/"+id[1]+"/confirm", url.Values{"csrf": {csrfOf(t, page)}}); code != http.StatusForbidden ||
		!strings.Contains(page, "another administrator") {
		t.Fatalf("confirm by the loader: %d\n%s", code, page)
	}

	officer := e.client(t)
	officer.signIn("officer.chen", testPassword)
	if code, page := officer.get("/calendars"); code != http.StatusOK || strings.Contains(page, "/confirm") || strings.Contains(page, `id="calendar-upload"`) {
		t.Fatalf("officer's view: %d\n%s", code, page)
	}

	second := e.client(t)
	second.signIn("admin.two", testPassword)
	_, page = second.get("/calendars")
	if !strings.Contains(page, "/calendars/"+id[1]+"/confirm") {
		t.Fatalf("no confirm button for a second administrator:\n%s", page)
	}
	if code, _ := second.post("/calendars/"+id[1]+"/confirm", url.Values{"csrf": {csrfOf(t, page)}}); code != http.StatusOK {
		t.Fatalf("confirm: %d", code)
	}
	_, page = officer.get("/calendars")
	row := regexp.MustCompile(`(?s)<tr id="year-2027" data-basis="loaded">.*?</tr>`).FindString(page)
	if row == "" || !strings.Contains(row, "2026-11-20") || !strings.Contains(row, "admin.two") || !strings.Contains(row, ">admin<") {
		t.Fatalf("2027 after confirmation: %q\n%s", row, page)
	}
}
