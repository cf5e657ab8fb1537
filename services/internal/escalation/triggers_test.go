package escalation

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/intake/intaketest"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/escalation"
)

// leakCases inserts n leak complaints about source, received every step from start.
func leakCases(tb testing.TB, db *gorm.DB, n int, source string, start time.Time, step time.Duration) {
	tb.Helper()
	key, comp := uuid.NewString(), uuid.NewString()
	if err := db.Exec("INSERT INTO subject_keys (id, wrapped_key) VALUES (?, '\\x00')", key).Error; err != nil {
		tb.Fatal(err)
	}
	if err := db.Exec("INSERT INTO complainants (id, subject_key_id) VALUES (?, ?)", comp, key).Error; err != nil {
		tb.Fatal(err)
	}
	err := db.Exec(`INSERT INTO cases (id, case_number, kind, category, channel, state, complainant_id, leaked_data_type,
		leak_source, description, policy_pack, ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
		SELECT gen_random_uuid(), 'T-' || ? || '-' || g, 'complaint', 'personal_information_leak', 'web_form', 'received', ?,
		       'phone', ?, 'leak', 'cn', now(), now(), '\x00', ?::timestamptz + g * ?::interval, now()
		FROM generate_series(1, ?) g`, uuid.NewString(), comp, source, start, fmt.Sprintf("%d microseconds", step.Microseconds()), n).Error
	if err != nil {
		tb.Fatal(err)
	}
}

func incidents(tb testing.TB, db *gorm.DB) map[string]int {
	tb.Helper()
	var rows []struct {
		LeakSource string
		N          int
	}
	if err := db.Raw(`SELECT e.leak_source, count(ic.case_id) AS n FROM escalations e
		LEFT JOIN incident_cases ic ON ic.escalation_id = e.id WHERE e.kind = 'incident' GROUP BY e.id, e.leak_source`).Scan(&rows).Error; err != nil {
		tb.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		if _, dup := out[r.LeakSource]; dup {
			tb.Fatalf("two incidents for %s", r.LeakSource)
		}
		out[r.LeakSource] = r.N
	}
	return out
}

// The threshold and the window of the cluster policy: exactly Threshold
// complaints within the window open an incident, one fewer does not, the
// same number spread wider than the window does not; later complaints within
// the window join the open incident.
func TestIncidentThresholdAndWindow(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	cl := wf.ClusterPolicy{Threshold: 5, Window: 10 * time.Hour}
	trig := &Triggers{DB: db, Intake: intaketest.CaseFacts(t, db, nil, nil), Cluster: cl, OperatorClass: wf.ClassOther, Now: func() time.Time { return now }}
	start := now.Add(-15 * time.Hour)
	leakCases(t, db, 5, "exactly", start, time.Hour)      // 5 within 4 h
	leakCases(t, db, 4, "one-fewer", start, time.Hour)    // 4
	leakCases(t, db, 5, "too-spread", start, 3*time.Hour) // 5 over 12 h: at most 4 in any 10 h
	if n, err := trig.DetectIncidents(ctx); err != nil || n != 1 {
		t.Fatalf("opened %d (%v), want 1", n, err)
	}
	if got := incidents(t, db); len(got) != 1 || got["exactly"] != 5 {
		t.Fatalf("incidents %v", got)
	}
	// Two more within the first case's window join; one after it does not.
	leakCases(t, db, 2, "exactly", start.Add(5*time.Hour), time.Hour)
	leakCases(t, db, 1, "exactly", start.Add(11*time.Hour), time.Hour)
	if n, err := trig.DetectIncidents(ctx); err != nil || n != 0 {
		t.Fatalf("second pass opened %d (%v)", n, err)
	}
	if got := incidents(t, db); got["exactly"] != 7 {
		t.Fatalf("incident holds %d cases, want 7", got["exactly"])
	}
	var e store.Escalation
	if err := db.Take(&e, "kind = 'incident'").Error; err != nil {
		t.Fatal(err)
	}
	// Its clock runs from discovery, the first complaint (start + 1 h), not
	// from the pass that opened it; it waits for an officer's grade.
	discovered := start.Add(time.Hour).Truncate(time.Microsecond)
	if !e.DueAt.Equal(discovered.Add(4*time.Hour)) || e.DiscoveredAt == nil || !e.DiscoveredAt.Equal(discovered) ||
		e.DueRule != wf.IncidentRuleID || e.Status != wf.StatusOpen || e.GradedAt != nil {
		t.Fatalf("incident due %v discovered %v graded %v rule %s status %s", e.DueAt, e.DiscoveredAt, e.GradedAt, e.DueRule, e.Status)
	}
}

// BenchmarkDetectIncidents measures the detector over 20,000 leak complaints
// in 400 clusters of 50 arriving together: the backlog passes (open 400
// incidents, link the rest) are reported as backlog-ms; the timed loop is the
// steady pass that runs every 2 s and finds nothing new.
func BenchmarkDetectIncidents(b *testing.B) {
	db := pgtest.Open(b)
	ctx := context.Background()
	now := time.Now().UTC()
	for i := range 400 {
		leakCases(b, db, 50, fmt.Sprintf("source-%03d", i), now.Add(-24*time.Hour), time.Minute)
	}
	if err := db.Exec("ANALYZE").Error; err != nil {
		b.Fatal(err)
	}
	trig := &Triggers{DB: db, Intake: intaketest.CaseFacts(b, db, nil, nil), Cluster: wf.DefaultClusterPolicy, OperatorClass: wf.ClassOther}
	t0 := time.Now()
	opened := 0
	for {
		n, err := trig.DetectIncidents(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var unlinked int64
		db.Raw("SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM incident_cases ic WHERE ic.case_id = c.id)").Scan(&unlinked)
		opened += n
		if unlinked == 0 {
			break
		}
	}
	backlog := time.Since(t0)
	if opened != 400 {
		b.Fatalf("backlog opened %d incidents, want 400", opened)
	}
	b.ResetTimer()
	for b.Loop() {
		if n, err := trig.DetectIncidents(ctx); err != nil || n != 0 {
			b.Fatalf("steady pass opened %d (%v)", n, err)
		}
	}
	b.ReportMetric(float64(backlog.Milliseconds()), "backlog-ms")
}
