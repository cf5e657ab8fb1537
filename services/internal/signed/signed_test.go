package signed

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	doc := []byte(`{"status":"completed","systems":[{"connector":"crm","found":7,"remaining":0}],"note":"已删除"}`)
	signedDoc, err := Sign(doc, key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := Verify(signedDoc, key.Public().(ed25519.PublicKey))
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("verify: %v", err)
	}
	// Member order and spacing do not matter; content does.
	reordered := strings.Replace(string(signedDoc), "{\n", "{ ", 1)
	if _, err := Verify([]byte(reordered), nil); err != nil {
		t.Errorf("a re-spaced document failed: %v", err)
	}
	for name, bad := range map[string]string{
		"count":    strings.Replace(string(signedDoc), `"remaining": 0`, `"remaining": 1`, 1),
		"text":     strings.Replace(string(signedDoc), "已删除", "已保留", 1),
		"member":   strings.Replace(string(signedDoc), `"status"`, `"extra": true, "status"`, 1),
		"no sig":   string(doc),
		"not json": "certificate",
	} {
		if _, err := Verify([]byte(bad), nil); err == nil {
			t.Errorf("%s: a changed document verified", name)
		}
	}
	_, other, _ := ed25519.GenerateKey(nil)
	if _, err := Verify(signedDoc, other.Public().(ed25519.PublicKey)); err == nil || !strings.Contains(err.Error(), "not by the expected key") {
		t.Errorf("another operator's key: %v", err)
	}
	forged, _ := Sign(doc, other)
	if _, err := Verify(forged, key.Public().(ed25519.PublicKey)); err == nil {
		t.Error("a document signed by someone else verified against the operator's key")
	}
}
