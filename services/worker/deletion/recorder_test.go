package deletionworker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/pgtest"
)

// A pass's changes that wait together are committed together: one
// transaction, one append to the audit chain. A change that fails fails
// alone: its group is committed again change by change, the others land
// with their audit entries, the failed one leaves nothing, the chain holds.
func TestRecorderGroupsChangesAndIsolatesAFailure(t *testing.T) {
	db := pgtest.Open(t)
	a := &Activities{DB: db}
	ctx, stop := a.withRecorder(context.Background())

	entry := func(object string) write {
		return func(tx *gorm.DB) ([]audit.Entry, error) {
			return []audit.Entry{{Actor: system, Action: "test.recorded", ObjectType: "test", ObjectID: object}}, nil
		}
	}
	// run holds the recorder with a first change while the others queue
	// behind it, so that they reach it as one group.
	run := func(round string, failing int) []error {
		errs := make([]error, 6)
		var wg sync.WaitGroup
		holding := make(chan struct{})
		wg.Go(func() {
			errs[0] = a.audited(ctx, func(tx *gorm.DB) ([]audit.Entry, error) {
				close(holding)
				time.Sleep(time.Second) // the others queue meanwhile
				return entry(round + "-0")(tx)
			})
		})
		<-holding
		for i := 1; i < len(errs); i++ {
			wg.Go(func() {
				change := entry(fmt.Sprintf("%s-%d", round, i))
				if i == failing {
					change = func(tx *gorm.DB) ([]audit.Entry, error) {
						return nil, tx.Exec("SELECT 1/0").Error // aborts the transaction it is in
					}
				}
				errs[i] = a.audited(ctx, change)
			})
		}
		wg.Wait()
		return errs
	}
	xmins := func(round string) (entries, txs int64) {
		if err := db.Raw(`SELECT count(*), count(DISTINCT xmin::text) FROM audit_entries WHERE object_id LIKE ?`, round+"-%").Row().Scan(&entries, &txs); err != nil {
			t.Fatal(err)
		}
		return
	}

	for i, err := range run("a", -1) {
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	if n, txs := xmins("a"); n != 6 || txs != 2 {
		t.Fatalf("%d entries in %d transactions, want 6 in 2 (the first alone, the five that waited together)", n, txs)
	}

	errs := run("b", 3)
	for i, err := range errs {
		if (err != nil) != (i == 3) {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	if !strings.Contains(errs[3].Error(), "22012") { // division_by_zero: its own error, not a neighbour's
		t.Fatalf("the failing change was answered with %v", errs[3])
	}
	if n, _ := xmins("b"); n != 5 {
		t.Fatalf("%d entries, want the 5 of the changes that did not fail", n)
	}
	stop()
	if res, err := audit.Verify(context.Background(), db, audit.VerifyOptions{}); err != nil || !res.OK {
		t.Fatalf("audit chain: %+v %v", res, err)
	}
}
