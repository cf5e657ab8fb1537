package intake

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
)

func validRequest() *intakev1.SubmitComplaintRequest {
	return &intakev1.SubmitComplaintRequest{
		IdempotencyKey: "client-key-0001",
		Kind:           intakev1.CaseKind_CASE_KIND_REPORT,
		Category:       intakev1.Category_CATEGORY_PROHIBITED_INFORMATION,
		Channel:        intakev1.Channel_CHANNEL_REGULATOR_REFERRAL,
		ReferringBody:  intakev1.ReferringBody_REFERRING_BODY_12377,
		Complainant:    &intakev1.Complainant{Phone: "+8613800138000", PreferredContact: "sms"},
		Description:    "违法信息举报",
		Attachments: []*intakev1.AttachmentUpload{
			{FileName: "shot.png", ContentType: "image/png", Content: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
		},
	}
}

func TestValidateSubmitAcceptsAValidReport(t *testing.T) {
	if err := validateSubmit(validRequest(), time.Now(), Packs); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
}

func TestValidateSubmitRegulatorDueDate(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	req := validRequest()
	req.RegulatorDueAt = tsOf(now.Add(-time.Hour))
	if err := validateSubmit(req, now, Packs); err == nil || !strings.Contains(err.Error(), "regulator_due_at: must be in the future") {
		t.Fatalf("past due date: %v", err)
	}
	req.Channel, req.ReferringBody, req.RegulatorDueAt = intakev1.Channel_CHANNEL_WEB_FORM, 0, tsOf(now.Add(time.Hour))
	if err := validateSubmit(req, now, Packs); err == nil || !strings.Contains(err.Error(), "regulator_due_at: is only allowed") {
		t.Fatalf("due date without referral: %v", err)
	}
}

func TestValidateSubmitAttachmentLimits(t *testing.T) {
	req := validRequest()
	req.Attachments[0].Content = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, maxAttachmentBytes)...)
	if err := validateSubmit(req, time.Now(), Packs); err == nil || !strings.Contains(err.Error(), "attachments[0].content: is larger than") {
		t.Fatalf("oversize attachment: %v", err)
	}
	req.Attachments[0] = &intakev1.AttachmentUpload{FileName: "../etc/passwd", ContentType: "text/plain", Content: []byte("x")}
	if err := validateSubmit(req, time.Now(), Packs); err == nil || !strings.Contains(err.Error(), "attachments[0].file_name") {
		t.Fatalf("path in file name: %v", err)
	}
}

// FuzzValidateSubmit feeds arbitrary wire bytes: validation must answer
// (nil or INVALID_ARGUMENT) and never panic.
func FuzzValidateSubmit(f *testing.F) {
	seed, _ := proto.Marshal(validRequest())
	f.Add(seed)
	f.Add([]byte{})
	f.Add([]byte("\x0a\x02ab\x10\x63"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req intakev1.SubmitComplaintRequest
		if proto.Unmarshal(data, &req) != nil {
			return
		}
		if err := validateSubmit(&req, time.Now(), Packs); err != nil && !strings.HasPrefix(err.Error(), "rpc error: code = InvalidArgument") {
			t.Fatalf("unexpected error form: %v", err)
		}
	})
}

func tsOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func TestValidateSubmitLanguage(t *testing.T) {
	for tag, want := range map[string]string{"": "zh", "zh": "zh", "zh-CN": "zh", "zh_Hans_CN": "zh", "EN": "en", "en-GB": "en", "fr": "", "english": ""} {
		if got := languageOf(tag); got != want {
			t.Errorf("languageOf(%q) = %q, want %q", tag, got, want)
		}
		req := validRequest()
		req.Language = tag
		err := validateSubmit(req, time.Now(), Packs)
		if refused := err != nil && strings.Contains(err.Error(), "language:"); refused != (want == "") {
			t.Errorf("language %q: %v", tag, err)
		}
	}
}
