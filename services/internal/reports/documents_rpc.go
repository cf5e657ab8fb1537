package reports

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/reports"
)

// ListDocuments lists stored reports, newest period first.
func (s *Server) ListDocuments(ctx context.Context, in *reportingv1.ListDocumentsRequest) (*reportingv1.ListDocumentsResponse, error) {
	var v validation.Errors
	if k := in.GetKind(); k != "" && k != wf.MonthlySummary && k != wf.YearlyStatistics {
		v.Add("kind", "must be monthly_summary or yearly_statistics")
	}
	limit := int(in.GetLimit())
	switch {
	case limit < 0 || limit > 200:
		v.Add("limit", "must be between 0 and 200")
	case limit == 0:
		limit = 24
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var docs []struct {
		Document
		Size int64
	}
	q := s.DB.WithContext(ctx).Table("report_documents").
		Select("id, kind, period_start, period_end, file_name, content_type, sha256, created_at, emailed_at, length(content) AS size")
	if k := in.GetKind(); k != "" {
		q = q.Where("kind = ?", k)
	}
	if err := q.Order("period_start DESC, kind").Limit(limit).Scan(&docs).Error; err != nil {
		return nil, status.Error(codes.Internal, "list documents failed")
	}
	out := &reportingv1.ListDocumentsResponse{}
	for _, d := range docs {
		out.Documents = append(out.Documents, &reportingv1.Document{
			Id: d.ID, Kind: d.Kind, PeriodStart: timestamppb.New(d.PeriodStart), PeriodEnd: timestamppb.New(d.PeriodEnd),
			FileName: d.FileName, ContentType: d.ContentType, SizeBytes: d.Size, Sha256: hex.EncodeToString(d.SHA256),
			CreatedAt: timestamppb.New(d.CreatedAt), EmailedAt: tsOrNil(d.EmailedAt),
		})
	}
	return out, nil
}

func tsOrNil(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// DownloadDocument streams a stored report; the download is audited.
func (s *Server) DownloadDocument(in *reportingv1.DownloadDocumentRequest, stream grpc.ServerStreamingServer[reportingv1.DownloadDocumentResponse]) error {
	if _, err := uuid.Parse(in.GetId()); err != nil {
		return validation.Invalid("id", "must be a document id (UUID)")
	}
	ctx := stream.Context()
	var doc Document
	if err := s.DB.WithContext(ctx).Where("id = ?", in.GetId()).Take(&doc).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return status.Error(codes.NotFound, "no such document")
		}
		return status.Error(codes.Internal, "read document failed")
	}
	if err := s.auditExport(ctx, "report.downloaded", doc.ID, map[string]any{"kind": doc.Kind, "file": doc.FileName}); err != nil {
		return err
	}
	w := &chunkWriter{first: &reportingv1.Chunk{ContentType: doc.ContentType, FileName: doc.FileName},
		send: func(c *reportingv1.Chunk) error { return stream.Send(&reportingv1.DownloadDocumentResponse{Chunk: c}) }}
	if _, err := w.Write(doc.Content); err != nil {
		return err
	}
	return w.Close()
}
