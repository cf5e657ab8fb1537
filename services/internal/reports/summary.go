package reports

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/services/internal/pdffont"

	"github.com/redress/redress/workflows/calendar"
)

// tableSink keeps a small table in memory (the statistics have one row per
// group, never one per case).
type tableSink struct{ rows [][]string }

func (t *tableSink) Row(cells []string) error {
	t.rows = append(t.rows, append([]string(nil), cells...))
	return nil
}
func (t *tableSink) Close() error { return nil }

// MonthStart is 00:00 on the first day of t's month in Asia/Shanghai.
func MonthStart(t time.Time) time.Time {
	t = t.In(calendar.Shanghai())
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, calendar.Shanghai())
}

// statistics returns the SLA table (header first) for [from, to) by group.
func (e *Exporter) statistics(ctx context.Context, from, to time.Time, by string) ([][]string, error) {
	var t tableSink
	if err := e.slaStatistics(ctx, Request{Report: SLAStatistics, From: from, To: to, GroupBy: by}, &t); err != nil {
		return nil, err
	}
	return t.rows, nil
}

// MonthlySummary writes the PDF compliance summary of the month starting at
// month (see MonthStart): totals, a table by category and by channel, and a
// chart of on-time rates by category.
func (e *Exporter) MonthlySummary(ctx context.Context, month time.Time, operator string, w io.Writer) error {
	from := MonthStart(month)
	to := from.AddDate(0, 1, 0)
	byCat, err := e.statistics(ctx, from, to, ByCategory)
	if err != nil {
		return err
	}
	byChan, err := e.statistics(ctx, from, to, ByChannel)
	if err != nil {
		return err
	}
	title := "月度合规摘要 " + from.Format("2006年1月")
	pdf := pdffont.New()
	pdf.SetTitle(title, true)
	pdf.SetCreator("Redress", true)
	pdf.SetCreationDate(e.now().UTC())
	pdf.SetModificationDate(e.now().UTC())
	pdf.AddPage()
	pdf.SetFont(pdffont.Family, "", 16)
	pdf.CellFormat(0, 10, title, "", 1, "L", false, 0, "")
	pdf.SetFont(pdffont.Family, "", 10)
	pdffont.Paragraph(pdf, 5, fmt.Sprintf("%s。统计%s至%s（北京时间）收到的案件。生成于%s。"+
		"按时：期限届满前（含届满时）完成；比率不计尚未届满的期限。"+
		"处理用时按国务院公布的节假日安排以工作日计，收到当日不计。",
		operator, from.Format("2006年1月2日"), to.AddDate(0, 0, -1).Format("2006年1月2日"),
		i18n.Zoned(i18n.ZH, e.now().In(i18n.Zone()).Format("2006-01-02 15:04"))))
	pdf.Ln(3)

	total := byCat[len(byCat)-1]
	pdf.SetFont(pdffont.Family, "", 12)
	pdf.CellFormat(0, 8, "合计", "", 1, "L", false, 0, "")
	pdf.SetFont(pdffont.Family, "", 10)
	for _, kv := range [][2]string{
		{"案件数", total[2]},
		{"按时受理", percent(total[6]) + fmt.Sprintf("（按时%s件，超时%s件，未届满%s件）", total[3], total[4], total[5])},
		{"按时办结", percent(total[10]) + fmt.Sprintf("（按时%s件，超时%s件，未届满%s件）", total[7], total[8], total[9])},
		{"处理用时（中位数／第90百分位）", dash(total[12]) + "／" + dash(total[13]) + "个工作日"},
	} {
		pdf.CellFormat(60, 6, kv[0], "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 6, kv[1], "", 1, "L", false, 0, "")
	}
	pdf.Ln(3)
	statTable(pdf, "按类别", "category", byCat)
	statTable(pdf, "按渠道", "channel", byChan)
	rateChart(pdf, byCat[1:len(byCat)-1])
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("monthly summary: %w", err)
	}
	return pdf.Output(w)
}

// groupName is a statistics group's name: the category's or channel's, or
// the total.
func groupName(group, code string) string {
	if code == "total" {
		return "合计"
	}
	return i18n.Term(i18n.ZH, group, code)
}

func percent(rate string) string {
	if rate == "" {
		return "-"
	}
	f, err := strconv.ParseFloat(rate, 64)
	if err != nil {
		return rate
	}
	return strconv.FormatFloat(100*f, 'f', 1, 64) + "%"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// statTable prints group, cases, the two rates and the handling times.
func statTable(pdf *fpdf.Fpdf, title, group string, rows [][]string) {
	pdf.SetFont(pdffont.Family, "", 12)
	pdf.CellFormat(0, 8, title, "", 1, "L", false, 0, "")
	widths := []float64{62, 18, 28, 28, 27, 27}
	head := []string{"分组", "案件数", "按时受理", "按时办结", "用时中位数", "用时第90百分位"}
	pdf.SetFont(pdffont.Family, "", 9)
	pdf.SetFillColor(230, 230, 230)
	for i, h := range head {
		pdf.CellFormat(widths[i], 6, h, "1", 0, "L", true, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont(pdffont.Family, "", 9)
	for _, r := range rows[1:] {
		cells := []string{groupName(group, r[1]), r[2], percent(r[6]), percent(r[10]), dash(r[12]), dash(r[13])}
		for i, c := range cells {
			pdf.CellFormat(widths[i], 6, c, "1", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.Ln(3)
}

// rateChart draws a horizontal bar per category for each on-time rate.
func rateChart(pdf *fpdf.Fpdf, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	if pdf.GetY() > 200 {
		pdf.AddPage()
	}
	pdf.SetFont(pdffont.Family, "", 12)
	pdf.CellFormat(0, 8, "各类别按时率", "", 1, "L", false, 0, "")
	pdf.SetFont(pdffont.Family, "", 8)
	const labelW, barW, barH = 55.0, 110.0, 3.5
	x0 := pdf.GetX()
	for _, r := range rows {
		y := pdf.GetY()
		pdf.SetXY(x0, y)
		pdf.CellFormat(labelW, 2*barH, groupName("category", r[1]), "", 0, "L", false, 0, "")
		for i, rate := range []string{r[6], r[10]} {
			f, _ := strconv.ParseFloat(rate, 64)
			if i == 0 {
				pdf.SetFillColor(70, 130, 180) // acknowledgement
			} else {
				pdf.SetFillColor(60, 160, 90) // resolution
			}
			by := y + float64(i)*barH
			pdf.Rect(x0+labelW, by, barW*f, barH-0.5, "F")
			pdf.SetXY(x0+labelW+barW*f+1, by)
			pdf.CellFormat(20, barH-0.5, percent(rate), "", 0, "L", false, 0, "")
		}
		pdf.SetXY(x0, y+2*barH+1.5)
	}
	pdf.Ln(2)
	pdf.SetFillColor(70, 130, 180)
	pdf.Rect(x0+labelW, pdf.GetY()+0.5, 4, 3, "F")
	pdf.SetX(x0 + labelW + 5)
	pdf.CellFormat(40, 4, "按时受理", "", 0, "L", false, 0, "")
	pdf.SetFillColor(60, 160, 90)
	pdf.Rect(pdf.GetX(), pdf.GetY()+0.5, 4, 3, "F")
	pdf.SetX(pdf.GetX() + 5)
	pdf.CellFormat(40, 4, "按时办结", "", 1, "L", false, 0, "")
}
