package public

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/i18n"
)

// The public pages cite the law in the page's language: the channels page's
// rules and the submitted page's basis name the instrument, version and
// article in Chinese on a Chinese page, and as written on an English one.
func TestCitationsInPageLanguage(t *testing.T) {
	site, _ := testSite(t)
	good := url.Values{"key": {"web-cite-0001"}, "kind": {"complaint"}, "category": {"spam_sms"}, "consent": {"yes"},
		"description": {"Loan offers by SMS every day."}, "email": {"a@example.com"}}
	cites := regexp.MustCompile(`(?s)<cite>(.*?)</cite>`)
	for _, c := range []struct {
		lang       i18n.Lang
		want       []string // on the channels page (C1 in force on 2026-12-14) and the submitted page
		wantSubmit string
	}{
		{i18n.ZH, []string{"《中华人民共和国网络安全法》（2025年修正）第五十一条", "中国互联网协会投诉平台规则（具体条款未确定）"},
			"《App违法违规收集使用个人信息行为认定方法》（2019年）第六部分"},
		{i18n.EN, []string{"CSL 2026 Art. 51", "Internet Society of China (ISC) complaint platform rule"}, citation},
	} {
		cookie := "lang=" + string(c.lang)
		_, channels := do(t, "GET", site.URL+"/", nil, "Cookie", cookie)
		_, submitted := do(t, "POST", site.URL+"/complaint", good, "Cookie", cookie)
		var all []string
		for _, m := range cites.FindAllStringSubmatch(channels+submitted, -1) {
			all = append(all, html.UnescapeString(m[1]))
		}
		text := strings.Join(all, "\n")
		for _, w := range append(c.want, c.wantSubmit) {
			if !strings.Contains(text, w) {
				t.Errorf("%s: no citation %q among\n%s", c.lang, w, text)
			}
		}
		if c.lang == i18n.ZH && regexp.MustCompile(`Art\.|CSL|PIPL|MIIT`).MatchString(text) {
			t.Errorf("zh: an English citation among\n%s", text)
		}
	}
}
