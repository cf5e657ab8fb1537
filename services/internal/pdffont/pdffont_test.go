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
	pdf.SetFont(Family, "B", 14)
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
