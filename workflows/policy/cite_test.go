package policy_test

import (
	"strings"
	"testing"

	"github.com/redress/redress/workflows/calendar"
	wf "github.com/redress/redress/workflows/escalation"
	"github.com/redress/redress/workflows/policy"
)

// A Chinese reader reads a citation as the law's Chinese name, version and
// articles in Chinese numerals; an English reader reads it as written; text
// that names no known instrument comes back unchanged.
func TestCitationInChinese(t *testing.T) {
	for _, c := range []struct{ en, zh string }{
		{"CSL 2026 Art. 51", "《中华人民共和国网络安全法》（2025年修正）第五十一条"},
		{"CSL 2016 Art. 49", "《中华人民共和国网络安全法》（2016年）第四十九条"},
		{"CSL 2016 Art. 48 ¶2", "《中华人民共和国网络安全法》（2016年）第四十八条第二款"},
		{"CSL 2026 Art. 23(3)", "《中华人民共和国网络安全法》（2025年修正）第二十三条第（三）项"},
		{"PIPL 2021 Art. 57", "《中华人民共和国个人信息保护法》（2021年）第五十七条"},
		{"PIPL 2021 Art. 65 (regulator referral due date)", "《中华人民共和国个人信息保护法》（2021年）第六十五条（监管部门转办答复期限）"},
		{"PIPL Art. 55–56", "《中华人民共和国个人信息保护法》第五十五条至第五十六条"},
		{"Civil Code Art. 203", "《中华人民共和国民法典》第二百零三条"},
		{"Civil Code Art. 1034–1038", "《中华人民共和国民法典》第一千零三十四条至第一千零三十八条"},
		{"Civil Code Art. 10000", "Civil Code Art. 10000"}, // beyond the numerals it writes: left as written
		{"MIIT Order 24 (2013) Art. 12, 14", "《电信和互联网用户个人信息保护规定》（工业和信息化部令第24号）第十二条、第十四条"},
		{"MIIT Telecom User Complaint Handling Measures (Order 35) Art. 10, 11, 14",
			"《电信用户申诉处理办法》（工业和信息化部令第35号）第十条、第十一条、第十四条"},
		{"MIIT SMS Service Rules (Order 31, 2015)", "《通信短信息服务管理规定》（工业和信息化部令第31号）（具体条款未确定）"},
		{"Internet Society of China (ISC) complaint platform rule", "中国互联网协会投诉平台规则（具体条款未确定）"},
		{"App PI Violation Identification Method (2019) §6", "《App违法违规收集使用个人信息行为认定方法》（2019年）第六部分"},
		{"GB/T 35273-2020 §8.7", "《信息安全技术 个人信息安全规范》（GB/T 35273—2020）第8.7条"},
		{"CAC Cybersecurity Incident Reporting Measures (2025-11-01) Art. 4", "《国家网络安全事件报告管理办法》（2025年11月1日起施行）第四条"},
		{"Company retention policy §3", "Company retention policy §3"},
		{"CSL 2026 Art. x", "CSL 2026 Art. x"},
		{"CSL 20261 Art. 4", "CSL 20261 Art. 4"},
	} {
		if got := policy.CitationIn(c.en, "zh"); got != c.zh {
			t.Errorf("CitationIn(%q, zh) = %q, want %q", c.en, got, c.zh)
		}
		if got := policy.CitationIn(c.en, "en"); got != c.en {
			t.Errorf("CitationIn(%q, en) = %q", c.en, got)
		}
	}
	if got := policy.CitationIn("CSL 2026 Art. 110, 100, 20, 11", "zh-CN"); got != "《中华人民共和国网络安全法》（2025年修正）第一百一十条、第一百条、第二十条、第十一条" {
		t.Errorf("zh-CN: %q", got)
	}
}

// Every citation a person can be shown (each rule's, the incident rule's,
// the incident notice's, the log-retention duty's) has a Chinese form.
func TestEveryCitationHasAChineseForm(t *testing.T) {
	texts := []string{wf.IncidentCitation, wf.IncidentNoticeCitation, policy.RegulatorReferralCitation, policy.PIPL("50")}
	for _, r := range policy.New(nil).Rules("cn") {
		for _, c := range r.Citations {
			texts = append(texts, c.Text)
		}
	}
	for _, d := range []calendar.Date{calendar.NewDate(2025, 12, 31), calendar.NewDate(2026, 1, 1)} {
		en, zh := policy.LogRetentionCitation(d)
		if zh != policy.CitationIn(en, "zh") {
			t.Errorf("log retention on %s: %q is not %q in Chinese", d, zh, en)
		}
		texts = append(texts, en)
	}
	for _, en := range texts {
		zh := policy.CitationIn(en, "zh")
		if zh == en || strings.Contains(zh, "Art.") || !strings.ContainsAny(zh, "《中") {
			t.Errorf("%q has no Chinese form (got %q)", en, zh)
		}
	}
}
