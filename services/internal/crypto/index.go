package crypto

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// PhoneIndex is a keyed hash of the normalised phone number, so cases can be
// found by phone without storing it in clear; nil for an empty number.
func (k *Keyring) PhoneIndex(phone string) []byte {
	p := NormalisePhone(phone)
	if p == "" {
		return nil
	}
	return k.mac("phone", p)
}

// EmailIndex is a keyed hash of the normalised email address; nil when empty.
func (k *Keyring) EmailIndex(email string) []byte {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return nil
	}
	return k.mac("email", e)
}

// LookupCodeHash binds a lookup code to its case number, so a code is only
// good for the case it was issued with.
func (k *Keyring) LookupCodeHash(caseNumber, code string) []byte {
	return k.mac("lookup", caseNumber+"\x00"+strings.ToUpper(strings.TrimSpace(code)))
}

// Fingerprint is a keyed hash of data, for recognising repeats of a request
// without keeping a plain hash of personal data.
func (k *Keyring) Fingerprint(data []byte) []byte {
	return k.mac("fingerprint", string(data))
}

// TextDigest is a keyed digest of a free text (a note, a reason) for the
// audit chain: it shows that a text was not changed later without letting
// anyone who reads the chain test guesses of what it said.
func (k *Keyring) TextDigest(text string) string {
	return "hmac-sha256:" + hex.EncodeToString(k.mac("audit text", text))
}

func (k *Keyring) mac(purpose, value string) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b []byte) bool { return hmac.Equal(a, b) }

// NormalisePhone keeps the digits and drops the China country prefix, so
// "+86 138-0013-8000" and "13800138000" index alike.
func NormalisePhone(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "0086") && len(d) == 15:
		d = d[4:]
	case strings.HasPrefix(d, "86") && len(d) == 13:
		d = d[2:]
	}
	return d
}

// lookupAlphabet leaves out 0/O, 1/I/L so codes survive being read aloud.
const lookupAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewLookupCode answers an 8-character code a complainant uses to check
// their case (about 39 bits; lookups are rate-limited).
func NewLookupCode() string {
	b := make([]byte, 8)
	max := byte(256 - 256%len(lookupAlphabet)) // reject bytes that would bias the draw
	for i := 0; i < len(b); {
		var r [1]byte
		if _, err := rand.Read(r[:]); err != nil {
			panic("crypto: no randomness: " + err.Error())
		}
		if r[0] >= max {
			continue
		}
		b[i] = lookupAlphabet[int(r[0])%len(lookupAlphabet)]
		i++
	}
	return string(b)
}

// MaskPhone shows the first three and last four digits: 138****8000.
func MaskPhone(phone string) string {
	r := []rune(phone)
	if len(r) == 0 {
		return ""
	}
	if len(r) <= 7 {
		return maskAll(r, 0, min(2, len(r)-1))
	}
	return maskAll(r, 3, 4)
}

// MaskEmail keeps the first letter of the local part and the domain.
func MaskEmail(email string) string {
	at := strings.LastIndex(email, "@")
	if at <= 0 {
		return MaskName(email)
	}
	local := []rune(email[:at])
	return string(local[0]) + "***" + email[at:]
}

// MaskName keeps the first character: 张** or J***.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	if len(r) == 1 {
		return "*"
	}
	return maskAll(r, 1, 0)
}

// MaskIDNumber keeps the first and last two characters of an identity number.
func MaskIDNumber(id string) string {
	r := []rune(id)
	if len(r) == 0 {
		return ""
	}
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return maskAll(r, 2, 2)
}

func maskAll(r []rune, keepHead, keepTail int) string {
	out := make([]rune, len(r))
	for i, c := range r {
		if i < keepHead || i >= len(r)-keepTail || unicode.IsSpace(c) {
			out[i] = c
		} else {
			out[i] = '*'
		}
	}
	return string(out)
}
