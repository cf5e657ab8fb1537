package reports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/smtp"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/worker"
	wf "github.com/redress/redress/workflows/reports"
)

// Documents are the reports workflows' activities: produce and store a
// report for a period, and mail it to the compliance officers. Both are
// idempotent: one stored document per kind and period, mailed once.
type Documents struct {
	Exporter *Exporter
	DB       *gorm.DB
	Operator string
	SMTPAddr string   // empty: documents are stored, not mailed
	From     string   // sender address
	To       []string // compliance officers' addresses
	Log      *slog.Logger
}

// Document is a stored report.
type Document struct {
	ID          string `gorm:"primaryKey;type:uuid"`
	Kind        string
	PeriodStart time.Time
	PeriodEnd   time.Time
	FileName    string
	ContentType string
	Content     []byte
	SHA256      []byte `gorm:"column:sha256"`
	CreatedAt   time.Time
	EmailedAt   *time.Time
}

func (Document) TableName() string { return "report_documents" }

// Generate produces the document of p unless it is stored already, and
// answers its id.
func (d *Documents) Generate(ctx context.Context, p wf.Period) (string, error) {
	var existing Document
	err := d.DB.WithContext(ctx).Select("id").Where("kind = ? AND period_start = ?", p.Kind, p.Start).Take(&existing).Error
	if err == nil {
		return existing.ID, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", err
	}
	var buf bytes.Buffer
	doc := Document{ID: uuid.NewString(), Kind: p.Kind, PeriodStart: p.Start, PeriodEnd: p.End, CreatedAt: time.Now().UTC()}
	span := DaySpan(p.Start, p.End)
	switch p.Kind {
	case wf.MonthlySummary:
		err = d.Exporter.MonthlySummary(ctx, p.Start, d.Operator, &buf)
		doc.FileName, doc.ContentType = "monthly_summary_"+span+".pdf", "application/pdf"
	case wf.YearlyStatistics:
		err = d.Exporter.YearlyStatistics(ctx, p.Start, p.End, &buf)
		doc.FileName, doc.ContentType = "yearly_statistics_"+span+".csv", CSV.ContentType()
	default:
		return "", temporal.NewNonRetryableApplicationError("unknown report kind "+p.Kind, "BadKind", nil)
	}
	if err != nil {
		return "", err
	}
	doc.Content = buf.Bytes()
	sum := sha256.Sum256(doc.Content)
	doc.SHA256 = sum[:]
	err = d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO report_documents (id, kind, period_start, period_end, file_name, content_type, content, sha256, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, period_start) DO NOTHING`,
			doc.ID, doc.Kind, doc.PeriodStart, doc.PeriodEnd, doc.FileName, doc.ContentType, doc.Content, doc.SHA256, doc.CreatedAt)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // a concurrent run stored it first
		}
		_, err := audit.Append(tx, audit.Entry{Actor: "system:reports", Action: "report.generated", ObjectType: "report_document",
			ObjectID: doc.ID, AfterDigest: fmt.Sprintf("sha256:%x", doc.SHA256),
			Details: map[string]any{"kind": doc.Kind, "period": span}})
		return err
	})
	if err != nil {
		return "", err
	}
	if err := d.DB.WithContext(ctx).Select("id").Where("kind = ? AND period_start = ?", p.Kind, p.Start).Take(&existing).Error; err != nil {
		return "", err
	}
	return existing.ID, nil
}

// Email sends the document to the compliance officers once.
func (d *Documents) Email(ctx context.Context, id string) error {
	var doc Document
	if err := d.DB.WithContext(ctx).Where("id = ?", id).Take(&doc).Error; err != nil {
		return err
	}
	if doc.EmailedAt != nil {
		return nil
	}
	if d.SMTPAddr == "" || len(d.To) == 0 {
		if d.Log != nil {
			d.Log.Info("report stored, not mailed (no SMTP server or compliance addresses configured)", "document", doc.ID, "kind", doc.Kind)
		}
		return nil
	}
	msg := reportMessage(d.From, d.To, doc)
	if err := smtp.SendMail(d.SMTPAddr, nil, addrOnly(d.From), d.To, msg); err != nil {
		return fmt.Errorf("mail report: %w", err)
	}
	return d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		if err := tx.Model(&Document{}).Where("id = ? AND emailed_at IS NULL", id).Update("emailed_at", now).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{Actor: "system:reports", Action: "report.emailed", ObjectType: "report_document",
			ObjectID: id, Details: map[string]any{"recipients": len(d.To)}})
		return err
	})
}

func addrOnly(from string) string {
	if i, j := strings.LastIndexByte(from, '<'), strings.LastIndexByte(from, '>'); i >= 0 && j > i {
		return from[i+1 : j]
	}
	return from
}

// reportMessage is a MIME message with the document attached.
func reportMessage(from string, to []string, doc Document) []byte {
	var b bytes.Buffer
	boundary := "redress-" + strings.ReplaceAll(doc.ID, "-", "")
	title := strings.ReplaceAll(strings.TrimSuffix(doc.FileName, "."+strings.SplitN(doc.FileName, ".", 2)[1]), "_", " ")
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", "Redress "+title), time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary)
	fmt.Fprintf(&b, "The %s for %s to %s is attached (SHA-256 %x).\r\nIt is also stored in Redress for download.\r\n\r\n",
		title, doc.PeriodStart.Format("2006-01-02"), doc.PeriodEnd.Add(-time.Nanosecond).Format("2006-01-02"), doc.SHA256)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=%q\r\n\r\n",
		boundary, doc.ContentType, doc.FileName)
	enc := base64.StdEncoding.EncodeToString(doc.Content)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}

// Register adds the activities to a worker.
func (d *Documents) Register(w sdkworker.Registry) {
	wf.RegisterWorkflows(w)
	w.RegisterActivityWithOptions(d.Generate, activity.RegisterOptions{Name: wf.ActivityGenerate})
	w.RegisterActivityWithOptions(d.Email, activity.RegisterOptions{Name: wf.ActivityEmail})
}

// EnsureSchedules creates the monthly (1st, 01:00 Shanghai) and yearly
// (1 January, 02:00) schedules unless they exist.
func EnsureSchedules(ctx context.Context, c client.Client) error {
	for _, s := range []struct {
		id, cron string
		wf       any
	}{
		{wf.MonthlyScheduleID, "0 1 1 * *", wf.MonthlyReportWorkflow},
		{wf.YearlyScheduleID, "0 2 1 1 *", wf.YearlyStatisticsWorkflow},
	} {
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:   s.id,
			Spec: client.ScheduleSpec{CronExpressions: []string{s.cron}, TimeZoneName: "Asia/Shanghai"},
			Action: &client.ScheduleWorkflowAction{ID: s.id, Workflow: s.wf, Args: []any{wf.Input{}},
				TaskQueue: wf.TaskQueue},
		})
		if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return fmt.Errorf("schedule %s: %w", s.id, err)
		}
	}
	return nil
}

// Run creates the schedules and runs the reports worker until ctx ends,
// retrying both while the workflow engine is unreachable (see
// worker.RunQueues for the errors returned).
func Run(ctx context.Context, c client.Client, d *Documents) error {
	return worker.RunQueues(ctx, c, d.Log, []worker.Queue{{
		Name:     wf.TaskQueue,
		Register: d.Register,
		Prepare:  func(ctx context.Context) error { return EnsureSchedules(ctx, c) },
	}})
}
