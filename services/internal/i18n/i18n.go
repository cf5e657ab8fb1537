// Package i18n holds message catalogues: one text per key and language, and
// the choice of a person's language. The public pages use it; the console,
// notices and PDFs can share it (one catalogue per surface, same rules).
package i18n

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language a catalogue speaks.
type Lang string

const (
	ZH Lang = "zh" // Simplified Chinese, the default
	EN Lang = "en"
)

// Langs are the languages, the default first.
var Langs = []Lang{ZH, EN}

// Parse is the language named s ("zh", "en"), if it is one of Langs.
func Parse(s string) (Lang, bool) {
	l := Lang(s)
	return l, slices.Contains(Langs, l)
}

// Tag is the language's BCP 47 tag for an HTML lang attribute.
func (l Lang) Tag() string {
	if l == ZH {
		return "zh-CN"
	}
	return string(l)
}

// Other is the language a two-language switch offers from l.
func (l Lang) Other() Lang {
	if l == ZH {
		return EN
	}
	return ZH
}

var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// FromAcceptLanguage is the best of Langs for an Accept-Language header;
// Chinese when it names neither (or is empty or malformed).
func FromAcceptLanguage(header string) Lang {
	if strings.TrimSpace(header) == "" {
		return ZH
	}
	_, i := language.MatchStrings(matcher, header)
	return Langs[i]
}

// Catalogue maps each language to its texts by key. A text may hold fmt
// verbs; every language's text of a key takes the same arguments.
type Catalogue map[Lang]map[string]string

// T is key's text in l, formatted with args. A missing key shows as
// "[missing key]" on the page (and Check finds it before that).
func (c Catalogue) T(l Lang, key string, args ...any) string {
	m, ok := c[l][key]
	if !ok {
		return "[missing " + key + "]"
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0-9.]*[a-zA-Z%]`)

// Check lists the catalogue's defects: a key one language has and another
// lacks, and a key whose texts take different arguments.
func (c Catalogue) Check() []string {
	keys := map[string]bool{}
	for _, l := range Langs {
		for k := range c[l] {
			keys[k] = true
		}
	}
	var out []string
	for k := range keys {
		var want []string
		for i, l := range Langs {
			text, ok := c[l][k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: no %s text", k, l))
				continue
			}
			got := verbs(text)
			if i == 0 {
				want = got
			} else if !slices.Equal(got, want) {
				out = append(out, fmt.Sprintf("%s: %s takes %v, %s %v", k, l, got, Langs[0], want))
			}
		}
	}
	sort.Strings(out)
	return out
}

// verbs are a text's fmt verbs, with explicit argument indexes resolved,
// in argument order.
func verbs(text string) []string {
	var out []string
	next := 1
	for _, v := range verb.FindAllStringSubmatch(text, -1) {
		if v[0] == "%%" {
			continue
		}
		n := next
		if v[1] != "" {
			_, _ = fmt.Sscanf(v[1], "[%d]", &n)
		}
		next = n + 1
		out = append(out, fmt.Sprintf("%d%c", n, v[0][len(v[0])-1]))
	}
	sort.Strings(out)
	return out
}
