package worker

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/complaint"
	"github.com/redress/redress/workflows/policy"
)

// statementLog holds the statements a database handle sent.
type statementLog struct {
	mu  sync.Mutex
	sql []string
}

func (l *statementLog) count() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.sql))
}

func (l *statementLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.sql...)
}

// logStatements records the statements db sends from now on.
func logStatements(t *testing.T, db *gorm.DB) *statementLog {
	t.Helper()
	l := &statementLog{}
	record := func(tx *gorm.DB) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.sql = append(l.sql, tx.Statement.SQL.String())
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("test:log", record),
		cb.Query().After("gorm:query").Register("test:log", record),
		cb.Update().After("gorm:update").Register("test:log", record),
		cb.Delete().After("gorm:delete").Register("test:log", record),
		cb.Row().After("gorm:row").Register("test:log", record),
		cb.Raw().After("gorm:raw").Register("test:log", record),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// countingSender notes the notice and how many statements its activity had
// sent by the time it reached the sender.
type countingSender struct {
	statements *statementLog
	before     int64
	notice     notify.Notice
	to         notify.Recipient
}

func (s *countingSender) Send(_ context.Context, to notify.Recipient, n notify.Notice) error {
	s.before, s.notice, s.to = s.statements.count(), n, to
	return nil
}

// Every new case sends an acknowledgement: it reads what it needs in three
// statements before the send (the pending row, the case with its
// complainant and resolution deadline, the subject's key), where it took
// six (the row written then read back; case, complainant, deadline and key
// one by one). The notice carries the same facts either way.
func TestAcknowledgementReadsItsFactsInOneStatement(t *testing.T) {
	db := pgtest.Open(t)
	keys := testKeyring(t)
	caseID := noticeCase(t, db, keys, "C-2026-S00001")
	if err := db.Exec(`INSERT INTO deadlines (case_id, kind, due_at, rule_id, citation) VALUES (?, 'resolution', ?, 'cn/R1', 'PIPL Art. 50')`,
		caseID, time.Now().Add(240*time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	sender := &countingSender{statements: logStatements(t, db)}
	a := &Activities{DB: db, Keys: keys, Sender: sender}
	in := complaint.NoticeInput{CaseID: caseID, Kind: complaint.NoticeAcknowledgement, DedupeKey: caseID + "/" + complaint.NoticeAcknowledgement}
	if err := a.SendNotice(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if sender.before != 3 {
		t.Errorf("the acknowledgement sent %d statements before it went out, want 3", sender.before)
	}
	got := sender.notice
	if got.CaseNumber != "C-2026-S00001" || got.Citation != "PIPL Art. 50" || got.Language == "" ||
		got.AckDueAt.IsZero() || got.ResolutionDueAt.IsZero() || sender.to.Email != "zhang@example.com" {
		t.Errorf("notice %+v to %+v: a fact of the case is missing", got, sender.to)
	}

	// A retry after the send finds the row sent and sends nothing again.
	sender.notice = notify.Notice{}
	if err := a.SendNotice(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if sender.notice.CaseNumber != "" {
		t.Error("the retry sent the acknowledgement a second time")
	}
}

// A new case's first workflow task loads it in two statements (the case,
// its deadlines); the duty-escalation check read the case a second time.
// Neither reads the case's sealed fields, which a workflow never needs.
func TestLoadCaseReadsTheCaseOnce(t *testing.T) {
	db := pgtest.Open(t)
	keys := testKeyring(t)
	caseID := noticeCase(t, db, keys, "C-2026-S00002")
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	log := logStatements(t, db)
	a := &Activities{DB: db, Keys: keys, Policy: policy.New(cals)}
	snap, err := a.LoadCase(context.Background(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	sent := log.all()
	if len(sent) != 2 {
		t.Errorf("LoadCase sent %d statements, want 2", len(sent))
	}
	for _, sql := range sent {
		if strings.Contains(sql, "_enc") || strings.Contains(sql, `SELECT * FROM "cases"`) {
			t.Errorf("LoadCase read more than it needs: %s", sql)
		}
	}
	if snap.CaseNumber != "C-2026-S00002" || snap.State != "received" {
		t.Errorf("snapshot %+v", snap)
	}
}
