package crypto

import (
	"fmt"
	"strings"
	"unicode"

	"gorm.io/gorm"
)

// SearchTokens are the keyed hashes a free text is found by, so a search
// needs no clear text in the database: lower-cased words of letters or
// digits, and overlapping character pairs of Chinese, Japanese and Korean
// text (which has no spaces). A digit run that is a Chinese phone number
// with its country code is indexed in its national form, so "+86139…" and
// "139…" find each other. A query is
// tokenised alike and matches texts holding all its tokens. Equal tokens
// come once.
func (k *Keyring) SearchTokens(text string) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	add := func(t string) {
		if t == "" || seen[t] {
			return
		}
		seen[t] = true
		out = append(out, k.mac("search", t))
	}
	var word []rune
	var cjk []rune
	flushWord := func() {
		if len(word) > 0 {
			w := string(word)
			if isDigits(w) {
				w = NormalisePhone(w) // +86 139…, 0086139… and 139… alike
			}
			add(w)
			word = word[:0]
		}
	}
	flushCJK := func() {
		switch len(cjk) {
		case 0:
		case 1:
			add(string(cjk))
		default:
			for i := 0; i+1 < len(cjk); i++ {
				add(string(cjk[i : i+2]))
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case isCJK(r):
			flushWord()
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushCJK()
			// a change between letters and digits splits words, so
			// "B-0765432" and "phone13912345678" index their number alone
			if len(word) > 0 && unicode.IsDigit(word[len(word)-1]) != unicode.IsDigit(r) {
				flushWord()
			}
			word = append(word, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return out
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// SubjectKeys loads many subjects' keys in one query (a page of cases);
// a shredded, missing or unreadable subject is left out of the map.
func (k *Keyring) SubjectKeys(tx *gorm.DB, ids []string) (map[string]SubjectKey, error) {
	out := make(map[string]SubjectKey, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []subjectKeyRow
	if err := tx.Where("id IN ? AND shredded_at IS NULL AND wrapped_key IS NOT NULL", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("crypto: load subject keys: %w", err)
	}
	for _, row := range rows {
		raw, err := k.unwrapKey(row.ID, row.MasterKeyVersion, row.WrappedKey)
		if err != nil {
			continue // altered: unreadable like a shredded one, without failing the page
		}
		sk, err := newSubjectKey(row.ID, raw)
		if err != nil {
			return nil, err
		}
		out[row.ID] = sk
	}
	return out, nil
}
