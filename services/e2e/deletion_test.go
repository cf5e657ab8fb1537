package e2e

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/identity"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/signed"
	deletionworker "github.com/redress/redress/services/worker/deletion"
	wf "github.com/redress/redress/workflows/deletion"
)

// deletionRig adds DeletionService, its starter and its worker to a harness,
// and a customer database behind the PostgreSQL connector.
type deletionRig struct {
	*harness
	api      deletionv1.DeletionServiceClient
	customer *sql.DB
	stopWork context.CancelFunc
	workDone chan struct{}
	acts     *deletionworker.Activities
	ddb      *gorm.DB // the deletion service's handle, as its own database role
}

func newDeletionRig(t *testing.T, people int, opts ...func(*deletionRig, *deletion.Config)) *deletionRig {
	h := newHarness(t, options{noWorker: true})
	r := &deletionRig{harness: h}
	var err error
	custURL := pgtest.OwnerURL(pgtest.URL(t)) // a customer database of its own, not the record
	if r.customer, err = sql.Open("pgx", custURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.customer.Close() })
	if err := customertest.Seed(h.ctx, r.customer, people, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"dsn": custURL, "mapping": json.RawMessage(customertest.Mapping)})
	now := time.Now()
	for _, c := range []deletion.Connector{
		{Name: "customer-db", Kind: "postgres", Config: string(cfg), Enabled: true, MaxConcurrency: 4, CreatedAt: now, UpdatedAt: now},
		{Name: "redress", Kind: "redress", Config: "{}", Enabled: true, MaxConcurrency: 4, CreatedAt: now, UpdatedAt: now},
	} {
		if err := h.db.Create(&c).Error; err != nil {
			t.Fatal(err)
		}
	}
	sender := &notify.SMTPSender{Addr: h.smtp.Addr(), From: "privacy@operator.example", Timeout: 5 * time.Second}
	// The deletion service and its activities connect as the deletion
	// service's own database role, as `redress dev` runs them: only its
	// own tables, the audit chain and subject keys.
	ddb := pgtest.As(t, h.db, "redress_deletion_app")
	r.ddb = ddb
	starter := deletion.NewStarter(h.tc, ddb, h.log)
	starter.Grace, starter.Every = 0, 200*time.Millisecond
	batches := deletion.NewBatchStarter(h.tc, ddb, h.log)
	batches.Grace, batches.Every = 0, 200*time.Millisecond
	conf := deletion.Config{DB: ddb, Keys: h.keys, Policy: h.policy, Temporal: h.tc, Starter: starter, Batches: batches,
		Commands: h.signer, Sender: sender, Log: h.log}
	for _, o := range opts {
		o(r, &conf)
	}
	srv := deletion.New(conf)
	// Calls with a bearer credential are checked against their account's
	// role (and refusals audited); calls without one come as x-redress-actor.
	// authenticated through intake's IdentityService, as outside the intake process.
	gs := grpcserver.New(h.log, grpcserver.NewMetrics(), access.Guard{Auth: &identity.Remote{Client: h.accounts}, TrustActorHeader: true,
		Refused: access.AuditRefusals(ddb, h.log)})
	deletionv1.RegisterDeletionServiceServer(gs.GRPC, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(h.ctx, lis) }()
	go starter.Run(h.ctx)
	go batches.Run(h.ctx)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	r.api = deletionv1.NewDeletionServiceClient(conn)
	r.acts = &deletionworker.Activities{DB: ddb, Keys: h.keys, Sender: sender, Log: h.log, Auto: deletionworker.DefaultAutoApproval,
		Escalations: esc.Command{Temporal: h.tc}, Erasure: h.erasure}
	r.startDeletionWorker()
	return r
}

func (r *deletionRig) startDeletionWorker() {
	ctx, cancel := context.WithCancel(r.ctx)
	r.stopWork, r.workDone = cancel, make(chan struct{})
	go func() {
		defer close(r.workDone)
		if err := deletionworker.Run(ctx, r.tc, r.acts, r.commands); err != nil {
			r.t.Errorf("deletion worker: %v", err)
		}
	}()
	r.t.Cleanup(r.stopDeletionWorker)
}

func (r *deletionRig) stopDeletionWorker() {
	if r.stopWork != nil {
		r.stopWork()
		<-r.workDone
		r.stopWork = nil
	}
}

func (r *deletionRig) status(id string) string {
	d, err := r.api.GetDeletion(r.as("agent.li"), &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil {
		r.t.Fatal(err)
	}
	return d.GetDeletion().GetStatus()
}

func (r *deletionRig) waitStatus(id, want string) {
	r.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for r.status(id) != want {
		if time.Now().After(deadline) {
			r.t.Fatalf("status %s, want %s; workflow: %s", r.status(id), want, r.pending(id))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pending describes the workflow's pending activities and their last failure.
func (r *deletionRig) pending(id string) string {
	desc, err := r.tc.DescribeWorkflowExecution(r.ctx, wf.WorkflowID(id), "")
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range desc.GetPendingActivities() {
		fmt.Fprintf(&b, "%s attempt %d: %s; ", p.GetActivityType().GetName(), p.GetAttempt(), p.GetLastFailure().GetMessage())
	}
	return b.String()
}

func (r *deletionRig) count(q string, args ...any) int64 {
	r.t.Helper()
	var n int64
	if err := r.customer.QueryRow(q, args...).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (r *deletionRig) audited(id, action string) int64 {
	var n int64
	r.db.Table("audit_entries").Where("object_id = ? AND action = ?", id, action).Count(&n)
	return n
}

// counted flushes the counted events (audit.FlushCounts) and answers how many
// times actor's action was counted on the chain under a kind containing
// kind, and the objects its entries name.
func (r *deletionRig) counted(actor, action, kind string) (int64, string) {
	r.t.Helper()
	if _, err := audit.FlushCounts(r.ctx, r.db, time.Now().Add(time.Minute)); err != nil {
		r.t.Fatal(err)
	}
	var out struct {
		N       int64
		Samples string
	}
	r.db.Raw(`SELECT coalesce(sum(b.value::bigint), 0) AS n, coalesce(string_agg(e.details::jsonb ->> 'samples', ' '), '') AS samples
		FROM audit_entries e, jsonb_each_text(e.details::jsonb -> 'by') b
		WHERE e.actor = ? AND e.action = ? AND e.object_type = 'principal' AND e.object_id = e.actor
		  AND e.details::jsonb ->> 'aggregated' = 'true' AND b.key LIKE '%' || ? || '%'`, actor, action, kind).Scan(&out)
	return out.N, out.Samples
}

var codePattern = regexp.MustCompile(`\b(\d{6})\b`)

func TestDeletionEndToEnd(t *testing.T) {
	r := newDeletionRig(t, 20)
	const who = 7
	heldFrom := time.Now().AddDate(-2, 0, -1)
	if err := customertest.SeedPreviousHolder(r.ctx, r.customer, who, heldFrom); err != nil {
		t.Fatal(err)
	}
	agent := r.as("agent.li")

	// Bad input names the field.
	_, err := r.api.SubmitDeletion(agent, &deletionv1.SubmitDeletionRequest{IdempotencyKey: "bad-request-1", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Phone: &deletionv1.PhoneIdentifier{Number: "+8613900000007"}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "phone.held_from") {
		t.Fatalf("missing held_from: %v", err)
	}

	submit := &deletionv1.SubmitDeletionRequest{IdempotencyKey: "leak-2026-0007", Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE,
		Source: deletionv1.Source_SOURCE_AGENT, Email: customertest.Email(who), Language: "en",
		Phone: &deletionv1.PhoneIdentifier{Number: "+86" + customertest.Phone(who), HeldFrom: timestamppb.New(heldFrom)}}
	resp, err := r.api.SubmitDeletion(agent, submit)
	if err != nil {
		t.Fatal(err)
	}
	d := resp.GetDeletion()
	again, err := r.api.SubmitDeletion(agent, submit)
	if err != nil || again.GetDeletion().GetId() != d.GetId() {
		t.Fatalf("replay answered %v, %v", again.GetDeletion().GetId(), err)
	}
	if d.GetStatus() != wf.StatusAwaitingIdentity || d.GetDueRule() != "cn/A1" || d.GetMaskedEmail() == customertest.Email(who) {
		t.Fatalf("submitted: %+v", d)
	}

	// One-time code by email: a wrong code is refused and audited; the right one verifies the email only.
	ch, err := r.api.SendChallenge(agent, &deletionv1.SendChallengeRequest{DeletionId: d.GetId(), Channel: deletionv1.Channel_CHANNEL_EMAIL})
	if err != nil {
		t.Fatal(err)
	}
	msg := r.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, "verification code") })
	code := codePattern.FindStringSubmatch(msg.Body)[1]
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, err := r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(), Code: wrong}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("wrong code: %v", err)
	}
	if r.audited(d.GetId(), "deletion.challenge_refused") != 1 {
		t.Fatal("wrong code not audited")
	}
	v, err := r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(), Code: code})
	if err != nil {
		t.Fatal(err)
	}
	if !v.GetDeletion().GetEmailVerified() || v.GetDeletion().GetPhoneVerified() {
		t.Fatalf("after the email code: %+v", v.GetDeletion())
	}
	if _, err := r.api.VerifyChallenge(agent, &deletionv1.VerifyChallengeRequest{ChallengeId: ch.GetChallengeId(), Code: code}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("reused code: %v", err)
	}
	// The phone is not verified yet: nothing is searched, the plan does not exist.
	if r.status(d.GetId()) != wf.StatusAwaitingIdentity {
		t.Fatal("searching with an unverified phone number")
	}
	if _, err := r.api.GetPlan(agent, &deletionv1.GetPlanRequest{DeletionId: d.GetId()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("plan before identity: %v", err)
	}
	// Approving before every identifier is verified is refused, and audited.
	early := &deletionv1.ApprovePlanRequest{DeletionId: d.GetId(), PlanDigest: strings.Repeat("0", 64)}
	if _, err := r.api.ApprovePlan(r.as("supervisor.wang"), early); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "not all verified") {
		t.Fatalf("approval before identity: %v", err)
	}
	// The agent vouches for the requester (in person, with ID) for the phone.
	if _, err := r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: d.GetId(), Reason: "short"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("short reason: %v", err)
	}
	if _, err := r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: d.GetId(), Reason: "Requester came to the Xicheng shop with ID card; SIM registration checked"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(d.GetId(), wf.StatusAwaitingApproval)

	plan, err := r.api.GetPlan(agent, &deletionv1.GetPlanRequest{DeletionId: d.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if plan.GetAutoApproved() {
		t.Fatal("an agent-entered request was auto-approved")
	}
	found := map[string]int64{}
	for _, it := range plan.GetItems() {
		found[it.GetConnector()+"/"+it.GetTarget()+"/"+it.GetAction()] = it.GetCount()
	}
	want := map[string]int64{"customer-db/accounts/delete": 1, "customer-db/orders/delete": 2, "customer-db/call_logs/delete": 2,
		"customer-db/call_logs/restrict": 1, "customer-db/marketing_list/mask": 1}
	for k, n := range want {
		if found[k] != n {
			t.Errorf("plan %s = %d, want %d (plan %v)", k, found[k], n, found)
		}
	}
	// The submitter cannot approve; a stale digest is refused; both audited.
	if _, err := r.api.ApprovePlan(agent, &deletionv1.ApprovePlanRequest{DeletionId: d.GetId(), PlanDigest: plan.GetPlanDigest()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("submitter approving: %v", err)
	}
	reviewer := r.as("supervisor.wang")
	stale := strings.Repeat("0", 64)
	if _, err := r.api.ApprovePlan(reviewer, &deletionv1.ApprovePlanRequest{DeletionId: d.GetId(), PlanDigest: stale}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("stale digest: %v", err)
	}
	if r.audited(d.GetId(), "deletion.approve_refused") != 3 {
		t.Fatal("refused approvals not audited")
	}
	if _, err := r.api.ApprovePlan(reviewer, &deletionv1.ApprovePlanRequest{DeletionId: d.GetId(), PlanDigest: plan.GetPlanDigest()}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(d.GetId(), wf.StatusRestricted)

	// SQL: the person's rows deleted or masked, the recent log restricted with a date, everyone else untouched.
	if r.count(`SELECT count(*) FROM accounts WHERE id = $1`, who)+r.count(`SELECT count(*) FROM orders WHERE account_id = $1`, who) != 0 {
		t.Error("account or orders of the requester remain")
	}
	if r.count(`SELECT count(*) FROM call_logs WHERE caller = $1 AND id < 900000000`, customertest.Phone(who)) != 1 ||
		r.count(`SELECT count(*) FROM call_logs WHERE caller = $1 AND id < 900000000 AND restricted_until > now() + interval '4 months'`, customertest.Phone(who)) != 1 {
		t.Error("the recent call log is not restricted with its deletion date")
	}
	if r.count(`SELECT count(*) FROM marketing_list WHERE id = $1 AND name = '***' AND email IS NULL AND phone LIKE 'h:%'`, who) != 1 {
		t.Error("marketing entry not masked")
	}
	if r.count(`SELECT count(*) FROM accounts WHERE id = 900000000 + $1`, who)+r.count(`SELECT count(*) FROM call_logs WHERE id = 900000000 + $1`, who) != 2 {
		t.Error("the previous holder of the number lost data")
	}
	if r.count(`SELECT count(*) FROM accounts`) != 20 || r.count(`SELECT count(*) FROM orders`) != 38 ||
		r.count(`SELECT count(*) FROM call_logs WHERE restricted_until IS NOT NULL`) != 1 ||
		r.count(`SELECT count(*) FROM marketing_list WHERE name <> '***'`) != 19 || r.count(`SELECT count(*) FROM call_logs`) != 20*3-2+1 {
		t.Error("other people's rows changed")
	}

	// Evidence and certificate match what SQL shows.
	ev, err := r.api.GetEvidence(agent, &deletionv1.GetEvidenceRequest{DeletionId: d.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var cust *deletionv1.ConnectorEvidence
	for _, c := range ev.GetConnectors() {
		if c.GetConnector() == "customer-db" {
			cust = c
		}
	}
	if cust == nil || cust.GetFound() != 7 || cust.GetAffected() != 7 || cust.GetRemaining() != 0 || cust.GetBeforeDigest() == cust.GetAfterDigest() {
		t.Fatalf("evidence %+v", cust)
	}
	if ev.GetApprovedBy() != "supervisor.wang" || ev.GetCertificate() == "" {
		t.Fatalf("evidence approval/certificate: %q %q", ev.GetApprovedBy(), ev.GetCertificate())
	}
	var cert struct {
		Status  string `json:"status"`
		Systems []struct {
			Connector string `json:"connector"`
			Found     int64  `json:"found"`
			Affected  int64  `json:"affected"`
			Remaining int64  `json:"remaining"`
		} `json:"systems"`
		RestrictedUntil *time.Time `json:"restricted_until"`
	}
	if err := json.Unmarshal([]byte(ev.GetCertificate()), &cert); err != nil {
		t.Fatal(err)
	}
	if cert.Status != wf.StatusRestricted || cert.RestrictedUntil == nil || len(cert.Systems) != 2 {
		t.Fatalf("certificate %+v", cert)
	}
	// It says what was done per system, in both languages, and never that
	// everything was deleted: the marketing list was masked, recent call logs
	// are kept under the retention duty until a date, with its citation.
	checkCertificateWords(t, ev.GetCertificate())
	// It is signed with the operator's key and fails once changed.
	pub := r.keys.SigningKey().Public().(ed25519.PublicKey)
	if _, err := signed.Verify([]byte(ev.GetCertificate()), pub); err != nil {
		t.Fatalf("certificate signature: %v", err)
	}
	if _, err := signed.Verify([]byte(strings.Replace(ev.GetCertificate(), `"remaining": 0`, `"remaining": 1`, 1)), pub); err == nil {
		t.Fatal("a changed certificate verified")
	}
	// Every step is in the chain, and the chain holds.
	for _, a := range []string{"deletion.submitted", "deletion.challenge_sent", "deletion.challenge_verified", "deletion.attestation_recorded",
		"deletion.identity_verified", "deletion.plan_built", "deletion.plan_approved", "deletion.connector_applied", "deletion.certificate_issued"} {
		if r.audited(d.GetId(), a) == 0 {
			t.Errorf("no audit entry %s", a)
		}
	}
	if res, err := audit.Verify(r.ctx, r.db, audit.VerifyOptions{}); err != nil || !res.OK {
		t.Fatalf("audit chain: %+v %v", res, err)
	}
	// The requester was told.
	notice := r.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, "restricted to storage") })
	// The mapping says "CSL 2016 Art. 21(3)": since 2026-01-01 that duty is
	// Art. 23(3) of the amended law, and the notice cites it so.
	for _, want := range []string{"marketing_list", "masked", "call_logs", "(CSL 2026 Art. 23(3)), restricted"} {
		if !strings.Contains(notice.Body, want) {
			t.Errorf("the notice does not say %q:\n%s", want, notice.Body)
		}
	}
	if strings.Contains(notice.Body, "CSL 2016") {
		t.Errorf("the notice cites the law as it was numbered before 2026:\n%s", notice.Body)
	}
	if strings.Contains(notice.Body, "every system") || strings.Contains(notice.Body, "所有存有") {
		t.Errorf("the notice claims deletion from every system:\n%s", notice.Body)
	}
	// All of that ran as the deletion service's database role, which cannot
	// touch intake's tables: the complainants' data went through intake.
	for _, stmt := range []string{"SELECT count(*) FROM complainants", "UPDATE complainants SET phone_index = NULL",
		"SELECT count(*) FROM cases", "UPDATE cases SET leak_source = ''"} {
		if err := r.ddb.Exec(stmt).Error; err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("as the deletion role, %q: %v, want permission denied", stmt, err)
		}
	}
}

// A rejection's reason text reaches the record and the requester's notice,
// but never the workflow's history: the workflow carries only its id.
func TestDeletionRejectReasonTextStaysOutOfWorkflowHistory(t *testing.T) {
	r := newDeletionRig(t, 5)
	const who = 3
	agent := r.as("agent.li")
	resp, err := r.api.SubmitDeletion(agent, &deletionv1.SubmitDeletionRequest{IdempotencyKey: "reject-reason-0003",
		Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: deletionv1.Source_SOURCE_AGENT,
		Email: customertest.Email(who), Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetDeletion().GetId()
	if _, err := r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: id, Reason: "Requester came to the shop with ID card; account checked"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(id, wf.StatusAwaitingApproval)

	const reason = "Caller Wang Xiaoming could not show the contract for this account."
	if _, err := r.api.RejectPlan(r.as("supervisor.wang"), &deletionv1.RejectPlanRequest{DeletionId: id,
		ReasonCode: deletionv1.ReasonCode_REASON_CODE_IDENTITY_NOT_VERIFIED, ReasonText: reason}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(id, wf.StatusRejected)
	got, err := r.api.GetDeletion(agent, &deletionv1.GetDeletionRequest{DeletionId: id})
	if err != nil || got.GetDeletion().GetReasonText() != reason {
		t.Fatalf("record: %q, %v", got.GetDeletion().GetReasonText(), err)
	}
	r.smtp.WaitFor(t, 10*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, "Wang Xiaoming") })

	it := r.tc.GetWorkflowHistory(r.ctx, wf.WorkflowID(id), "", false, 0)
	events := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		if strings.Contains(e.String(), "Wang Xiaoming") {
			t.Fatalf("reason text in workflow history (event %d, %s)", e.GetEventId(), e.GetEventType())
		}
	}
	if events == 0 {
		t.Fatal("no workflow history read")
	}
}
