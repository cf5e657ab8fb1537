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

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/deletion/deletiontest"
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
	for _, table := range []string{"cases", "complainants", "notifications", "deadlines", "subject_keys"} {
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

// A case's follow-up answers are sealed and opened by intake under the
// complainant's key, with the escalation service's database role: answers
// written in clear before are sealed at start, officers read them, and once
// the complainant is erased they read "[erased]" and no new answer is kept.
func TestCaseAnswersSealedThroughIntake(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	in := intaketest.CaseFacts(t, db, keys, nil)
	esc := asEscalationRole(t, db)
	sk, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	comp, caseID := uuid.NewString(), uuid.NewString()
	if err := db.Exec("INSERT INTO complainants (id, subject_key_id) VALUES (?, ?)", comp, sk.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO cases (id, case_number, kind, category, channel, state, complainant_id, description, policy_pack,
		ack_due_at, resolution_due_at, lookup_code_hash, received_at, updated_at)
		VALUES (?, 'T-answers', 'complaint', 'spam_sms', 'web_form', 'received', ?, 'x', 'cn', now(), now(), '\x00', now(), now())`,
		caseID, comp).Error; err != nil {
		t.Fatal(err)
	}
	e, _, err := store.Create(esc, store.Escalation{Kind: wf.KindManual, CaseID: &caseID, DedupeKey: "manual/" + caseID, Reason: "regulator asks"},
		"officer.wang", nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := sealAnswer(ctx, Owners{Intake: in}, e, "Call records attached.")
	if err != nil || len(enc) == 0 {
		t.Fatalf("sealing an answer as the escalation role: %v", err)
	}
	now := time.Now().UTC()
	for i, f := range []store.FollowUp{{AnswerEnc: enc}, {Answer: "Written before sealing."}} {
		f.ID, f.EscalationID, f.Question, f.DueAt, f.Status, f.AnsweredAt, f.CreatedAt =
			uuid.NewString(), e.ID, "What happened?", now, store.FollowUpAnswered, &now, now.Add(time.Duration(i)*time.Second)
		if err := esc.Create(&f).Error; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := SealClearAnswers(ctx, esc, Owners{Intake: in}); err != nil || n != 1 {
		t.Fatalf("sealed %d clear answers: %v", n, err)
	}
	var clear int64
	if err := esc.Model(&store.FollowUp{}).Where("answer <> '' OR answer_enc IS NULL").Count(&clear).Error; err != nil || clear != 0 {
		t.Fatalf("%d answers left in clear (%v)", clear, err)
	}
	srv := New(Config{DB: esc, Intake: in})
	answers := func() []string {
		t.Helper()
		r, err := srv.GetEscalation(ctx, &escalationv1.GetEscalationRequest{EscalationId: e.ID})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range r.GetEscalation().GetFollowUps() {
			out = append(out, f.GetAnswer())
		}
		return out
	}
	if got := answers(); len(got) != 2 || got[0] != "Call records attached." || got[1] != "Written before sealing." {
		t.Fatalf("answers %q", got)
	}
	if err := keys.Shred(db, sk.ID); err != nil { // intake erases the complainant
		t.Fatal(err)
	}
	if got := answers(); len(got) != 2 || got[0] != erased || got[1] != erased {
		t.Fatalf("answers after erasure %q", got)
	}
	if _, err := sealAnswer(ctx, Owners{Intake: in}, e, "Later."); err != errAnswerErased {
		t.Fatalf("sealing after erasure: %v, want errAnswerErased", err)
	}
}

// A deletion request's follow-up answers are sealed and opened by the
// deletion service under the requester's key, with the escalation service's
// database role, which cannot read deletion_requests: a manual escalation
// of the request is checked through the deletion service, answers written
// in clear before are sealed at start, officers read them, and once the
// requester's key is destroyed they read "[erased]" and no new answer is kept.
func TestDeletionAnswersSealedThroughDeletion(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	master, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	keys, err := crypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	del := deletiontest.Facts(t, pgtest.As(t, db, "redress_deletion_app"), keys)
	esc := asEscalationRole(t, db)
	if err := esc.Exec("SELECT 1 FROM deletion_requests LIMIT 1").Error; err == nil || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("the escalation role reads deletion_requests: %v", err)
	}
	sk, err := keys.NewSubjectKey(db)
	if err != nil {
		t.Fatal(err)
	}
	reqID := uuid.NewString()
	if err := db.Exec(`INSERT INTO deletion_requests (id, type, source, status, subject_key_id, phone_enc, due_at, due_rule,
		reason_code, submitted_by, created_at, updated_at)
		VALUES (?, 'erasure', 'case', 'executing', ?, '\xdeadbeef', now(), 'cn/A1', '', 'agent-1', now(), now())`, reqID, sk.ID).Error; err != nil {
		t.Fatal(err)
	}
	srv := New(Config{DB: esc, Deletion: del})
	if _, err := srv.EscalateManually(access.WithActor(ctx, "officer.wang"), &escalationv1.EscalateManuallyRequest{
		DeletionRequestId: uuid.NewString(), Reason: "regulator asks", Regulator: "cac"}); status.Code(err) != codes.NotFound {
		t.Fatalf("escalating an unknown deletion request: %v, want NOT_FOUND", err)
	}
	e, _, err := store.Create(esc, store.Escalation{Kind: wf.KindManual, DeletionRequestID: &reqID, DedupeKey: "manual/" + reqID, Reason: "regulator asks"},
		"officer.wang", nil)
	if err != nil {
		t.Fatal(err)
	}
	own := Owners{Deletion: del}
	enc, err := sealAnswer(ctx, own, e, "Erased from every connector.")
	if err != nil || len(enc) == 0 {
		t.Fatalf("sealing an answer as the escalation role: %v", err)
	}
	now := time.Now().UTC()
	for i, f := range []store.FollowUp{{AnswerEnc: enc}, {Answer: "Written before sealing."}, {AnswerEnc: []byte("not sealed under this key")}} {
		f.ID, f.EscalationID, f.Question, f.DueAt, f.Status, f.AnsweredAt, f.CreatedAt =
			uuid.NewString(), e.ID, "What happened?", now, store.FollowUpAnswered, &now, now.Add(time.Duration(i)*time.Second)
		if err := esc.Create(&f).Error; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := SealClearAnswers(ctx, esc, own); err != nil || n != 1 {
		t.Fatalf("sealed %d clear answers: %v", n, err)
	}
	srv = New(Config{DB: esc, Deletion: del})
	answers := func() []string {
		t.Helper()
		r, err := srv.GetEscalation(ctx, &escalationv1.GetEscalationRequest{EscalationId: e.ID})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range r.GetEscalation().GetFollowUps() {
			out = append(out, f.GetAnswer())
		}
		return out
	}
	if got := answers(); len(got) != 3 || got[0] != "Erased from every connector." || got[1] != "Written before sealing." || got[2] != unreadable {
		t.Fatalf("answers %q", got)
	}
	if err := keys.Shred(db, sk.ID); err != nil {
		t.Fatal(err)
	}
	if got := answers(); len(got) != 3 || got[0] != erased || got[1] != erased || got[2] != erased {
		t.Fatalf("answers after erasure %q", got)
	}
	if _, err := sealAnswer(ctx, own, e, "Later."); err != errAnswerErased {
		t.Fatalf("sealing after erasure: %v, want errAnswerErased", err)
	}
}
