package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/notify/smtptest"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
)

func submission(key string) *intakev1.SubmitComplaintRequest {
	return &intakev1.SubmitComplaintRequest{
		IdempotencyKey: key,
		Kind:           intakev1.CaseKind_CASE_KIND_COMPLAINT,
		Category:       intakev1.Category_CATEGORY_SPAM_SMS,
		Channel:        intakev1.Channel_CHANNEL_WEB_FORM,
		Complainant: &intakev1.Complainant{
			Name: "Zhang San", Phone: "+8613800138000", Email: "zhang.san@example.com",
		},
		Subject:     &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_PHONE_NUMBER, Value: "+8610690000001", LeakedDataType: "phone"},
		Description: "Loan offers by SMS every day since my number leaked.",
	}
}

func code(err error) codes.Code { return status.Code(err) }

// The foundation path: submit → accept → assign → resolve → close, over gRPC,
// with notices by SMTP, deadlines from the CN policy, and an intact audit chain.
func TestComplaintLifecycleEndToEnd(t *testing.T) {
	h := newHarness(t, options{})
	agent := h.as("agent.li")

	sub, err := h.api.SubmitComplaint(agent, submission("lifecycle-0001"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	c := sub.GetCase()
	if !strings.HasPrefix(c.GetCaseNumber(), "C-20") || len(sub.GetLookupCode()) != 8 {
		t.Fatalf("case number %q / lookup code %q", c.GetCaseNumber(), sub.GetLookupCode())
	}
	if c.GetState() != intakev1.CaseState_CASE_STATE_RECEIVED {
		t.Fatalf("state = %v", c.GetState())
	}
	if c.GetResolution().GetRuleId() != "cn/A1" || c.GetAcknowledgement().GetRuleId() != "cn/C1" {
		t.Fatalf("rules = %q / %q", c.GetAcknowledgement().GetRuleId(), c.GetResolution().GetRuleId())
	}
	if got := c.GetAcknowledgement().GetDueAt().AsTime().Sub(c.GetReceivedAt().AsTime()); got != 24*time.Hour {
		t.Fatalf("acknowledgement due %v after receipt, want 24h", got)
	}
	if c.GetComplainant().GetPhone() == "+8613800138000" || !strings.Contains(c.GetComplainant().GetPhone(), "****") {
		t.Fatalf("phone not masked: %q", c.GetComplainant().GetPhone())
	}

	// The workflow starts and sends the acknowledgement with the lookup code.
	ack := h.smtp.WaitFor(t, 20*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, c.GetCaseNumber()) })
	if !strings.Contains(ack.Body, sub.GetLookupCode()) || ack.To[0] != "zhang.san@example.com" {
		t.Fatalf("acknowledgement to %v lacks the lookup code:\n%s", ack.To, ack.Body)
	}

	// Illegal transition: the workflow's validator refuses, the service answers FAILED_PRECONDITION.
	_, err = h.api.ResolveCase(agent, &intakev1.ResolveCaseRequest{CaseId: c.GetId(), Feedback: "done"})
	if code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "received") {
		t.Fatalf("resolve in received: %v", err)
	}
	var drafts int64
	h.db.Model(&records.CaseMessage{}).Where("case_id = ? AND status <> ?", c.GetId(), records.MessageDiscarded).Count(&drafts)
	if drafts != 0 {
		t.Fatalf("a refused action left %d live message rows", drafts)
	}

	steps := []struct {
		name string
		call func() (*intakev1.Case, error)
		want intakev1.CaseState
	}{
		{"accept", func() (*intakev1.Case, error) {
			r, err := h.api.AcceptCase(agent, &intakev1.AcceptCaseRequest{CaseId: c.GetId()})
			return r.GetCase(), err
		}, intakev1.CaseState_CASE_STATE_ACCEPTED},
		{"assign", func() (*intakev1.Case, error) {
			r, err := h.api.AssignCase(h.as("supervisor.wang"), &intakev1.AssignCaseRequest{CaseId: c.GetId(), Assignee: "agent.li"})
			return r.GetCase(), err
		}, intakev1.CaseState_CASE_STATE_IN_PROGRESS},
		{"request information", func() (*intakev1.Case, error) {
			r, err := h.api.RequestInformation(agent, &intakev1.RequestInformationRequest{CaseId: c.GetId(), Question: "Which number sends the SMS?"})
			return r.GetCase(), err
		}, intakev1.CaseState_CASE_STATE_AWAITING_COMPLAINANT},
		{"complainant answers", func() (*intakev1.Case, error) {
			r, err := h.api.RecordComplainantResponse(agent, &intakev1.RecordComplainantResponseRequest{CaseId: c.GetId(), Body: "10690000001"})
			return r.GetCase(), err
		}, intakev1.CaseState_CASE_STATE_IN_PROGRESS},
		{"resolve", func() (*intakev1.Case, error) {
			r, err := h.api.ResolveCase(agent, &intakev1.ResolveCaseRequest{CaseId: c.GetId(), Feedback: "The sender is blocked and reported to 12321."})
			return r.GetCase(), err
		}, intakev1.CaseState_CASE_STATE_RESOLVED},
		{"close", func() (*intakev1.Case, error) {
			r, err := h.api.CloseCase(agent, &intakev1.CloseCaseRequest{CaseId: c.GetId()})
			return r.GetCase(), err
		}, intakev1.CaseState_CASE_STATE_CLOSED},
	}
	for _, s := range steps {
		got, err := s.call()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got.GetState() != s.want {
			t.Fatalf("%s: state %v, want %v", s.name, got.GetState(), s.want)
		}
	}
	final, err := h.api.GetCase(agent, &intakev1.GetCaseRequest{CaseId: c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if final.GetCase().GetAcknowledgement().GetStatus() != "met" || final.GetCase().GetResolution().GetStatus() != "met" {
		t.Fatalf("deadlines not met: %v / %v", final.GetCase().GetAcknowledgement(), final.GetCase().GetResolution())
	}
	// A closed case takes no more actions.
	if _, err := h.api.ReopenCase(agent, &intakev1.ReopenCaseRequest{CaseId: c.GetId(), Reason: "again"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("reopen closed: %v", err)
	}
	// The result notice carried the feedback text.
	h.smtp.WaitFor(t, 20*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Body, "reported to 12321") })

	// The workflow finished; the audit trail holds every step, chained.
	desc, err := h.tc.DescribeWorkflowExecution(h.ctx, complaint.WorkflowID(c.GetId()), "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("workflow status %v", st)
	}
	trail, err := audit.ForObject(h.ctx, h.db, "case", c.GetId())
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range trail {
		actions = append(actions, r.Action)
	}
	joined := strings.Join(actions, ",")
	for _, want := range []string{"case.submitted", "case.accept", "case.assign", "case.request_information",
		"case.complainant_replied", "case.resolve", "case.close", "case.notice_sent"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("audit trail %v lacks %s", actions, want)
		}
	}
	res, err := audit.Verify(h.ctx, h.db, audit.VerifyOptions{})
	if err != nil || !res.OK {
		t.Fatalf("audit verify: %+v, %v", res, err)
	}
}

func TestIdempotentSubmission(t *testing.T) {
	h := newHarness(t, options{})
	ctx := h.as("partner.feed")
	first, err := h.api.SubmitComplaint(ctx, submission("idem-key-0001"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.api.SubmitComplaint(ctx, submission("idem-key-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if again.GetCase().GetId() != first.GetCase().GetId() || !again.GetReplayed() || again.GetLookupCode() != first.GetLookupCode() {
		t.Fatalf("replay gave case %s (replayed=%v), want %s", again.GetCase().GetId(), again.GetReplayed(), first.GetCase().GetId())
	}
	// The same key with a different submission is refused, naming the field.
	other := submission("idem-key-0001")
	other.Description = "something else"
	_, err = h.api.SubmitComplaint(ctx, other)
	if code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "idempotency_key") {
		t.Fatalf("reused key: %v", err)
	}
	// The same key from another principal is another submission.
	elsewhere, err := h.api.SubmitComplaint(h.as("other.partner"), submission("idem-key-0001"))
	if err != nil || elsewhere.GetCase().GetId() == first.GetCase().GetId() {
		t.Fatalf("other principal: %v, same case %v", err, elsewhere.GetCase().GetId() == first.GetCase().GetId())
	}
	// Concurrent retries of one key make one case.
	var wg sync.WaitGroup
	ids := make([]string, 12)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := h.api.SubmitComplaint(ctx, submission("idem-key-race"))
			if err != nil {
				t.Errorf("concurrent submit: %v", err)
				return
			}
			ids[i] = r.GetCase().GetId()
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent submits made different cases: %v", ids)
		}
	}
	var n int64
	h.db.Model(&records.Case{}).Count(&n)
	if n != 3 {
		t.Fatalf("%d cases on record, want 3", n)
	}
}

func TestSubmitValidationNamesFields(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	cases := []struct {
		name  string
		edit  func(r *intakev1.SubmitComplaintRequest)
		field string
	}{
		{"short key", func(r *intakev1.SubmitComplaintRequest) { r.IdempotencyKey = "x" }, "idempotency_key"},
		{"no category", func(r *intakev1.SubmitComplaintRequest) { r.Category = 0 }, "category"},
		{"unknown channel", func(r *intakev1.SubmitComplaintRequest) { r.Channel = 99 }, "channel"},
		{"no contact", func(r *intakev1.SubmitComplaintRequest) { r.Complainant.Phone, r.Complainant.Email = "", "" }, "complainant"},
		{"bad phone", func(r *intakev1.SubmitComplaintRequest) { r.Complainant.Phone = "138-0013" }, "complainant.phone"},
		{"bad email", func(r *intakev1.SubmitComplaintRequest) { r.Complainant.Email = "not an email" }, "complainant.email"},
		{"empty description", func(r *intakev1.SubmitComplaintRequest) { r.Description = "   " }, "description"},
		{"referral without body", func(r *intakev1.SubmitComplaintRequest) { r.Channel = intakev1.Channel_CHANNEL_REGULATOR_REFERRAL }, "referring_body"},
		{"control characters", func(r *intakev1.SubmitComplaintRequest) { r.Description = "a\x00b" }, "description"},
		{"fake pdf", func(r *intakev1.SubmitComplaintRequest) {
			r.Attachments = []*intakev1.AttachmentUpload{{FileName: "x.pdf", ContentType: "application/pdf", Content: []byte("MZ\x90\x00 not a pdf")}}
		}, "attachments[0].content"},
		{"unknown pack", func(r *intakev1.SubmitComplaintRequest) { r.PolicyPack = "mars" }, "policy_pack"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := submission(fmt.Sprintf("validation-%s", strings.ReplaceAll(tc.name, " ", "-")))
			tc.edit(req)
			_, err := h.api.SubmitComplaint(h.ctx, req)
			if code(err) != codes.InvalidArgument {
				t.Fatalf("code %v, want InvalidArgument (%v)", code(err), err)
			}
			var fields []string
			for _, d := range status.Convert(err).Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if !contains(fields, tc.field) {
				t.Fatalf("violations %v do not name %s (%v)", fields, tc.field, err)
			}
		})
	}
	var n int64
	h.db.Model(&records.Case{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d cases recorded from invalid input", n)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
