// Package pdffont is the font Redress's PDFs print with: WenQuanYi Micro
// Hei, cut to GB 2312 (every Simplified Chinese character in common use),
// Latin-1 and CJK punctuation, 1.2 MB. The PDF core fonts (Helvetica) know
// no Chinese and printed it as "?". The font is licensed under the Apache
// License 2.0 (see NOTICE), which allows embedding it in documents and
// redistributing it; its embedding flag allows editable embedding. PDFs
// carry only the glyphs they use. subset.py makes the file again.
package pdffont

import (
	_ "embed"

	"github.com/go-pdf/fpdf"
)

//go:embed WenQuanYiMicroHei-GB2312.ttf
var ttf []byte

// Family is the font's name in a document after Add.
const Family = "wqy"

// Add registers the font with pdf as Family. It has one weight: set it with
// pdf.SetFont(Family, "", size), headings larger. (One font also keeps a
// document's bytes stable: fpdf writes its fonts in map order.)
func Add(pdf *fpdf.Fpdf) {
	pdf.AddUTF8FontFromBytes(Family, "", ttf)
}

// New is an A4 portrait document in millimetres with the font added.
func New() *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	Add(pdf)
	return pdf
}
