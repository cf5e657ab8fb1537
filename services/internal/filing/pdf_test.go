package filing

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The summary PDF is well formed: startxref points at the xref table, every
// xref offset points at its object, pages are counted, and text is escaped.
func TestTextPDFStructure(t *testing.T) {
	lines := []string{"Escalation (test) \\ back", "非 ASCII"}
	for i := range 130 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	pdf := textPDF("Filing (x)", lines)
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Fatal("header or trailer missing")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	rows := strings.Split(string(pdf[xref:]), "\n")[3:]
	objects := 0
	for i, row := range rows {
		if !strings.HasSuffix(row, " 00000 n ") {
			break
		}
		off, _ := strconv.Atoi(row[:10])
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q", i+1, pdf[off:off+12])
		}
		objects++
	}
	if objects != 4+2*3 || !bytes.Contains(pdf, []byte("/Count 3")) {
		t.Fatalf("%d objects; want 3 pages (10 objects)", objects)
	}
	if !bytes.Contains(pdf, []byte(`(Escalation \(test\) \\ back) '`)) || !bytes.Contains(pdf, []byte("(? ASCII) '")) {
		t.Fatal("text not escaped as expected")
	}
}
