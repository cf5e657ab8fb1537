package pdffont

import (
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
)

// Paragraph writes text from the left margin to the right one, h high per
// line, breaking lines with Lines. fpdf's own MultiCell drops the Chinese
// character it breaks a line at (it takes it for a space).
func Paragraph(pdf *fpdf.Fpdf, h float64, text string) {
	left, _, right, _ := pdf.GetMargins()
	pageW, _ := pdf.GetPageSize()
	w := pageW - left - right
	for _, l := range Lines(pdf, text, w-2*pdf.GetCellMargin()) {
		pdf.CellFormat(w, h, l, "", 1, "L", false, 0, "")
	}
}

// Lines breaks text into lines no wider than w (in the document's unit, in
// the current font): at a space, or next to a Chinese character (not before
// closing punctuation); a word longer than a line is cut. Each "\n" starts
// a line.
func Lines(pdf *fpdf.Fpdf, text string, w float64) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		rs := []rune(para)
		if len(rs) == 0 {
			out = append(out, "")
		}
		for start := 0; start < len(rs); {
			width, brk, i := 0.0, -1, start
			for ; i < len(rs); i++ {
				if width += pdf.GetStringWidth(string(rs[i])); width > w && i > start {
					break
				}
				if rs[i] == ' ' || i > start && (wide(rs[i]) || wide(rs[i-1])) && !strings.ContainsRune(closing, rs[i]) {
					brk = i // the line may end before rs[i]
				}
			}
			if i == len(rs) {
				out = append(out, string(rs[start:]))
				break
			}
			end := i
			if brk > start {
				end = brk
			}
			out = append(out, strings.TrimRight(string(rs[start:end]), " "))
			for start = end; start < len(rs) && rs[start] == ' '; start++ {
			}
		}
	}
	return out
}

// closing is punctuation a line does not start with.
const closing = "，。、；：！？）」』】》〉,.;:!?)]}%％"

// wide is a character a line may break beside: Chinese, and CJK and
// full-width punctuation.
func wide(r rune) bool {
	return unicode.Is(unicode.Han, r) || r >= 0x3000 && r <= 0x303f || r >= 0xff00 && r <= 0xffef
}
