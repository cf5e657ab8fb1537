// Package pdftest reads a PDF's text back for tests, with pdftotext
// (poppler-utils; `make test` installs it).
package pdftest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Text is the text pdftotext extracts from pdf, in reading order.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is missing: install poppler-utils")
	}
	name := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(name, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", name, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
