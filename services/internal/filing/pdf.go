package filing

import (
	"bytes"
	"time"

	"github.com/redress/redress/services/internal/pdffont"
)

// textPDF renders lines of text as an A4 PDF, as many pages as needed, in
// a font that prints Chinese (pdffont). A summary needs no layout: a long
// line wraps. The document's dates are at, so the same filing gives the
// same bytes.
func textPDF(title string, lines []string, at time.Time) []byte {
	pdf := pdffont.New()
	pdf.SetTitle(title, true)
	pdf.SetCreator("Redress", true)
	pdf.SetCreationDate(at.UTC())
	pdf.SetModificationDate(at.UTC())
	pdf.SetMargins(18, 18, 18)
	pdf.SetAutoPageBreak(true, 18)
	pdf.AddPage()
	pdf.SetFont(pdffont.Family, "", 9)
	for _, l := range lines {
		pdffont.Paragraph(pdf, 4.5, l)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		panic("filing: summary PDF: " + err.Error()) // only our own text goes in
	}
	return b.Bytes()
}
