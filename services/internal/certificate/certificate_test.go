package certificate

import (
	"bytes"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/pdffont/pdftest"
)

const sample = `{"deletion_id":"d1","reference":"DR-1a2b3c4d","type":"erasure","status":"restricted",
"submitted_at":"2026-12-01T02:00:00Z","approved_by":"sup.wang","approved_at":"2026-12-02T03:00:00Z",
"restricted_until":"2027-06-01T16:00:00Z","issued_at":"2026-12-02T04:00:00Z",
"statement_en":["customer-db / accounts: 1 record(s) erased."],
"statement_zh":["customer-db / accounts：已删除 1 条记录。"]}`

// The certificate reads in the requester's language, Chinese printed.
func TestCertificateInTheRequestersLanguage(t *testing.T) {
	for l, want := range map[i18n.Lang][]string{
		i18n.ZH: {"个人信息删除证明", "DR-1a2b3c4d", "已完成（部分依法留存）", "已删除 1 条记录", "2027-06-01 24:00（北京时间）", "2026-12-02 11:00（北京时间）", "abc123"},
		i18n.EN: {"Certificate of deletion", "done (some kept by law)", "1 record(s) erased", "2027-06-01 24:00 (Beijing time)", "abc123"},
	} {
		pdf, err := PDF([]byte(sample), "abc123", l)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := PDF([]byte(sample), "abc123", l); !bytes.Equal(again, pdf) {
			t.Errorf("%s: not the same bytes twice", l)
		}
		text := strings.ReplaceAll(pdftest.Text(t, pdf), "\n", "")
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q not in\n%s", l, w, text)
			}
		}
	}
	if _, err := PDF([]byte("not json"), "", i18n.ZH); err == nil {
		t.Error("a broken certificate printed")
	}
}
