package crypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/pgtest"
)

func testKeyring(t testing.TB) *Keyring {
	t.Helper()
	master, err := ParseMasterKey(GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseMasterKeyRefusesBadKeys(t *testing.T) {
	for _, s := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseMasterKey(s); err == nil {
			t.Errorf("ParseMasterKey(%q) accepted", s)
		}
	}
}

// A subject key survives storage, binds each value to its field, and once
// shredded leaves the stored ciphertext unreadable.
func TestSubjectKeyLifecycle(t *testing.T) {
	gdb := pgtest.Open(t)
	k := testKeyring(t)
	sk, err := k.NewSubjectKey(gdb)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := sk.Seal("phone", []byte("13800138000"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("13800138000")) {
		t.Fatal("ciphertext holds the clear value")
	}
	loaded, err := k.SubjectKey(gdb, sk.ID)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := loaded.Open("phone", ct)
	if err != nil || string(pt) != "13800138000" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := loaded.Open("email", ct); err == nil {
		t.Fatal("a phone ciphertext opened as the email field")
	}
	other, _ := k.NewSubjectKey(gdb)
	if _, err := other.Open("phone", ct); err == nil {
		t.Fatal("another subject's key opened the value")
	}
	if empty, err := loaded.Seal("name", nil); empty != nil || err != nil {
		t.Fatalf("empty value sealed to %x, %v", empty, err)
	}
	if err := k.Shred(gdb, sk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := k.SubjectKey(gdb, sk.ID); !errors.Is(err, ErrShredded) {
		t.Fatalf("after shred: %v, want ErrShredded", err)
	}
	if _, err := k.SubjectKey(gdb, other.ID); err != nil {
		t.Fatalf("shredding one subject touched another: %v", err)
	}
}

// Another master key cannot unwrap the stored subject keys.
func TestWrongMasterKeyCannotUnwrap(t *testing.T) {
	gdb := pgtest.Open(t)
	sk, err := testKeyring(t).NewSubjectKey(gdb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testKeyring(t).SubjectKey(gdb, sk.ID); err == nil {
		t.Fatal("a different master key unwrapped the subject key")
	}
}

func TestIndexesNormalise(t *testing.T) {
	k := testKeyring(t)
	if !EqualHash(k.PhoneIndex("+86 138-0013-8000"), k.PhoneIndex("13800138000")) {
		t.Error("phone index differs by formatting")
	}
	if EqualHash(k.PhoneIndex("13800138000"), k.PhoneIndex("13800138001")) {
		t.Error("different phones share an index")
	}
	if !EqualHash(k.EmailIndex(" Li.Wei@Example.cn"), k.EmailIndex("li.wei@example.cn")) {
		t.Error("email index is case sensitive")
	}
	if k.PhoneIndex("") != nil || k.EmailIndex(" ") != nil {
		t.Error("empty values got an index")
	}
	if EqualHash(k.LookupCodeHash("C-1", "ABCD2345"), k.LookupCodeHash("C-2", "ABCD2345")) {
		t.Error("a lookup code is not bound to its case")
	}
	if !EqualHash(k.LookupCodeHash("C-1", "abcd2345"), k.LookupCodeHash("C-1", "ABCD2345")) {
		t.Error("lookup codes should be case-insensitive")
	}
	if EqualHash(testKeyring(t).Fingerprint([]byte("x")), k.Fingerprint([]byte("x"))) {
		t.Error("fingerprints do not depend on the key")
	}
}

func TestLookupCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewLookupCode()
		if len(c) != 8 || strings.Trim(c, lookupAlphabet) != "" {
			t.Fatalf("bad code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Fatalf("only %d distinct codes in 1000", len(seen))
	}
}

func TestMasks(t *testing.T) {
	cases := []struct{ got, want string }{
		{MaskPhone("13800138000"), "138****8000"},
		{MaskPhone(""), ""},
		{MaskEmail("li.wei@example.cn"), "l***@example.cn"},
		{MaskName("张三丰"), "张**"},
		{MaskName("Li Wei"), "L* ***"},
		{MaskName("张"), "*"},
		{MaskIDNumber("110101199003071234"), "11**************34"},
		{MaskIDNumber("123"), "***"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// Open never panics on arbitrary input and opens nothing but what Seal made.
func FuzzOpen(f *testing.F) {
	k, _ := newSubjectKey("fuzz", bytes.Repeat([]byte{7}, keySize))
	good, _ := k.Seal("phone", []byte("13800138000"))
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, ct []byte) {
		// The key is fixed, so the only ciphertexts that open are ones Seal
		// made of this plaintext (in any fuzz worker, each with its own nonce).
		pt, err := k.Open("phone", ct)
		if err == nil && len(ct) > 0 && string(pt) != "13800138000" {
			t.Fatalf("forged ciphertext %x opened to %q", ct, pt)
		}
	})
}

// One REDRESS_MASTER_KEY reads as version 1 and derives exactly the keys it
// always did; a rotated configuration (new current key, version 1 kept only
// as the root) keeps the same lookup hashes and signing key; bad lists are
// refused.
func TestMasterKeyVersionsKeepDerivedKeys(t *testing.T) {
	v1, v2 := GenerateMasterKey(), GenerateMasterKey()
	raw, _ := ParseMasterKey(v1)
	plain, err := NewKeyring(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMasterKeys(v1, 1, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	single, err := NewVersionedKeyring(m)
	if err != nil {
		t.Fatal(err)
	}
	m, err = ParseMasterKeys(v2, 2, nil, v1)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewVersionedKeyring(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Keyring{single, rotated} {
		if !EqualHash(k.PhoneIndex("13800138000"), plain.PhoneIndex("13800138000")) || !k.SigningKey().Equal(plain.SigningKey()) {
			t.Fatal("a versioned keyring derives other index or signing keys")
		}
	}
	if rotated.CurrentVersion() != 2 {
		t.Fatalf("current version %d", rotated.CurrentVersion())
	}
	for _, bad := range [][]string{{"x"}, {"0:" + v1}, {"1:" + v1, "1:" + v1}, {"1:short"}, {"2:" + v1}} {
		if _, err := ParseMasterKeys(v2, 2, bad, ""); err == nil {
			t.Errorf("previous keys %q accepted", bad)
		}
	}
	if m, err := ParseMasterKeys(v2, 2, nil, ""); err == nil {
		if _, err := NewVersionedKeyring(m); err == nil {
			t.Error("a keyring without the version-1 key or a root was built")
		}
	}
}
