package pdffont

import (
	"bytes"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/pdffont/pdftest"
)

func TestChineseAndLatinPrint(t *testing.T) {
	pdf := New()
	pdf.AddPage()
	pdf.SetFont(Family, "", 14)
	pdf.CellFormat(0, 10, "个人信息删除证明", "", 1, "L", false, 0, "")
	pdf.SetFont(Family, "", 10)
	pdf.MultiCell(0, 5, "案件编号 C-2026-000123：期限 2026-12-17 24:00（北京时间）. Résumé 100%", "", "L", false)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		t.Fatal(err)
	}
	text := pdftest.Text(t, b.Bytes())
	for _, want := range []string{"个人信息删除证明", "案件编号", "北京时间", "2026-12-17 24:00", "Résumé 100%"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not in the extracted text:\n%s", want, text)
		}
	}
	// Only the glyphs used travel: the document is far smaller than the font.
	if b.Len() > len(ttf)/10 {
		t.Errorf("document %d bytes for a font of %d: not subset", b.Len(), len(ttf))
	}
}

// Lines wrap without losing a character (fpdf's MultiCell dropped the
// Chinese character at each break), keep Latin words whole, and never
// start a line with closing punctuation.
func TestLinesKeepEveryCharacter(t *testing.T) {
	pdf := New()
	pdf.AddPage()
	pdf.SetFont(Family, "", 10)
	latin := " The handling time counts working days on the official calendar."
	text := strings.Repeat("处理用时按国务院公布的节假日安排以工作日计，收到当日不计。", 4) + latin
	lines := Lines(pdf, text, 60)
	if len(lines) < 4 {
		t.Fatalf("%d lines", len(lines))
	}
	all := strings.Join(lines, " ")
	for i, l := range lines {
		if w := pdf.GetStringWidth(l); w > 60 {
			t.Errorf("line %d is %.1f wide: %q", i, w, l)
		}
		if strings.ContainsAny(string([]rune(l)[0]), "，。") {
			t.Errorf("line %d starts with closing punctuation: %q", i, l)
		}
	}
	if strings.ReplaceAll(all, " ", "") != strings.ReplaceAll(text, " ", "") {
		t.Errorf("characters lost:\n%q\n%q", all, text)
	}
	for _, word := range strings.Fields(latin) {
		if !strings.Contains(" "+all+" ", " "+word+" ") && !strings.Contains(all, "。"+word+" ") {
			t.Errorf("word %q cut: %q", word, lines)
		}
	}
}
