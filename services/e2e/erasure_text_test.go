package e2e

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/connectors/customertest"
	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/intake"
	wf "github.com/redress/redress/workflows/deletion"
)

// textComplaint is a complaint whose free texts carry personal data.
func textComplaint(key, phone, description, fileName string) *intakev1.SubmitComplaintRequest {
	return &intakev1.SubmitComplaintRequest{
		IdempotencyKey: key, Kind: intakev1.CaseKind_CASE_KIND_COMPLAINT,
		Category: intakev1.Category_CATEGORY_PERSONAL_INFORMATION_LEAK, Channel: intakev1.Channel_CHANNEL_API,
		Complainant: &intakev1.Complainant{Name: "Li Si", Phone: phone},
		Subject: &intakev1.Subject{Type: intakev1.SubjectType_SUBJECT_TYPE_PHONE_NUMBER, Value: phone,
			LeakedDataType: "phone", LeakSource: "courier " + phone},
		Description: description,
		Attachments: []*intakev1.AttachmentUpload{{FileName: fileName, ContentType: "text/plain", Content: []byte("evidence")}},
	}
}

// searchIDs answers the ids of the cases a text search finds.
func searchIDs(t *testing.T, h *harness, text string) map[string]bool {
	t.Helper()
	resp, err := h.api.ListCases(h.as("supervisor.wang"), &intakev1.ListCasesRequest{Text: text, PageSize: 500})
	if err != nil {
		t.Fatalf("search %q: %v", text, err)
	}
	out := map[string]bool{}
	for _, c := range resp.GetCases() {
		out[c.GetId()] = true
	}
	return out
}

// dbHolds names every table column (text, json or bytes) holding needle.
func dbHolds(t *testing.T, h *harness, needle string) []string {
	t.Helper()
	var cols []struct{ TableName, ColumnName, DataType string }
	if err := h.db.Raw(`SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = 'public' AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea')`).
		Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, c := range cols {
		cond := `position(convert_to(?, 'UTF8') in "` + c.ColumnName + `") > 0`
		if c.DataType != "bytea" {
			cond = `"` + c.ColumnName + `"::text LIKE '%' || ? || '%'`
		}
		var n int64
		if err := h.db.Raw(`SELECT count(*) FROM "`+c.TableName+`" WHERE `+cond, needle).Scan(&n).Error; err != nil {
			t.Fatalf("%s.%s: %v", c.TableName, c.ColumnName, err)
		}
		if n > 0 {
			found = append(found, c.TableName+"."+c.ColumnName)
		}
	}
	return found
}

// After the complainant is erased through the automation pipeline, the
// phone number their description, reported value, leak source and evidence
// file name quoted is nowhere: not in the gRPC answer, not found by search,
// not in any column of the database; search still finds other cases by
// English and Chinese words.
func TestErasureLeavesNoNumberInCaseTexts(t *testing.T) {
	r := newDeletionRig(t, 10)
	const who = 3
	national := customertest.Phone(who)
	phone := "+86" + national
	agent := r.as("agent.li")
	mine, err := r.harness.api.SubmitComplaint(agent, textComplaint("erase-text-1", phone,
		"my number "+phone+" leaked, call me on "+phone+" — 快递公司泄露了我的号码", "sms-from-"+national+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	id := mine.GetCase().GetId()
	other, err := r.harness.api.SubmitComplaint(agent, textComplaint("erase-text-2", "+8613700000001",
		"The parcel courier sold my address to a loan agency", "courier.txt"))
	if err != nil {
		t.Fatal(err)
	}
	otherZh, err := r.harness.api.SubmitComplaint(agent, textComplaint("erase-text-3", "+8613700000002",
		"银行客服泄露了我的身份证信息", "bank.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.harness.api.GetCase(agent, &intakev1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.GetCase().GetDescription(), phone) || got.GetCase().GetAttachments()[0].GetFileName() != "sms-from-"+national+".txt" {
		t.Fatalf("before erasure the case reads: %q / %v", got.GetCase().GetDescription(), got.GetCase().GetAttachments())
	}
	for _, q := range []string{national, phone, "快递公司", "leaked"} {
		if !searchIDs(t, r.harness, q)[id] {
			t.Fatalf("before erasure, search %q does not find the case", q)
		}
	}
	// The leak source stays clear until erasure: incidents cluster cases by it.
	if cols := dbHolds(t, r.harness, national); len(cols) != 1 || cols[0] != "cases.leak_source" {
		t.Fatalf("before erasure, the number is in clear in %v", cols)
	}

	// Nothing under a retention floor, so the request completes.
	if _, err := r.customer.Exec(`DELETE FROM call_logs WHERE caller = $1 AND started_at > now() - interval '6 months'`, national); err != nil {
		t.Fatal(err)
	}
	d, err := r.api.SubmitDeletion(r.as("pipeline.crm"), &deletionv1.SubmitDeletionRequest{IdempotencyKey: "erase-text-del",
		Type: deletionv1.RequestType_REQUEST_TYPE_ERASURE, Source: deletionv1.Source_SOURCE_PIPELINE, Email: customertest.Email(who),
		Phone: &deletionv1.PhoneIdentifier{Number: phone, HeldFrom: timestamppb.New(time.Now().AddDate(-3, 0, 0))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.api.AttestIdentity(agent, &deletionv1.AttestIdentityRequest{DeletionId: d.GetDeletion().GetId(),
		Reason: "identity checked by the CRM login of " + national}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(d.GetDeletion().GetId(), wf.StatusCompleted)

	got, err = r.harness.api.GetCase(agent, &intakev1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	c := got.GetCase()
	if c.GetDescription() != "[erased]" || c.GetSubject().GetValue() != "[erased]" || c.GetAttachments()[0].GetFileName() != "[erased]" {
		t.Fatalf("after erasure the case reads: %q / %q / %v", c.GetDescription(), c.GetSubject().GetValue(), c.GetAttachments())
	}
	if strings.Contains(got.String(), national) {
		t.Fatalf("after erasure the gRPC answer holds the number: %v", got)
	}
	for _, q := range []string{national, phone, "快递公司"} {
		if searchIDs(t, r.harness, q)[id] {
			t.Fatalf("after erasure, search %q still finds the case", q)
		}
	}
	if cols := dbHolds(t, r.harness, national); len(cols) > 0 {
		t.Fatalf("after erasure, the number is in %v", cols)
	}
	// A cancel reason naming a number is sealed under the request's key:
	// readable through the API, not in the database.
	const otherNational = "13900000005"
	c5, err := r.api.SubmitDeletion(agent, erasure("erase-text-del-5", 5, deletionv1.Source_SOURCE_AGENT, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.api.CancelDeletion(r.as("supervisor.wang"), &deletionv1.CancelDeletionRequest{DeletionId: c5.GetDeletion().GetId(),
		ReasonText: "requester called from " + otherNational + " to withdraw"}); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(c5.GetDeletion().GetId(), wf.StatusCancelled)
	g5, err := r.api.GetDeletion(agent, &deletionv1.GetDeletionRequest{DeletionId: c5.GetDeletion().GetId()})
	if err != nil || g5.GetDeletion().GetReasonText() != "requester called from "+otherNational+" to withdraw" {
		t.Fatalf("cancelled request: %v %v", g5, err)
	}
	if cols := dbHolds(t, r.harness, otherNational); len(cols) > 0 {
		t.Fatalf("the cancel reason's number is in clear in %v", cols)
	}
	// A reason written in clear before texts were sealed is sealed at start.
	if err := r.db.Exec(`UPDATE deletion_requests SET reason_text = ?, reason_text_enc = NULL WHERE id = ?`,
		"older reason naming "+otherNational, c5.GetDeletion().GetId()).Error; err != nil {
		t.Fatal(err)
	}
	if n, err := deletion.SealClearTexts(r.ctx, r.db, r.keys); err != nil || n != 1 {
		t.Fatalf("sealed %d deletion texts: %v", n, err)
	}
	if cols := dbHolds(t, r.harness, otherNational); len(cols) > 0 {
		t.Fatalf("after sealing, the older reason's number is in clear in %v", cols)
	}
	if g5, err = r.api.GetDeletion(agent, &deletionv1.GetDeletionRequest{DeletionId: c5.GetDeletion().GetId()}); err != nil ||
		g5.GetDeletion().GetReasonText() != "older reason naming "+otherNational {
		t.Fatalf("after sealing: %v %v", g5, err)
	}
	for q, want := range map[string]string{"courier": other.GetCase().GetId(), "Loan Agency": other.GetCase().GetId(),
		"身份证": otherZh.GetCase().GetId(), "银行客服": otherZh.GetCase().GetId()} {
		found := searchIDs(t, r.harness, q)
		if !found[want] || len(found) != 1 {
			t.Fatalf("search %q found %v, want only %s", q, found, want)
		}
	}
}

// clearCase submits a complaint and turns it into a row written before texts
// were sealed: clear texts, nothing sealed, no search tokens.
func clearCase(t *testing.T, h *harness) string {
	t.Helper()
	sub, err := h.api.SubmitComplaint(h.as("agent.li"), textComplaint("old-text-1", "+8613700000009",
		"旧投诉 number 13700000009 sold", "old-13700000009.txt"))
	if err != nil {
		t.Fatal(err)
	}
	id := sub.GetCase().GetId()
	for _, q := range []string{
		`UPDATE cases SET description = '旧投诉 number 13700000009 sold', subject_value = '+8613700000009', leak_source = '',
			description_enc = NULL, subject_value_enc = NULL WHERE id = ?`,
		`UPDATE attachments SET file_name = 'old-13700000009.txt', file_name_enc = NULL WHERE case_id = ?`,
		`DELETE FROM case_search_tokens WHERE case_id = ?`,
	} {
		if err := h.db.Exec(q, id).Error; err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// Cases written before texts were sealed keep them in clear until the
// intake service seals them at start: then the clear columns are empty and
// search finds them by their tokens.
func TestSealClearTextsOfEarlierCases(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	id := clearCase(t, h)
	if searchIDs(t, h, "13700000009")[id] {
		t.Fatal("found without tokens")
	}
	n, err := intake.SealClearTexts(h.ctx, h.db, h.keys)
	if err != nil || n != 2 {
		t.Fatalf("sealed %d rows: %v", n, err)
	}
	if cols := dbHolds(t, h, "13700000009"); len(cols) > 0 {
		t.Fatalf("after sealing, the number is in clear in %v", cols)
	}
	for _, q := range []string{"13700000009", "旧投诉", "sold"} {
		if !searchIDs(t, h, q)[id] {
			t.Fatalf("after sealing, search %q does not find the case", q)
		}
	}
	got, err := h.api.GetCase(h.as("agent.li"), &intakev1.GetCaseRequest{CaseId: id})
	if err != nil || got.GetCase().GetDescription() != "旧投诉 number 13700000009 sold" || got.GetCase().GetAttachments()[0].GetFileName() != "old-13700000009.txt" {
		t.Fatalf("after sealing: %v %v", got, err)
	}
}

// Sealing runs at start while the service already answers: a case another
// transaction holds at that moment (the starter noting its workflow, an
// agent's action) is sealed once that transaction ends, not skipped and
// left in clear until the next start.
func TestSealClearTextsWaitsForALockedCase(t *testing.T) {
	h := newHarness(t, options{noWorker: true})
	id := clearCase(t, h)
	holder := h.db.Begin()
	defer holder.Rollback()
	if err := holder.Exec(`SELECT id FROM cases WHERE id = ? FOR UPDATE`, id).Error; err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := intake.SealClearTexts(h.ctx, h.db, h.keys)
		done <- result{n, err}
	}()
	// Let the holder go once sealing waits for its lock, or see it finish without waiting.
	var r result
	for waiting := false; !waiting; {
		select {
		case r = <-done:
			t.Fatalf("sealing finished while the case was held: sealed %d rows (%v); the case stays in clear", r.n, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		var waiters int64
		if err := h.db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM cases%'`).
			Scan(&waiters).Error; err != nil {
			t.Fatal(err)
		}
		waiting = waiters > 0
	}
	if err := holder.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if r = <-done; r.err != nil || r.n != 2 {
		t.Fatalf("sealed %d rows: %v", r.n, r.err)
	}
	if cols := dbHolds(t, h, "13700000009"); len(cols) > 0 {
		t.Fatalf("after sealing, the number is in clear in %v", cols)
	}
}
