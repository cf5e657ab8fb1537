package deletionworker

import (
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/deletion"
	"github.com/redress/redress/services/internal/notify"
	wf "github.com/redress/redress/workflows/deletion"
)

// The certificate's Chinese statement and the Chinese notices name the duty
// a kept record rests on, and the right to sue, in Chinese; the English ones
// as written.
func TestStatementsCiteInTheReadersLanguage(t *testing.T) {
	until := time.Date(2026, 6, 30, 16, 0, 0, 0, time.UTC)
	en, zh := statement("customer-db", outcome{Target: "call_logs", Done: DoneRestricted, Rows: 3, RestrictedUntil: &until,
		Citation: "CSL 2026 Art. 23(3)"})
	if !strings.Contains(en, "(CSL 2026 Art. 23(3))") {
		t.Errorf("English statement: %s", en)
	}
	if !strings.Contains(zh, "（《中华人民共和国网络安全法》（2025年修正）第二十三条第（三）项）") || strings.Contains(zh, "CSL") {
		t.Errorf("Chinese statement: %s", zh)
	}

	r := deletion.Request{ID: "0123456789abcdef", Language: notify.LangZH, ReasonText: "无法核实身份。", RestrictedUntil: &until}
	if got := outcomeText(r, wf.StatusRejected, nil); !strings.Contains(got, "（《中华人民共和国个人信息保护法》（2021年）第五十条）") {
		t.Errorf("Chinese refusal: %s", got)
	}
	if got := outcomeText(r, wf.StatusRestricted, nil); !strings.Contains(got, "《中华人民共和国网络安全法》（2025年修正）第二十三条第（三）项") {
		t.Errorf("Chinese restricted notice: %s", got)
	}
	r.Language = notify.LangEN
	if got := outcomeText(r, wf.StatusRejected, nil); !strings.Contains(got, "(PIPL 2021 Art. 50)") {
		t.Errorf("English refusal: %s", got)
	}
}
