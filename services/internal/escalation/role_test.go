package escalation

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/filing"
	"github.com/redress/redress/services/internal/intake/intaketest"
	"github.com/redress/redress/services/internal/pgtest"
	wf "github.com/redress/redress/workflows/escalation"
)

// asEscalationRole is a handle on db's database as the escalation service's
// database role (migration 00019), which has no grant on intake's tables.
// One connection, so the session's role holds for every statement.
func asEscalationRole(t *testing.T, db *gorm.DB) *gorm.DB {
	t.Helper()
	owner := pgtest.Owner(t, db)
	sqlDB, err := owner.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1)
	if err := owner.Exec("SET ROLE redress_escalation").Error; err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"cases", "complainants", "notifications", "deadlines"} {
		if err := owner.Exec("SELECT 1 FROM " + table + " LIMIT 1").Error; err == nil || !strings.Contains(err.Error(), "42501") {
			t.Fatalf("the escalation role reads %s: %v", table, err)
		}
	}
	return owner
}

// The incident detector, linking a case to an incident and the filing
// package builder run with the escalation service's database role: they
// learn of cases from intake's CaseFactsService only.
func TestEscalationRunsWithoutIntakeTables(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	in := intaketest.CaseFacts(t, db, nil, nil) // intake, on its own connections
	esc := asEscalationRole(t, db)
	now := time.Now().UTC().Truncate(time.Second)
	leakCases(t, db, 3, "shop-app", now.Add(-30*time.Minute), time.Minute)

	trig := &Triggers{DB: esc, Intake: in, Cluster: wf.ClusterPolicy{Threshold: 3, Window: time.Hour}, OperatorClass: wf.ClassOther}
	if n, err := trig.DetectIncidents(ctx); err != nil || n != 1 {
		t.Fatalf("detector as the escalation role opened %d incidents: %v", n, err)
	}
	var e store.Escalation
	if err := esc.Take(&e, "kind = ?", wf.KindIncident).Error; err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-29 * time.Minute); !e.DiscoveredAt.Equal(want) {
		t.Fatalf("incident discovered %v, want the first complaint's receipt %v", e.DiscoveredAt, want)
	}

	// A complaint received before the incident's first moves its discovery.
	leakCases(t, db, 1, "other-app", now.Add(-3*time.Hour), time.Minute)
	var earlier string
	if err := db.Raw("SELECT id FROM cases WHERE leak_source = 'other-app'").Scan(&earlier).Error; err != nil {
		t.Fatal(err)
	}
	snap, err := store.Apply(esc, in, e.ID, wf.Action{ID: "link-1", Type: wf.ActLinkCases, Actor: "officer.wang", CaseIDs: []string{earlier}})
	if err != nil {
		t.Fatalf("linking as the escalation role: %v", err)
	}
	if want := now.Add(-3 * time.Hour).Add(time.Minute); !snap.ClockStart.Equal(want) {
		t.Fatalf("after linking an earlier complaint discovered %v, want %v", snap.ClockStart, want)
	}

	b, err := filing.Build(ctx, esc, in, e.ID, now)
	if err != nil {
		t.Fatalf("filing package as the escalation role: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b.Zip), int64(len(b.Zip)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open(filing.CasesFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(f)
	var facts []filing.CaseFacts
	if err := json.Unmarshal(raw, &facts); err != nil {
		t.Fatal(err)
	}
	if len(facts) != 4 || facts[0].ID != earlier || facts[0].LeakSource != "other-app" || !strings.HasPrefix(facts[1].CaseNumber, "T-") {
		t.Fatalf("package case facts %+v", facts)
	}
}
