package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/signed"
)

func TestVerifyCertificateCommand(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	doc, err := signed.Sign([]byte(`{"reference":"DR-1234abcd","status":"completed","statement_zh":["客户库：已删除 1 条记录。"]}`), key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "certificate.json")
	bad := filepath.Join(dir, "changed.json")
	if err := os.WriteFile(good, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, bytes.Replace(doc, []byte("completed"), []byte("restricted"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	keyArg := base64.StdEncoding.EncodeToString(pub)
	_, other, _ := ed25519.GenerateKey(nil)
	otherArg := base64.StdEncoding.EncodeToString(other.Public().(ed25519.PublicKey))

	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"certificate", good}, 0, "valid"},
		{[]string{"certificate", "-key", keyArg, good}, 0, "有效"},
		{[]string{"certificate", bad}, 1, "changed after signing"},
		{[]string{"certificate", "-key", otherArg, good}, 1, "not by the expected key"},
		{[]string{"certificate"}, 2, ""},
		{[]string{"certificate", "-key", "not-a-key", good}, 2, ""},
	} {
		var out bytes.Buffer
		if code := runVerify(c.args, &out); code != c.code || !strings.Contains(out.String(), c.says) {
			t.Errorf("redress verify %v: exit %d %q, want %d and %q", c.args, code, out.String(), c.code, c.says)
		}
	}
}
