package i18n

import (
	"slices"
	"testing"
)

func TestFromAcceptLanguage(t *testing.T) {
	for header, want := range map[string]Lang{
		"": ZH, "en-US,en;q=0.9": EN, "zh-CN,zh;q=0.9,en;q=0.8": ZH, "en;q=0.5,zh;q=0.9": ZH,
		"fr-FR": ZH, "zh-TW": ZH, "en-GB": EN, "garbage;;;": ZH,
	} {
		if got := FromAcceptLanguage(header); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
}

func TestCheckFindsMissingKeysAndArguments(t *testing.T) {
	c := Catalogue{
		ZH: {"a": "甲", "b": "%d个", "c": "%[2]s与%[1]d", "d": "只有中文"},
		EN: {"a": "A", "b": "%d items", "c": "%d and %s", "e": "English only"},
	}
	got := c.Check()
	want := []string{"d: no en text", "e: no zh text"}
	if !slices.Equal(got, want) {
		t.Errorf("Check: %q, want %q", got, want)
	}
	c[EN]["b"] = "%s items"
	if got := c.Check(); len(got) != 3 {
		t.Errorf("differing verbs not found: %q", got)
	}
	if got := c.T(EN, "nope"); got != "[missing nope]" {
		t.Errorf("missing key shows %q", got)
	}
}

func TestSharedCatalogueComplete(t *testing.T) {
	if bad := Shared.Check(); len(bad) > 0 {
		t.Fatal(bad)
	}
	if got := Term(ZH, "state", "in_progress"); got != "处理中" {
		t.Errorf("state in_progress: %q", got)
	}
	if got := Term(ZH, "state", "someday"); got != "someday" {
		t.Errorf("unknown code: %q", got)
	}
}
