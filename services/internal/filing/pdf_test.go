package filing

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/pdffont/pdftest"
)

// The summary prints Chinese (it printed "?" for every character outside
// ASCII), runs over pages, and the same input gives the same bytes.
func TestTextPDFPrintsChineseOnPages(t *testing.T) {
	lines := []string{"报送期限：2026-12-17 24:00（北京时间）", "Escalation (test) \\ back"}
	for i := range 130 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	pdf := textPDF("监管报送 (x)", lines, at)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Equal(pdf, textPDF("监管报送 (x)", lines, at)) {
		t.Fatal("not a PDF, or not the same bytes twice")
	}
	text := pdftest.Text(t, pdf)
	for _, want := range []string{"报送期限：2026-12-17 24:00（北京时间）", "Escalation (test) \\ back", "line 0", "line 129"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not in the text:\n%s", want, text)
		}
	}
	if pages := strings.Count(text, "\f"); pages < 2 {
		t.Errorf("%d pages for 132 lines", pages)
	}
}

// The summary speaks Chinese to the regulator: states, categories and
// channels by name, deadlines as the law counts them (it said "Due:
// 2026-12-17T16:00:00Z" and "personal_information_leak via phone"), the
// law by its Chinese name and article.
func TestSummaryInChinese(t *testing.T) {
	due := time.Date(2026, 12, 17, 16, 0, 0, 0, time.UTC)
	m := Manifest{Escalation: Escalation{ID: "e-1", Kind: "incident", Regulator: "cac", DueAt: &due, DueRule: "cn/I1",
		Citation: "CAC Cybersecurity Incident Reporting Measures (2025-11-01) Art. 4", OpenedAt: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)}}
	facts := []CaseFacts{{CaseNumber: "C-2026-000001", Kind: "complaint", Category: "personal_information_leak", Channel: "counter",
		State: "in_progress", ReceivedAt: time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC),
		Deadlines: []Deadline{{Kind: "resolution", DueAt: due, Status: "open", RuleID: "cn/A1", Citation: "PIPL Art. 50"}}}}
	text := strings.Join(summary(m, facts, nil), "\n")
	for _, want := range []string{"报送期限：2026-12-17 24:00（北京时间）（cn/I1，《国家网络安全事件报告管理办法》（2025年11月1日起施行）第四条）", "安全事件", "开立时间：2026-12-01 10:00:00（北京时间）",
		"C-2026-000001  投诉，个人信息泄露，渠道：柜台，状态：处理中", "处理期限 2026-12-17 24:00（北京时间）［进行中］cn/A1（《中华人民共和国个人信息保护法》第五十条）"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not in\n%s", want, text)
		}
	}
}
