package policy

import (
	"strconv"
	"strings"
)

// Citations are stored as written in English ("CSL 2026 Art. 51"): the
// deadlines a case recorded keep the text they were computed with. A reader
// sees them in their own language at display time, through CitationIn.

// instrument is a law, regulation, order or rule that citations name: how an
// English citation begins, and its Chinese name with version (year, order
// number or date in force).
type instrument struct {
	en, zh string
	// noArticle: the sources identify no article of it (OBLIGATIONS.md), and
	// a Chinese citation says so rather than stop at the name.
	noArticle bool
}

// instruments are the ones the policy packs, notices and connector mappings
// cite. A longer English name is listed before any name it begins with.
var instruments = []instrument{
	{en: "CSL 2016", zh: "《中华人民共和国网络安全法》（2016年）"},
	// Amended 2025-10-28, in force and renumbered from 2026-01-01.
	{en: "CSL 2026", zh: "《中华人民共和国网络安全法》（2025年修正）"},
	{en: "PIPL 2021", zh: "《中华人民共和国个人信息保护法》（2021年）"},
	{en: "PIPL", zh: "《中华人民共和国个人信息保护法》"},
	{en: "Civil Code", zh: "《中华人民共和国民法典》"},
	{en: "Network Data Security Management Regulations (2025-01-01)", zh: "《网络数据安全管理条例》（2025年1月1日起施行）"},
	{en: "CAC Cybersecurity Incident Reporting Measures (2025-11-01)", zh: "《国家网络安全事件报告管理办法》（2025年11月1日起施行）"},
	{en: "MIIT Order 24 (2013)", zh: "《电信和互联网用户个人信息保护规定》（工业和信息化部令第24号）"},
	{en: "MIIT Telecom User Complaint Handling Measures (Order 35)", zh: "《电信用户申诉处理办法》（工业和信息化部令第35号）"},
	{en: "MIIT SMS Service Rules (Order 31, 2015)", zh: "《通信短信息服务管理规定》（工业和信息化部令第31号）", noArticle: true},
	{en: "Internet Society of China (ISC) complaint platform rule", zh: "中国互联网协会投诉平台规则", noArticle: true},
	{en: "Internet Information Services Measures", zh: "《互联网信息服务管理办法》"},
	{en: "App PI Violation Identification Method (2019)", zh: "《App违法违规收集使用个人信息行为认定方法》（2019年）"},
	{en: "GB/T 35273-2020", zh: "《信息安全技术 个人信息安全规范》（GB/T 35273—2020）"},
}

// notes are the remarks a citation may end with, in Chinese.
var notes = map[string]string{
	"(regulator referral due date)": "（监管部门转办答复期限）",
}

// noArticleZH says in Chinese that no article of the instrument has been
// identified.
const noArticleZH = "（具体条款未确定）"

// CitationIn is a citation as a reader of language lang reads it: in
// Chinese ("zh", "zh-CN") the instrument's Chinese name and version with its
// articles in Chinese numerals (《中华人民共和国网络安全法》（2025年修正）第五十一条);
// in any other language the citation as written. Text it cannot read (an
// operator's own wording) comes back as given, never half translated.
func CitationIn(text, lang string) string {
	if !strings.HasPrefix(strings.ToLower(lang), "zh") {
		return text
	}
	if zh, ok := citationZH(strings.TrimSpace(text)); ok {
		return zh
	}
	return text
}

func citationZH(text string) (string, bool) {
	for _, in := range instruments {
		rest, ok := strings.CutPrefix(text, in.en)
		if !ok || (rest != "" && rest[0] != ' ') {
			continue
		}
		rest = strings.TrimSpace(rest)
		note := ""
		for en, zh := range notes {
			if r, ok := strings.CutSuffix(rest, en); ok {
				rest, note = strings.TrimSpace(r), zh
				break
			}
		}
		if rest == "" {
			if in.noArticle {
				return in.zh + noArticleZH + note, true
			}
			return in.zh + note, true
		}
		where, ok := provisionsZH(rest)
		if !ok {
			return "", false
		}
		return in.zh + where + note, true
	}
	return "", false
}

// provisionsZH reads "Art. 12, 14", "Art. 21(3)", "Art. 48 ¶2",
// "Art. 55–56" or "§8.7" as 第十二条、第十四条 and so on.
func provisionsZH(s string) (string, bool) {
	if sec, ok := strings.CutPrefix(s, "§"); ok {
		return sectionZH(sec)
	}
	list, ok := strings.CutPrefix(s, "Art. ")
	if !ok {
		return "", false
	}
	var parts []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if from, to, ok := cutRange(a); ok {
			f, ok1 := articleZH(from)
			t, ok2 := articleZH(to)
			if !ok1 || !ok2 {
				return "", false
			}
			parts = append(parts, f+"至"+t)
			continue
		}
		z, ok := articleZH(a)
		if !ok {
			return "", false
		}
		parts = append(parts, z)
	}
	return strings.Join(parts, "、"), true
}

func cutRange(a string) (from, to string, ok bool) {
	for _, dash := range []string{"–", "-"} {
		if from, to, ok := strings.Cut(a, dash); ok {
			return strings.TrimSpace(from), strings.TrimSpace(to), true
		}
	}
	return "", "", false
}

// articleZH reads "21", "21(3)" (item) or "48 ¶2" (paragraph).
func articleZH(a string) (string, bool) {
	para, item := "", ""
	if before, p, ok := strings.Cut(a, "¶"); ok {
		n, ok := numeralZH(strings.TrimSpace(p))
		if !ok {
			return "", false
		}
		a, para = strings.TrimSpace(before), "第"+n+"款"
	}
	if before, i, ok := strings.Cut(a, "("); ok {
		n, ok := numeralZH(strings.TrimSuffix(i, ")"))
		if !ok || !strings.HasSuffix(i, ")") {
			return "", false
		}
		a, item = before, "第（"+n+"）项"
	}
	n, ok := numeralZH(a)
	if !ok {
		return "", false
	}
	return "第" + n + "条" + para + item, true
}

// sectionZH reads a section: a standard's clause keeps its Arabic number
// (§8.7 → 第8.7条), a document's numbered part is counted in Chinese
// (§6 → 第六部分).
func sectionZH(s string) (string, bool) {
	if strings.Contains(s, ".") {
		for _, p := range strings.Split(s, ".") {
			if _, err := strconv.Atoi(p); err != nil || p == "" {
				return "", false
			}
		}
		return "第" + s + "条", true
	}
	n, ok := numeralZH(s)
	if !ok {
		return "", false
	}
	return "第" + n + "部分", true
}

// numeralZH writes 1–9999 in Chinese numerals as statutes number articles:
// 十, 十五, 二十一, 一百, 一百零五, 一百一十, 一千零三十四.
func numeralZH(s string) (string, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 9999 || strconv.Itoa(n) != s {
		return "", false
	}
	digits := []rune("零一二三四五六七八九")
	units := []string{"千", "百", "十", ""}
	var b strings.Builder
	zero := false // a zero digit is owed before the next non-zero one
	for i, d := range []int{n / 1000, n / 100 % 10, n / 10 % 10, n % 10} {
		if d == 0 {
			zero = b.Len() > 0
			continue
		}
		if zero {
			b.WriteRune(digits[0])
			zero = false
		}
		// 十五, not 一十五, when the number starts with its tens.
		if units[i] != "十" || d != 1 || b.Len() > 0 {
			b.WriteRune(digits[d])
		}
		b.WriteString(units[i])
	}
	return b.String(), true
}
