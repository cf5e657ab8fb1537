package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/pgtest"
)

func appendN(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	for i := range n {
		err := db.Transaction(func(tx *gorm.DB) error {
			_, err := Append(tx, Entry{Actor: "agent.li", Action: "case.note_added", ObjectType: "case",
				ObjectID: fmt.Sprintf("c-%d", i%3), AfterDigest: Digest(i), Details: map[string]any{"n": i, "b": "x"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, db *gorm.DB, o VerifyOptions) Result {
	t.Helper()
	res, err := Verify(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// tamper runs statements as the table owner would, behind the append-only
// trigger, on the database of url (a runtime URL from pgtest).
func tamper(t *testing.T, url string, stmts ...string) {
	t.Helper()
	db := pgtest.OpenURL(t, pgtest.OwnerURL(url))
	all := append([]string{"ALTER TABLE audit_entries DISABLE TRIGGER USER"}, stmts...)
	all = append(all, "ALTER TABLE audit_entries ENABLE TRIGGER USER")
	for _, s := range all {
		if err := db.Exec(s).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func TestChainVerifiesAndRecordsRoundTrip(t *testing.T) {
	db := pgtest.Open(t)
	appendN(t, db, 7)
	res := verify(t, db, VerifyOptions{})
	if !res.OK || res.Entries != 7 {
		t.Fatalf("untouched chain: %+v", res)
	}
	if res := verify(t, db, VerifyOptions{FromSeq: 3, ToSeq: 5}); !res.OK || res.Entries != 3 {
		t.Fatalf("range 3..5: %+v", res)
	}
	recs, err := ForObject(context.Background(), db, "case", "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Seq != 2 || recs[1].Seq != 5 {
		t.Fatalf("c-1 timeline: %+v", recs)
	}
	if recs[0].Details["b"] != "x" || recs[0].DetailsJSON != `{"b":"x","n":1}` {
		t.Fatalf("details: %v %s", recs[0].Details, recs[0].DetailsJSON)
	}
}

// Even the owner of the table meets the trigger.
func TestTriggerRefusesUpdateAndDelete(t *testing.T) {
	url := pgtest.URL(t)
	appendN(t, pgtest.OpenURL(t, url), 2)
	db := pgtest.OpenURL(t, pgtest.OwnerURL(url))
	for _, s := range []string{"UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries", "TRUNCATE audit_entries"} {
		if err := db.Exec(s).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", s, err)
		}
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name    string
		stmts   []string
		wantSeq int64
		reason  string
	}{
		{"altered actor", []string{"UPDATE audit_entries SET actor = 'someone.else' WHERE seq = 3"}, 3, "altered"},
		{"altered details", []string{`UPDATE audit_entries SET details = '{"b":"y","n":4}' WHERE seq = 5`}, 5, "altered"},
		{"altered time", []string{"UPDATE audit_entries SET at = at + interval '1 second' WHERE seq = 2"}, 2, "altered"},
		{"removed entry", []string{"DELETE FROM audit_entries WHERE seq = 4"}, 4, "missing"},
		{"removed tail", []string{"DELETE FROM audit_entries WHERE seq = 6"}, 6, "missing"},
		{"rehashed entry", []string{"UPDATE audit_entries SET hash = sha256(hash) WHERE seq = 2"}, 2, "altered"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := pgtest.URL(t)
			db := pgtest.OpenURL(t, url)
			appendN(t, db, 6)
			tamper(t, url, c.stmts...)
			res := verify(t, db, VerifyOptions{})
			if res.OK || res.FirstBroken == nil || res.FirstBroken.Seq != c.wantSeq || !strings.Contains(res.FirstBroken.Reason, c.reason) {
				t.Fatalf("got %+v %+v, want entry %d %s", res, res.FirstBroken, c.wantSeq, c.reason)
			}
		})
	}
}

// An entry whose transaction rolls back leaves no trace and no gap.
func TestRollbackLeavesNoGap(t *testing.T) {
	db := pgtest.Open(t)
	appendN(t, db, 2)
	boom := errors.New("boom")
	err := db.Transaction(func(tx *gorm.DB) error {
		if _, err := Append(tx, Entry{Actor: "a", Action: "x", ObjectType: "case", ObjectID: "c"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	appendN(t, db, 1)
	if res := verify(t, db, VerifyOptions{}); !res.OK || res.Entries != 3 {
		t.Fatalf("%+v", res)
	}
}

// Concurrent appenders serialise on the head: no gaps, no forks.
func TestConcurrentAppends(t *testing.T) {
	db := pgtest.Open(t)
	const workers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := db.Transaction(func(tx *gorm.DB) error {
					_, err := Append(tx, Entry{Actor: fmt.Sprintf("w%d", w), Action: "case.touch", ObjectType: "case",
						ObjectID: fmt.Sprint(i), At: time.Now()})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if res := verify(t, db, VerifyOptions{}); !res.OK || res.Entries != workers*each {
		t.Fatalf("%+v %+v", res, res.FirstBroken)
	}
}

func TestAppendRefusesIncompleteEntries(t *testing.T) {
	db := pgtest.Open(t)
	if _, err := Append(db, Entry{Action: "x", ObjectType: "case", ObjectID: "1"}); err == nil {
		t.Fatal("entry without actor accepted")
	}
}
