package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/filing"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/regulator"
	"github.com/redress/redress/services/worker"
	escworker "github.com/redress/redress/services/worker/escalation"
	wf "github.com/redress/redress/workflows/escalation"
)

type escalationEnv struct {
	api escalationv1.EscalationServiceClient
	srv *esc.Server
}

type escOptions struct {
	alertTo []string
	dir     *regulator.Directory
	timing  wf.Timing
	cluster wf.ClusterPolicy
	class   string
}

// startEscalation serves EscalationService over a real gRPC socket and runs
// the escalation worker (with its starter and triggers) beside the harness.
func startEscalation(h *harness, o escOptions) *escalationEnv {
	h.t.Helper()
	if o.dir == nil {
		o.dir = &regulator.Directory{}
	}
	db := pgtest.As(h.t, h.db, "redress_escalation_app") // the escalation process's own role
	starter := &esc.Starter{Temporal: h.tc, DB: db, Log: h.log, Timing: o.timing, Every: 100 * time.Millisecond}
	srv := esc.New(esc.Config{DB: db, Temporal: h.tc, Starter: starter, Commands: h.signer, Log: h.log, Intake: h.facts, Deletion: h.delFacts, OperatorClass: o.class})
	// A plain gRPC server that takes the caller from x-redress-actor: the
	// access guard has its own tests; this one is about escalations.
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-redress-actor")) > 0 {
			ctx = access.WithActor(ctx, md.Get("x-redress-actor")[0])
		}
		return next(ctx, req)
	}))
	escalationv1.RegisterEscalationServiceServer(gs, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	h.t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	acts := &escworker.Activities{DB: db, Keys: h.keys, Regulators: o.dir, Log: h.log, Contact: "privacy@operator.example",
		Intake: h.facts,
		Alert:  &notify.SMTPSender{Addr: h.smtp.Addr(), From: "redress@operator.example", Timeout: 5 * time.Second}, AlertTo: o.alertTo}
	acts.Alerts = h.escAlerts // the officers' console alerts, raised with the escalation service's credential
	trig := &esc.Triggers{DB: db, Intake: h.facts, Cluster: o.cluster, OperatorClass: o.class}
	go func() {
		defer close(done)
		if err := escworker.Run(ctx, h.tc, escworker.Deps{Activities: acts, Triggers: trig, Timing: o.timing, Every: 100 * time.Millisecond, Commands: h.commands}); err != nil {
			h.t.Errorf("escalation worker: %v", err)
		}
	}()
	h.t.Cleanup(func() { cancel(); <-done })
	return &escalationEnv{api: escalationv1.NewEscalationServiceClient(conn), srv: srv}
}

func (e *escalationEnv) get(h *harness, id string) *escalationv1.Escalation {
	h.t.Helper()
	r, err := e.api.GetEscalation(h.ctx, &escalationv1.GetEscalationRequest{EscalationId: id})
	if err != nil {
		h.t.Fatalf("get escalation: %v", err)
	}
	return r.GetEscalation()
}

func (e *escalationEnv) waitFor(h *harness, id, what string, cond func(*escalationv1.Escalation) bool) *escalationv1.Escalation {
	h.t.Helper()
	var got *escalationv1.Escalation
	h.eventually(what, 60*time.Second, func() bool { got = e.get(h, id); return cond(got) })
	return got
}

func wantCode(t *testing.T, what string, err error, want codes.Code, mention string) {
	t.Helper()
	if code(err) != want {
		t.Fatalf("%s: got %v (%v), want %v", what, code(err), err, want)
	}
	if mention != "" && !strings.Contains(err.Error(), mention) {
		t.Fatalf("%s: error %q does not mention %q", what, err, mention)
	}
}

func auditActions(t *testing.T, h *harness, id string) []string {
	t.Helper()
	recs, err := audit.ForObject(h.ctx, h.db, "escalation", id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Action)
	}
	return out
}

// A manual escalation through the manual adapter: packaged, filed by an
// officer, follow-up asked and answered, acknowledged, closed — every step
// audited, and the refusals on the way leave nothing behind.
func TestEscalationManualLifecycle(t *testing.T) {
	h := newHarness(t, options{})
	e := startEscalation(h, escOptions{})
	officer := h.as("officer.wang")
	sub, err := h.api.SubmitComplaint(officer, submission("esc-manual-0001"))
	if err != nil {
		t.Fatal(err)
	}
	caseID := sub.GetCase().GetId()
	r, err := e.api.EscalateManually(officer, &escalationv1.EscalateManuallyRequest{CaseId: caseID, Reason: "complainant threatens to go to the regulator"})
	if err != nil {
		t.Fatalf("escalate: %v", err)
	}
	id := r.GetEscalation().GetId()
	if r.GetEscalation().GetKind() != wf.KindManual || r.GetEscalation().GetOpenedBy() != "officer.wang" {
		t.Fatalf("escalation %+v", r.GetEscalation())
	}
	got := e.waitFor(h, id, "package ready for manual filing", func(x *escalationv1.Escalation) bool {
		return len(x.GetFilings()) == 1 && x.GetPackageSha256() != ""
	})
	if f := got.GetFilings()[0]; f.GetOutcome() != wf.OutcomeReadyInManual || f.GetAdapter() != "manual" || got.GetStatus() != wf.StatusOpen {
		t.Fatalf("filing %+v status %s", f, got.GetStatus())
	}

	// An acknowledgement or a follow-up before anything was filed is refused.
	_, err = e.api.RecordAcknowledgement(officer, &escalationv1.RecordAcknowledgementRequest{EscalationId: id, Reference: "ACK-1"})
	wantCode(t, "ack before filing", err, codes.FailedPrecondition, "never filed")
	_, err = e.api.AddFollowUp(officer, &escalationv1.AddFollowUpRequest{EscalationId: id, Question: "Why late?", DueAt: timestamppb.New(time.Now().Add(48 * time.Hour))})
	wantCode(t, "follow-up before filing", err, codes.FailedPrecondition, "never filed")

	fr, err := e.api.RecordFiling(officer, &escalationv1.RecordFilingRequest{EscalationId: id, Reference: "MIIT-2026-0042"})
	if err != nil {
		t.Fatalf("record filing: %v", err)
	}
	if fr.GetEscalation().GetStatus() != wf.StatusFiled || fr.GetEscalation().GetFilingReference() != "MIIT-2026-0042" {
		t.Fatalf("after filing: %+v", fr.GetEscalation())
	}
	fu, err := e.api.AddFollowUp(officer, &escalationv1.AddFollowUpRequest{EscalationId: id, Question: "Send the call records.",
		DueAt: timestamppb.New(time.Now().Add(72 * time.Hour))})
	if err != nil {
		t.Fatalf("follow-up: %v", err)
	}
	// An oversize attachment is refused by name and leaves the question open, unanswered.
	big := make([]byte, esc.MaxAttachment+1)
	_, err = e.api.AnswerFollowUp(officer, &escalationv1.AnswerFollowUpRequest{EscalationId: id, FollowUpId: fu.GetFollowUpId(),
		Answer: "attached", Attachment: big, AttachmentName: "records.pdf"})
	wantCode(t, "oversize attachment", err, codes.InvalidArgument, "attachment")
	if f := e.get(h, id).GetFollowUps(); len(f) != 1 || f[0].GetStatus() != store.FollowUpOpen || f[0].GetAnswer() != "" {
		t.Fatalf("follow-ups after refused answer: %+v", f)
	}
	doc := []byte("%PDF-1.4 call records")
	ar, err := e.api.AnswerFollowUp(officer, &escalationv1.AnswerFollowUpRequest{EscalationId: id, FollowUpId: fu.GetFollowUpId(),
		Answer: "Call records attached.", Attachment: doc, AttachmentName: "records.pdf"})
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	if f := ar.GetEscalation().GetFollowUps(); len(f) != 1 || f[0].GetStatus() != store.FollowUpAnswered || f[0].GetAttachmentSha256() == "" ||
		f[0].GetAnswer() != "Call records attached." {
		t.Fatalf("answered follow-up: %+v", f)
	}
	// The answer is about the complainant's case: sealed under their key.
	if cols := dbHolds(t, h, "Call records attached"); len(cols) > 0 {
		t.Fatalf("the answer is in clear in %v", cols)
	}
	// A step belongs to mandatory reports only.
	_, err = e.api.RecordStep(officer, &escalationv1.RecordStepRequest{EscalationId: id, Step: "stop"})
	wantCode(t, "step on a manual escalation", err, codes.FailedPrecondition, "mandatory")

	ackAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	ak, err := e.api.RecordAcknowledgement(officer, &escalationv1.RecordAcknowledgementRequest{EscalationId: id, Reference: "ACK-77",
		AcknowledgedAt: timestamppb.New(ackAt)})
	if err != nil {
		t.Fatalf("ack: %v", err)
	}
	if x := ak.GetEscalation(); x.GetStatus() != wf.StatusAcknowledged || x.GetAckReference() != "ACK-77" || !x.GetAcknowledgedAt().AsTime().Equal(ackAt) {
		t.Fatalf("after ack: %+v", x)
	}
	cl, err := e.api.CloseEscalation(officer, &escalationv1.CloseEscalationRequest{EscalationId: id})
	if err != nil || cl.GetEscalation().GetStatus() != wf.StatusClosed {
		t.Fatalf("close: %v %+v", err, cl.GetEscalation())
	}
	_, err = e.api.RecordAcknowledgement(officer, &escalationv1.RecordAcknowledgementRequest{EscalationId: id, Reference: "ACK-78"})
	wantCode(t, "ack after close", err, codes.FailedPrecondition, "closed")

	want := []string{"escalation.opened", "escalation.packaged", "escalation.submitted", "escalation.record_filing",
		"escalation.add_follow_up", "escalation.answer_follow_up", "escalation.acknowledge", "escalation.close"}
	if got := auditActions(t, h, id); !slices.Equal(got, want) {
		t.Fatalf("audit trail\n got %v\nwant %v", got, want)
	}
	// The case page data shows its escalations.
	l, err := e.api.ListEscalations(officer, &escalationv1.ListEscalationsRequest{CaseId: caseID})
	if err != nil || len(l.GetEscalations()) != 1 || l.GetEscalations()[0].GetId() != id {
		t.Fatalf("list by case: %v %v", err, l)
	}
	if res, err := audit.Verify(h.ctx, h.db, audit.VerifyOptions{}); err != nil || !res.OK {
		t.Fatalf("audit chain: %v %+v", err, res)
	}
}

// Bad input answers clear errors and writes nothing.
func TestEscalationBadInput(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{})
	ctx := h.as("officer.wang")
	sub, err := h.api.SubmitComplaint(ctx, submission("esc-bad-0001"))
	if err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		var n int64
		h.db.Model(&store.Escalation{}).Count(&n)
		return n
	}
	before := count()
	cases := []struct {
		name    string
		req     *escalationv1.EscalateManuallyRequest
		code    codes.Code
		mention string
	}{
		{"no target", &escalationv1.EscalateManuallyRequest{Reason: "x"}, codes.InvalidArgument, "case_id"},
		{"both targets", &escalationv1.EscalateManuallyRequest{CaseId: sub.GetCase().GetId(), DeletionRequestId: sub.GetCase().GetId(), Reason: "x"}, codes.InvalidArgument, "deletion_request_id"},
		{"bad uuid", &escalationv1.EscalateManuallyRequest{CaseId: "C-2026-1", Reason: "x"}, codes.InvalidArgument, "case_id: must be a UUID"},
		{"no reason", &escalationv1.EscalateManuallyRequest{CaseId: sub.GetCase().GetId()}, codes.InvalidArgument, "reason"},
		{"bad regulator", &escalationv1.EscalateManuallyRequest{CaseId: sub.GetCase().GetId(), Reason: "x", Regulator: "CAC HQ"}, codes.InvalidArgument, "regulator"},
		{"unknown case", &escalationv1.EscalateManuallyRequest{CaseId: "00000000-0000-4000-8000-000000000001", Reason: "x"}, codes.NotFound, "case_id"},
	}
	for _, c := range cases {
		_, err := e.api.EscalateManually(ctx, c.req)
		wantCode(t, c.name, err, c.code, c.mention)
	}
	// A closed case cannot be escalated.
	if err := h.db.Exec("UPDATE cases SET state = 'closed' WHERE id = ?", sub.GetCase().GetId()).Error; err != nil {
		t.Fatal(err)
	}
	_, err = e.api.EscalateManually(ctx, &escalationv1.EscalateManuallyRequest{CaseId: sub.GetCase().GetId(), Reason: "late"})
	wantCode(t, "closed case", err, codes.FailedPrecondition, "closed")
	if after := count(); after != before {
		t.Fatalf("refused requests wrote %d escalations", after-before)
	}
	// Unknown escalation, bad filters, bad page token, bad class.
	_, err = e.api.GetEscalation(ctx, &escalationv1.GetEscalationRequest{EscalationId: "00000000-0000-4000-8000-000000000002"})
	wantCode(t, "unknown escalation", err, codes.NotFound, "escalation_id")
	_, err = e.api.RecordAcknowledgement(ctx, &escalationv1.RecordAcknowledgementRequest{EscalationId: "00000000-0000-4000-8000-000000000002", Reference: "A"})
	wantCode(t, "ack of unknown escalation", err, codes.NotFound, "escalation_id")
	_, err = e.api.ListEscalations(ctx, &escalationv1.ListEscalationsRequest{Kinds: []string{"breach"}, PageSize: 501, PageToken: "zz"})
	wantCode(t, "bad list", err, codes.InvalidArgument, "kinds[0]")
	for _, f := range []string{"page_size", "page_token"} {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("list error %q does not name %s", err, f)
		}
	}
	_, err = e.api.OpenIncident(ctx, &escalationv1.OpenIncidentRequest{LeakedDataType: "phone", LeakSource: "app", Reason: "x", OperatorClass: "huge"})
	wantCode(t, "bad class", err, codes.InvalidArgument, "operator_class")
	_, err = e.api.RecordNotificationDecision(ctx, &escalationv1.RecordNotificationDecisionRequest{EscalationId: "00000000-0000-4000-8000-000000000002", Decision: "not_notify"})
	wantCode(t, "not_notify without reason", err, codes.InvalidArgument, "reason")
}

// Paging walks every escalation once, newest first.
func TestEscalationListPaging(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{})
	ctx := h.as("officer.wang")
	var ids []string
	for i := range 5 {
		sub, err := h.api.SubmitComplaint(ctx, submission(fmt.Sprintf("esc-page-%04d", i)))
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.api.EscalateManually(ctx, &escalationv1.EscalateManuallyRequest{CaseId: sub.GetCase().GetId(), Reason: "paging"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{r.GetEscalation().GetId()}, ids...)
	}
	var seen []string
	tok := ""
	for {
		l, err := e.api.ListEscalations(ctx, &escalationv1.ListEscalationsRequest{Kinds: []string{wf.KindManual}, PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range l.GetEscalations() {
			seen = append(seen, x.GetId())
		}
		if tok = l.GetNextPageToken(); tok == "" {
			break
		}
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("paged %v\nwant  %v", seen, ids)
	}
}

// testPKI is a CA with a server and a client certificate, for a regulator
// endpoint that requires mutual TLS.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Regulator CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) tls.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{pool: pool, server: leaf(2, "regulator.test", x509.ExtKeyUsageServerAuth),
		client: leaf(3, "operator.example", x509.ExtKeyUsageClientAuth)}
}

// fakeRegulator behaves like a regulator's filing endpoint: it requires a
// client certificate and a valid signature, files once per idempotency key,
// and misbehaves on cue: the first request is received and filed but answered
// too late, the second fails with 500, later ones acknowledge.
type fakeRegulator struct {
	mu       sync.Mutex
	requests []string          // idempotency keys, in order
	filings  map[string]string // idempotency key -> acknowledgement id
	badSig   int
	release  chan struct{}
}

func (f *fakeRegulator) ServeHTTP(w http.ResponseWriter, r *http.Request, pub ed25519.PublicKey) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(regulator.HeaderIdempotencyKey)
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, key)
	if !regulator.VerifySignature(pub, body, r.Header.Get(regulator.HeaderSignature)) {
		f.badSig++
		f.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if n == 1 {
		f.mu.Unlock()
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ack, ok := f.filings[key]
	if !ok {
		ack = fmt.Sprintf("MIIT-ACK-%d", len(f.filings)+1)
		f.filings[key] = ack
	}
	f.mu.Unlock()
	if n == 0 {
		<-f.release // answer after the client gave up
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"acknowledgement_id":%q}`, ack)
}

// The done-when path: a complaint overdue from the start breaches its
// acknowledgement deadline; the complaint workflow opens the sla_breach
// escalation (escalation.Open); its workflow packages it and files it over HTTPS with mutual
// TLS and a signature to a regulator that first times out, then answers 500,
// then acknowledges. One filing exists at the regulator and the
// acknowledgement reference lands on the escalation.
func TestSLABreachFiledOverHTTPSDespiteTimeoutAnd500(t *testing.T) {
	pki := newTestPKI(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	reg := &fakeRegulator{filings: map[string]string{}, release: make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reg.ServeHTTP(w, r, pub) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool}
	srv.StartTLS()
	t.Cleanup(func() { close(reg.release); srv.Close() })

	// Without a client certificate the endpoint refuses the connection.
	anon := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	if resp, err := anon.Post(srv.URL, "application/json", strings.NewReader("{}")); err == nil {
		_ = resp.Body.Close()
		t.Fatal("the regulator endpoint accepted a client without a certificate")
	}
	reg.requests = nil

	adapter := &regulator.HTTPS{URL: srv.URL, SigningKey: priv, KeyID: "operator-2026",
		Client: &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}}}}}
	received := time.Now().Add(-72 * time.Hour)
	h := newHarness(t, options{now: func() time.Time { return received }})
	e := startEscalation(h, escOptions{dir: &regulator.Directory{Default: adapter}})
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), submission("esc-breach-0001"))
	if err != nil {
		t.Fatal(err)
	}
	caseID := sub.GetCase().GetId()
	var id string
	h.eventually("sla_breach escalation", 60*time.Second, func() bool {
		l, err := e.api.ListEscalations(h.ctx, &escalationv1.ListEscalationsRequest{CaseId: caseID, Kinds: []string{wf.KindSLABreach}})
		if err != nil || len(l.GetEscalations()) == 0 {
			return false
		}
		id = l.GetEscalations()[0].GetId()
		return true
	})
	got := e.waitFor(h, id, "acknowledgement", func(x *escalationv1.Escalation) bool { return x.GetStatus() == wf.StatusAcknowledged })

	reg.mu.Lock()
	requests, filings, badSig := slices.Clone(reg.requests), len(reg.filings), reg.badSig
	reg.mu.Unlock()
	if filings != 1 || badSig != 0 {
		t.Fatalf("regulator holds %d filings (bad signatures %d), want exactly 1", filings, badSig)
	}
	if len(requests) != 3 || requests[0] != id || requests[1] != id || requests[2] != id {
		t.Fatalf("requests %v: want three attempts, each with idempotency key %s", requests, id)
	}
	if got.GetAckReference() != "MIIT-ACK-1" || got.GetDeadlineKind() != "acknowledgement" || got.GetAdapter() != wf.AdapterHTTPS {
		t.Fatalf("escalation %+v", got)
	}
	if len(got.GetFilings()) != 1 || got.GetFilings()[0].GetOutcome() != wf.OutcomeAcknowledged || got.GetFilings()[0].GetPackageSha256() != got.GetPackageSha256() {
		t.Fatalf("filings on record %+v", got.GetFilings())
	}
	// Opened by the escalation service (the complaint worker only asked), so its opening is on the chain too.
	if acts := auditActions(t, h, id); !slices.Equal(acts, []string{"escalation.opened", "escalation.packaged", "escalation.submitted"}) {
		t.Fatalf("escalation audit %v", acts)
	}
}

// A report of a malicious program opens a mandatory report without anyone
// acting, due when the policy says (cn/C3: 2 hours, CSL 2026 Art. 50); its
// steps are recorded on it.
func TestMaliciousProgramOpensMandatoryReport(t *testing.T) {
	h := newHarness(t, options{})
	e := startEscalation(h, escOptions{})
	req := submission("esc-malware-0001")
	req.Kind = intakev1.CaseKind_CASE_KIND_REPORT
	req.Category = intakev1.Category_CATEGORY_MALICIOUS_PROGRAM
	req.Subject = &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_URL, Value: "https://bad.example/app.apk"}
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), req)
	if err != nil {
		t.Fatal(err)
	}
	c := sub.GetCase()
	var m *escalationv1.Escalation
	h.eventually("mandatory report", 30*time.Second, func() bool {
		l, err := e.api.ListEscalations(h.ctx, &escalationv1.ListEscalationsRequest{CaseId: c.GetId(), Kinds: []string{wf.KindMandatoryReport}})
		if err != nil || len(l.GetEscalations()) != 1 {
			return false
		}
		m = l.GetEscalations()[0]
		return true
	})
	if want := c.GetReceivedAt().AsTime().Add(2 * time.Hour); !m.GetDueAt().AsTime().Equal(want) ||
		m.GetDueRule() != "cn/C3" || m.GetDueCitation() != "CSL 2026 Art. 50" || m.GetOpenedBy() != store.SystemActor {
		t.Fatalf("mandatory report due %v (%s, %s) by %s; want %v", m.GetDueAt().AsTime(), m.GetDueRule(), m.GetDueCitation(), m.GetOpenedBy(), want)
	}
	m = e.waitFor(h, m.GetId(), "workflow running", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })
	for _, step := range []string{"stop", "eliminate", "keep_records", "suspend_account"} {
		if _, err := e.api.RecordStep(h.as("agent.li"), &escalationv1.RecordStepRequest{EscalationId: m.GetId(), Step: step}); err != nil {
			t.Fatalf("step %s: %v", step, err)
		}
	}
	_, err = e.api.RecordStep(h.as("agent.li"), &escalationv1.RecordStepRequest{EscalationId: m.GetId(), Step: "forget"})
	wantCode(t, "unknown step", err, codes.InvalidArgument, "step")
	// Filing the report by hand with the competent department is the last step.
	if _, err := e.api.RecordFiling(h.as("agent.li"), &escalationv1.RecordFilingRequest{EscalationId: m.GetId(), Reference: "CAC-12377-0001"}); err != nil {
		t.Fatal(err)
	}
	got := e.get(h, m.GetId())
	var steps []string
	for _, s := range got.GetSteps() {
		steps = append(steps, s.GetStep())
	}
	if !slices.Equal(steps, []string{"stop", "eliminate", "keep_records", "suspend_account", "report"}) || got.GetSteps()[0].GetActor() != "agent.li" {
		t.Fatalf("steps %v", got.GetSteps())
	}
	// The case's timeline shows each step.
	recs, err := audit.ForObject(h.ctx, h.db, "case", c.GetId())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Action == "case.mandatory_report_step" {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("case timeline shows %d mandatory-report steps, want 5", n)
	}
	// Opened once: the case's workflow asking again (as each of its runs
	// does when it loads the case) opens nothing more.
	acts := &worker.Activities{DB: h.db, Keys: h.keys, Policy: h.policy, Log: h.log, Escalations: esc.Command{Temporal: h.tc}}
	if _, err := acts.LoadCase(h.ctx, c.GetId()); err != nil {
		t.Fatal(err)
	}
	var reports, opened int64
	h.db.Model(&store.Escalation{}).Where("case_id = ? AND kind = ?", c.GetId(), wf.KindMandatoryReport).Count(&reports)
	h.db.Table("audit_entries").Where("action = 'escalation.opened' AND object_id = ?", m.GetId()).Count(&opened)
	if reports != 1 || opened != 1 {
		t.Fatalf("%d mandatory reports, opened %d times; want 1 and 1", reports, opened)
	}
}

// 25 complaints about the same leak within the window open one incident (not
// 25) with every case in it; its deadline follows the operator class (central
// body: 2 h; re-graded critical infrastructure: 1 h). 19 complaints about
// another leak stay below the threshold. Deciding to notify sends the
// PIPL Art. 57 notice to each complainant once; the filing package carries no
// complainant's personal data.
func TestLeakClusterOpensOneIncident(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{class: wf.ClassCentralBody})
	agent := h.as("agent.li")
	leak := func(key, source string, i int) *intakev1.SubmitComplaintRequest {
		req := submission(fmt.Sprintf("%s-%04d", key, i))
		req.Category = intakev1.Category_CATEGORY_PERSONAL_INFORMATION_LEAK
		req.Complainant.Email = fmt.Sprintf("victim%02d@example.com", i)
		req.Complainant.Phone = fmt.Sprintf("+86138001%05d", i)
		req.Subject = &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_APP, Value: source, LeakedDataType: "phone", LeakSource: source}
		return req
	}
	var ids []string
	for i := range 25 {
		// The source is spelled differently by different people.
		src := "ShopFast App"
		if i%2 == 1 {
			src = " shopfast app "
		}
		sub, err := h.api.SubmitComplaint(agent, leak("leak-a", src, i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.GetCase().GetId())
	}
	for i := range 19 {
		if _, err := h.api.SubmitComplaint(agent, leak("leak-b", "QuickLoan", 100+i)); err != nil {
			t.Fatal(err)
		}
	}
	var inc *escalationv1.Escalation
	h.eventually("one incident with all 25 cases", 60*time.Second, func() bool {
		l, err := e.api.ListEscalations(h.ctx, &escalationv1.ListEscalationsRequest{Kinds: []string{wf.KindIncident}})
		if err != nil || len(l.GetEscalations()) == 0 {
			return false
		}
		if len(l.GetEscalations()) > 1 {
			t.Fatalf("%d incidents opened for one leak", len(l.GetEscalations()))
		}
		inc = l.GetEscalations()[0]
		return len(inc.GetCaseIds()) == 25
	})
	slices.Sort(ids)
	if got := slices.Sorted(slices.Values(inc.GetCaseIds())); !slices.Equal(got, ids) {
		t.Fatalf("incident cases %v\nwant %v", got, ids)
	}
	// The report clock runs from discovery: the first complaint's receipt.
	var discovered time.Time
	if err := h.db.Raw("SELECT min(received_at) FROM cases WHERE id IN ?", ids).Scan(&discovered).Error; err != nil {
		t.Fatal(err)
	}
	if inc.GetOperatorClass() != wf.ClassCentralBody || inc.GetDueRule() != wf.IncidentRuleID ||
		!inc.GetDueAt().AsTime().Equal(discovered.Add(2*time.Hour)) {
		t.Fatalf("incident class %s due %v rule %s, discovered %v", inc.GetOperatorClass(), inc.GetDueAt().AsTime(), inc.GetDueRule(), discovered)
	}
	trig := &esc.Triggers{DB: pgtest.As(t, h.db, "redress_escalation_app"), Intake: h.facts, OperatorClass: wf.ClassCentralBody}
	if n, err := trig.DetectIncidents(h.ctx); err != nil || n != 0 {
		t.Fatalf("a later pass opened %d incidents (%v): 19 complaints are below the threshold", n, err)
	}
	// The case page data of any clustered case shows the incident.
	l, err := e.api.ListEscalations(h.ctx, &escalationv1.ListEscalationsRequest{CaseId: ids[7]})
	if err != nil || len(l.GetEscalations()) != 1 || l.GetEscalations()[0].GetId() != inc.GetId() {
		t.Fatalf("escalations of a clustered case: %v %v", err, l)
	}

	// Detected, not graded: filed only once an officer grades it.
	g, err := e.api.GradeIncident(h.as("officer.wang"), &escalationv1.GradeIncidentRequest{EscalationId: inc.GetId(), OperatorClass: wf.ClassCriticalInfrastructure,
		Severity: wf.SeverityRelativelySerious})
	if err != nil {
		t.Fatal(err)
	}
	if !g.GetEscalation().GetDueAt().AsTime().Equal(discovered.Add(time.Hour)) {
		t.Fatalf("re-graded due %v", g.GetEscalation().GetDueAt().AsTime())
	}
	inc = e.waitFor(h, inc.GetId(), "incident filed for manual filing", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })
	if _, err := e.api.RecordNotificationDecision(h.as("officer.wang"), &escalationv1.RecordNotificationDecisionRequest{
		EscalationId: inc.GetId(), Decision: "notify"}); err != nil {
		t.Fatal(err)
	}
	msgs := h.smtp.WaitCount(t, 25, 60*time.Second)
	seen := map[string]bool{}
	for _, m := range msgs {
		for _, want := range []string{"What happened", "phone", "Possible harm", "What you can do", "privacy@operator.example"} {
			if !strings.Contains(m.Body, want) {
				t.Fatalf("incident notice lacks %q:\n%s", want, m.Body)
			}
		}
		seen[strings.Join(m.To, ",")] = true
	}
	if len(seen) != 25 {
		t.Fatalf("notices reached %d distinct complainants, want 25", len(seen))
	}
	_, err = e.api.RecordNotificationDecision(h.as("officer.wang"), &escalationv1.RecordNotificationDecisionRequest{
		EscalationId: inc.GetId(), Decision: "not_notify", Reason: "changed mind"})
	wantCode(t, "second decision", err, codes.FailedPrecondition, "already")

	pkg, err := e.api.GetFilingPackage(h.ctx, &escalationv1.GetFilingPackageRequest{EscalationId: inc.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg.GetZip()), int64(len(pkg.GetZip())))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var manifest filing.Manifest
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		for _, pi := range []string{"victim07@example.com", "+8613800100007", "Zhang San"} {
			if bytes.Contains(b, []byte(pi)) {
				t.Fatalf("%s in the filing package holds personal data %q", f.Name, pi)
			}
		}
		if f.Name == filing.SummaryFile && !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("summary is not a PDF")
		}
		if f.Name == filing.ManifestFile {
			if err := json.Unmarshal(b, &manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []string{filing.ManifestFile, filing.CasesFile, filing.TimelineFile, filing.EvidenceFile, filing.ProofFile, filing.CheckpointsFile, filing.SummaryFile}; !slices.Equal(names, want) {
		t.Fatalf("package files %v, want %v", names, want)
	}
	// The package holds the cases linked when it was built (the detector may
	// link the last few later): each one's submission entry and the incident's.
	if m := manifest.Escalation; m.Severity != wf.SeverityRelativelySerious || m.DiscoveredAt == nil || !m.DiscoveredAt.Equal(discovered) {
		t.Fatalf("package severity %q discovered %v, want %s and %v", m.Severity, m.DiscoveredAt, wf.SeverityRelativelySerious, discovered)
	}
	cases := len(manifest.Escalation.CaseIDs)
	if cases < 20 || cases > 25 {
		t.Fatalf("package of %d cases", cases)
	}
	if v, err := filing.VerifyPackage(h.ctx, h.db, pkg.GetZip()); err != nil || !v.OK || v.Entries < cases+1 {
		t.Fatalf("package proof of %d cases: %+v %v", cases, v, err)
	}
}

// A regulator referral with a due date opens a regulator inquiry due then,
// addressed to the referring body.
func TestRegulatorReferralOpensInquiry(t *testing.T) {
	h := newHarness(t, options{})
	e := startEscalation(h, escOptions{})
	due := time.Now().Add(5 * 24 * time.Hour).UTC().Truncate(time.Second)
	req := submission("esc-inquiry-0001")
	req.Channel = intakev1.Channel_CHANNEL_REGULATOR_REFERRAL
	req.ReferringBody = intakev1.ReferringBody_REFERRING_BODY_12321
	req.RegulatorDueAt = timestamppb.New(due)
	sub, err := h.api.SubmitComplaint(h.as("automation.12321"), req)
	if err != nil {
		t.Fatal(err)
	}
	var q *escalationv1.Escalation
	h.eventually("regulator inquiry", 30*time.Second, func() bool {
		l, err := e.api.ListEscalations(h.ctx, &escalationv1.ListEscalationsRequest{CaseId: sub.GetCase().GetId()})
		if err != nil || len(l.GetEscalations()) != 1 {
			return false
		}
		q = l.GetEscalations()[0]
		return true
	})
	if q.GetKind() != wf.KindRegulatorInquiry || !q.GetDueAt().AsTime().Equal(due) || q.GetRegulator() != "12321" || q.GetDueRule() != "cn/P6" {
		t.Fatalf("inquiry %+v", q)
	}
	// Its workflow packages the filing for the regulator.
	e.waitFor(h, q.GetId(), "inquiry packaged", func(x *escalationv1.Escalation) bool { return x.GetPackageSha256() != "" })
}

// An officer opens an incident by hand and links further cases; a case
// already in an incident, an unknown case, or linking on a non-incident is
// refused and changes nothing.
func TestManualIncidentAndLinking(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{})
	officer := h.as("officer.wang")
	var ids []string
	for i := range 3 {
		sub, err := h.api.SubmitComplaint(officer, submission(fmt.Sprintf("esc-inc-%04d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.GetCase().GetId())
	}
	r, err := e.api.OpenIncident(officer, &escalationv1.OpenIncidentRequest{LeakedDataType: "id_number", LeakSource: "partner CRM export",
		CaseIds: ids[:1], Reason: "partner reported a misdirected export", Severity: wf.SeveritySerious})
	if err != nil {
		t.Fatal(err)
	}
	inc := r.GetEscalation()
	var discovered time.Time // its first case's receipt
	if err := h.db.Raw("SELECT received_at FROM cases WHERE id = ?", ids[0]).Scan(&discovered).Error; err != nil {
		t.Fatal(err)
	}
	if inc.GetOperatorClass() != wf.ClassOther || !inc.GetDueAt().AsTime().Equal(discovered.Add(4*time.Hour)) {
		t.Fatalf("incident %+v", inc)
	}
	e.waitFor(h, inc.GetId(), "workflow running", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })
	// The discovery time: never in the future, never after the first
	// complaint; earlier moves the deadline with it.
	_, err = e.api.SetIncidentDiscovery(officer, &escalationv1.SetIncidentDiscoveryRequest{EscalationId: inc.GetId(),
		DiscoveredAt: timestamppb.New(time.Now().Add(time.Hour))})
	wantCode(t, "future discovery", err, codes.InvalidArgument, "discovered_at")
	_, err = e.api.SetIncidentDiscovery(officer, &escalationv1.SetIncidentDiscoveryRequest{EscalationId: inc.GetId(),
		DiscoveredAt: timestamppb.New(discovered.Add(time.Second))})
	wantCode(t, "discovery after the first complaint", err, codes.InvalidArgument, "discovered_at")
	d, err := e.api.SetIncidentDiscovery(officer, &escalationv1.SetIncidentDiscoveryRequest{EscalationId: inc.GetId(),
		DiscoveredAt: timestamppb.New(discovered.Add(-3 * time.Hour))})
	if err != nil || !d.GetEscalation().GetDueAt().AsTime().Equal(discovered.Add(time.Hour)) ||
		!d.GetEscalation().GetDiscoveredAt().AsTime().Equal(discovered.Add(-3*time.Hour)) {
		t.Fatalf("earlier discovery: %v %v", err, d.GetEscalation())
	}
	_, err = e.api.LinkCases(officer, &escalationv1.LinkCasesRequest{EscalationId: inc.GetId(), CaseIds: []string{ids[1], ids[0]}})
	wantCode(t, "case already in the incident", err, codes.FailedPrecondition, ids[0])
	_, err = e.api.LinkCases(officer, &escalationv1.LinkCasesRequest{EscalationId: inc.GetId(), CaseIds: []string{"00000000-0000-4000-8000-000000000009"}})
	wantCode(t, "unknown case", err, codes.NotFound, "case_ids[0]")
	if got := e.get(h, inc.GetId()).GetCaseIds(); len(got) != 1 {
		t.Fatalf("refused links changed the incident: %v", got)
	}
	l, err := e.api.LinkCases(officer, &escalationv1.LinkCasesRequest{EscalationId: inc.GetId(), CaseIds: ids[1:]})
	if err != nil || len(l.GetEscalation().GetCaseIds()) != 3 {
		t.Fatalf("link: %v %v", err, l.GetEscalation().GetCaseIds())
	}
	m, err := e.api.EscalateManually(officer, &escalationv1.EscalateManuallyRequest{CaseId: ids[2], Reason: "VIP"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(h, m.GetEscalation().GetId(), "workflow running", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })
	_, err = e.api.GradeIncident(officer, &escalationv1.GradeIncidentRequest{EscalationId: m.GetEscalation().GetId(), OperatorClass: wf.ClassCentralBody, Severity: wf.SeveritySerious})
	wantCode(t, "grade a manual escalation", err, codes.FailedPrecondition, "incident")
	_, err = e.api.RecordNotificationDecision(officer, &escalationv1.RecordNotificationDecisionRequest{EscalationId: inc.GetId(),
		Decision: "not_notify", Reason: "the exported numbers were encrypted; no risk to the individuals"})
	if err != nil {
		t.Fatal(err)
	}
	if x := e.get(h, inc.GetId()); x.GetNotifyDecision() != "not_notify" || x.GetNotifyReason() == "" {
		t.Fatalf("decision %q reason %q", x.GetNotifyDecision(), x.GetNotifyReason())
	}
}

// A regulator that answers 202 acknowledges later through the signed
// callback: only the body the escalation was filed with, with a valid
// signature, and only once.
func TestLateAcknowledgementByCallback(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader) // the operator's signing key
	regPub, regPriv, _ := ed25519.GenerateKey(rand.Reader)
	filer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !regulator.VerifySignature(pub, b, r.Header.Get(regulator.HeaderSignature)) {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"receipt_id":"RCPT-5"}`)
	}))
	t.Cleanup(filer.Close)
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{dir: &regulator.Directory{Default: &regulator.HTTPS{URL: filer.URL, Client: filer.Client(), SigningKey: priv}}})
	cb := httptest.NewServer(&regulator.Callback{Keys: map[string]ed25519.PublicKey{esc.DefaultBody: regPub, "cac": regPub},
		Acknowledge: e.srv.AcknowledgeFromRegulator})
	t.Cleanup(cb.Close)
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), submission("esc-callback-0001"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.api.EscalateManually(h.as("officer.wang"), &escalationv1.EscalateManuallyRequest{CaseId: sub.GetCase().GetId(), Reason: "late ack"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.GetEscalation().GetId()
	got := e.waitFor(h, id, "filed", func(x *escalationv1.Escalation) bool { return x.GetStatus() == wf.StatusFiled })
	if got.GetFilingReference() != "RCPT-5" {
		t.Fatalf("filing reference %q", got.GetFilingReference())
	}
	post := func(body string, key ed25519.PrivateKey, payload string) int {
		req, _ := http.NewRequest(http.MethodPost, cb.URL, strings.NewReader(payload))
		req.Header.Set(regulator.HeaderBody, body)
		req.Header.Set(regulator.HeaderRegulatorSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(payload))))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	payload := fmt.Sprintf(`{"escalation_id":%q,"acknowledgement_id":"CAC-ACK-31"}`, id)
	_, forged, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		name, body string
		key        ed25519.PrivateKey
		payload    string
		want       int
	}{
		{"forged signature", esc.DefaultBody, forged, payload, http.StatusUnauthorized},
		{"unknown body", "12321", regPriv, payload, http.StatusUnauthorized},
		{"another body's filing", "cac", regPriv, payload, http.StatusNotFound},
		{"unknown escalation", esc.DefaultBody, regPriv, `{"escalation_id":"00000000-0000-4000-8000-000000000003","acknowledgement_id":"X"}`, http.StatusNotFound},
		{"no id", esc.DefaultBody, regPriv, `{"escalation_id":"` + id + `"}`, http.StatusBadRequest},
	} {
		if code := post(c.body, c.key, c.payload); code != c.want {
			t.Fatalf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	if x := e.get(h, id); x.GetStatus() != wf.StatusFiled {
		t.Fatalf("refused callbacks changed the escalation: %s", x.GetStatus())
	}
	if code := post(esc.DefaultBody, regPriv, payload); code != http.StatusNoContent {
		t.Fatalf("callback: %d", code)
	}
	if x := e.get(h, id); x.GetStatus() != wf.StatusAcknowledged || x.GetAckReference() != "CAC-ACK-31" {
		t.Fatalf("after callback: %s %q", x.GetStatus(), x.GetAckReference())
	}
	if code := post(esc.DefaultBody, regPriv, payload); code != http.StatusConflict {
		t.Fatalf("second callback: %d, want 409", code)
	}
	recs, _ := audit.ForObject(h.ctx, h.db, "escalation", id)
	if last := recs[len(recs)-1]; last.Action != "escalation.acknowledge" || last.Actor != "regulator:default" {
		t.Fatalf("last audit entry %s by %s", last.Action, last.Actor)
	}
}

// A regulator that takes the filing but never acknowledges it: after the
// wait (reminder at half) and no re-submission left, the supervisors get
// one alert by mail and the escalation shows it.
func TestUnacknowledgedFilingAlertsSupervisor(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	filer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !regulator.VerifySignature(pub, b, r.Header.Get(regulator.HeaderSignature)) {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(filer.Close)
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{alertTo: []string{"duty.supervisor@operator.example"}, timing: wf.Timing{AckWait: 2 * time.Second, Resubmissions: -1},
		dir: &regulator.Directory{Default: &regulator.HTTPS{URL: filer.URL, Client: filer.Client(), SigningKey: priv}}})
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), submission("esc-alert-0001"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.api.EscalateManually(h.as("officer.wang"), &escalationv1.EscalateManuallyRequest{CaseId: sub.GetCase().GetId(), Reason: "no answer"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.GetEscalation().GetId()
	m := h.smtp.WaitFor(t, 60*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Subject, id) })
	if m.To[0] != "duty.supervisor@operator.example" || !strings.Contains(m.Body, sub.GetCase().GetCaseNumber()) || strings.Contains(m.Body, "Zhang San") {
		t.Fatalf("alert to %v:\n%s", m.To, m.Body)
	}
	got := e.waitFor(h, id, "alert recorded", func(x *escalationv1.Escalation) bool { return x.GetSupervisorAlertedAt() != nil })
	if got.GetStatus() != wf.StatusFiled || len(got.GetFilings()) != 1 {
		t.Fatalf("status %s filings %d", got.GetStatus(), len(got.GetFilings()))
	}
	want := []string{"escalation.opened", "escalation.packaged", "escalation.submitted", "escalation.ack_reminder", "escalation.supervisor_alert"}
	if acts := auditActions(t, h, id); !slices.Equal(acts, want) {
		t.Fatalf("audit %v\nwant  %v", acts, want)
	}
}

// A retried escalation with the same idempotency key answers the first one;
// the key reused for another case is refused.
func TestEscalateManuallyIdempotent(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{})
	ctx := h.as("officer.wang")
	var cases []string
	for i := range 2 {
		sub, err := h.api.SubmitComplaint(ctx, submission(fmt.Sprintf("esc-idem-%04d", i)))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, sub.GetCase().GetId())
	}
	req := &escalationv1.EscalateManuallyRequest{CaseId: cases[0], Reason: "retry me", IdempotencyKey: "console-7f3a9c21"}
	a, err := e.api.EscalateManually(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.api.EscalateManually(ctx, req)
	if err != nil || b.GetEscalation().GetId() != a.GetEscalation().GetId() {
		t.Fatalf("retry: %v, %s vs %s", err, b.GetEscalation().GetId(), a.GetEscalation().GetId())
	}
	_, err = e.api.EscalateManually(ctx, &escalationv1.EscalateManuallyRequest{CaseId: cases[1], Reason: "x", IdempotencyKey: "console-7f3a9c21"})
	wantCode(t, "key reused", err, codes.AlreadyExists, "idempotency_key")
	_, err = e.api.EscalateManually(ctx, &escalationv1.EscalateManuallyRequest{CaseId: cases[1], Reason: "x", IdempotencyKey: "short"})
	wantCode(t, "bad key", err, codes.InvalidArgument, "idempotency_key")
	var n int64
	h.db.Model(&store.Escalation{}).Where("kind = 'manual'").Count(&n)
	if n != 1 {
		t.Fatalf("%d manual escalations on record, want 1", n)
	}
}

// An incident an officer grades "general" (below "relatively serious") is
// recorded without a report deadline and is not filed; re-graded
// "relatively serious", its workflow files it, due from its discovery.
func TestIncidentBelowThresholdRecordedNotFiled(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	e := startEscalation(h, escOptions{})
	officer := h.as("officer.wang")
	sub, err := h.api.SubmitComplaint(officer, submission("esc-general-0001"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.api.OpenIncident(officer, &escalationv1.OpenIncidentRequest{LeakedDataType: "nickname", LeakSource: "forum cache",
		CaseIds: []string{sub.GetCase().GetId()}, Reason: "cached public nicknames", Severity: wf.SeverityGeneral})
	if err != nil {
		t.Fatal(err)
	}
	inc := r.GetEscalation()
	if inc.GetSeverity() != wf.SeverityGeneral || inc.GetDueAt() != nil || inc.GetGradedBy() != "officer.wang" {
		t.Fatalf("incident graded general: %+v", inc)
	}
	// An update answers once the workflow runs past its record: the filing
	// would follow at once.
	discovered := inc.GetDiscoveredAt().AsTime().Add(-time.Hour)
	if _, err := e.api.SetIncidentDiscovery(officer, &escalationv1.SetIncidentDiscoveryRequest{EscalationId: inc.GetId(),
		DiscoveredAt: timestamppb.New(discovered)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if x := e.get(h, inc.GetId()); len(x.GetFilings()) != 0 || x.GetPackageSha256() != "" || x.GetDueAt() != nil || x.GetStatus() != wf.StatusOpen {
		t.Fatalf("an incident below the threshold was packaged or filed: %+v", x)
	}
	g, err := e.api.GradeIncident(officer, &escalationv1.GradeIncidentRequest{EscalationId: inc.GetId(), Severity: wf.SeverityRelativelySerious})
	if err != nil || !g.GetEscalation().GetDueAt().AsTime().Equal(discovered.Add(4*time.Hour)) {
		t.Fatalf("re-graded: %v %+v", err, g.GetEscalation())
	}
	e.waitFor(h, inc.GetId(), "filed once re-graded", func(x *escalationv1.Escalation) bool { return len(x.GetFilings()) == 1 })
}
