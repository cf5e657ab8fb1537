// Package certificate prints a deletion certificate as a PDF in the
// requester's language. The certificate itself is the JSON the deletion
// workflow signs into the audit chain; the PDF is a readable copy that
// names the JSON's SHA-256, so the two can be matched.
package certificate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/pdffont"
)

// body is what the PDF reads of the certificate JSON.
type body struct {
	Reference       string     `json:"reference"`
	Type            string     `json:"type"`
	Status          string     `json:"status"`
	SubmittedAt     time.Time  `json:"submitted_at"`
	IdentityMethod  string     `json:"identity_method"`
	ApprovedBy      string     `json:"approved_by"`
	ApprovedAt      *time.Time `json:"approved_at"`
	RestrictedUntil *time.Time `json:"restricted_until"`
	IssuedAt        time.Time  `json:"issued_at"`
	StatementEN     []string   `json:"statement_en"`
	StatementZH     []string   `json:"statement_zh"`
}

var words = i18n.Catalogue{
	i18n.ZH: {
		"title":     "个人信息删除证明",
		"reference": "证明编号：%s",
		"status":    "办理结果：%s",
		"submitted": "收到申请：%s",
		"approved":  "删除方案批准：%s，批准人：%s",
		"until":     "依法留存的记录于 %s 后删除。",
		"done":      "逐个系统的处理情况：",
		"issued":    "出具时间：%s",
		"digest":    "本文件是电子证明（JSON）的可读副本；电子证明的 SHA-256：%s",
	},
	i18n.EN: {
		"title":     "Certificate of deletion of personal information",
		"reference": "Certificate reference: %s",
		"status":    "Outcome: %s",
		"submitted": "Request received: %s",
		"approved":  "Deletion plan approved: %s, by %s",
		"until":     "Records the law requires us to keep are erased after %s.",
		"done":      "What was done, system by system:",
		"issued":    "Issued: %s",
		"digest":    "This is a readable copy of the electronic certificate (JSON); its SHA-256: %s",
	},
}

// PDF prints the certificate JSON cert (whose SHA-256 is digest) in l, times
// in the operator's zone. The same certificate gives the same bytes.
func PDF(cert []byte, digest string, l i18n.Lang) ([]byte, error) {
	var c body
	if err := json.Unmarshal(cert, &c); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	at := func(t time.Time) string { return i18n.Zoned(l, t.In(i18n.Zone()).Format("2006-01-02 15:04")) }
	lines := []string{
		words.T(l, "reference", c.Reference),
		words.T(l, "status", i18n.Term(l, "deletion", c.Status)),
		words.T(l, "submitted", at(c.SubmittedAt)),
	}
	if c.ApprovedAt != nil {
		lines = append(lines, words.T(l, "approved", at(*c.ApprovedAt), c.ApprovedBy))
	}
	if c.RestrictedUntil != nil {
		lines = append(lines, words.T(l, "until", i18n.LegalTime(l, *c.RestrictedUntil)))
	}
	lines = append(lines, "", words.T(l, "done"))
	statements := c.StatementZH
	if l == i18n.EN {
		statements = c.StatementEN
	}
	for _, s := range statements {
		lines = append(lines, "• "+s)
	}
	lines = append(lines, "", words.T(l, "issued", at(c.IssuedAt)), words.T(l, "digest", digest))

	pdf := pdffont.New()
	title := words.T(l, "title")
	pdf.SetTitle(title, true)
	pdf.SetCreator("Redress", true)
	pdf.SetCreationDate(c.IssuedAt.UTC())
	pdf.SetModificationDate(c.IssuedAt.UTC())
	pdf.SetMargins(20, 20, 20)
	pdf.AddPage()
	pdf.SetFont(pdffont.Family, "", 16)
	pdf.CellFormat(0, 12, title, "", 1, "L", false, 0, "")
	pdf.SetFont(pdffont.Family, "", 10)
	for _, line := range lines {
		pdffont.Paragraph(pdf, 6, line)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return b.Bytes(), nil
}
