package crypto

import (
	"bytes"
	"testing"
)

// A query matches a text when all the query's tokens are among the text's:
// whole words (any case), Chinese by character pairs, phone numbers in any
// common form; tokens are keyed (another key gives other tokens).
func TestSearchTokens(t *testing.T) {
	k, err := NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	text := "My number +86 13900000003 leaked — 快递公司泄露了我的号码 (case B-0765432)"
	has := func(query string) bool {
		in := map[string]bool{}
		for _, h := range k.SearchTokens(text) {
			in[string(h)] = true
		}
		q := k.SearchTokens(query)
		for _, h := range q {
			if !in[string(h)] {
				return false
			}
		}
		return len(q) > 0
	}
	for _, q := range []string{"LEAKED", "my number", "13900000003", "+8613900000003", "快递", "泄露", "快递公司", "号码 leaked", "0765432"} {
		if !has(q) {
			t.Errorf("%q not found", q)
		}
	}
	for _, q := range []string{"leak", "139000", "快件", "邮政", "other"} {
		if has(q) {
			t.Errorf("%q found", q)
		}
	}
	other, _ := NewKeyring(bytes.Repeat([]byte{2}, 32))
	if bytes.Equal(other.SearchTokens("快递")[0], k.SearchTokens("快递")[0]) {
		t.Error("tokens are not keyed")
	}
	if len(k.SearchTokens(" — ")) != 0 {
		t.Error("punctuation makes tokens")
	}
}
