package filing

import (
	"archive/zip"
	"bytes"
	"testing"
)

// FuzzReadPackage: a package from outside (redress audit verify -filing)
// never panics the reader, and whatever it accepts has a manifest of this
// format whose every file matches its hash.
func FuzzReadPackage(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, file := range []struct{ name, body string }{
		{ManifestFile, `{"format":"redress-filing/1","files":[{"name":"audit-proof.json","sha256":"4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"}]}`},
		{ProofFile, `[]`},
	} {
		w, err := zw.Create(file.name)
		if err == nil {
			_, err = w.Write([]byte(file.body))
		}
		if err != nil {
			f.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, proof, err := Read(b)
		if err != nil {
			return
		}
		if m.Format != Format {
			t.Fatalf("accepted format %q", m.Format)
		}
		_ = proof
	})
}
