package reports

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
)

// GetPublishedStatistics answers the headline figures of the last closed
// month (cases received, on-time rates, handling times): the aggregates the
// public channels page publishes, computed here so the public pages need no
// access to the record.
func (s *Server) GetPublishedStatistics(ctx context.Context, _ *reportingv1.GetPublishedStatisticsRequest) (*reportingv1.GetPublishedStatisticsResponse, error) {
	to := MonthStart(s.Exporter.now())
	from := MonthStart(to.Add(-time.Hour))
	rows, err := s.Exporter.statistics(ctx, from, to, ByMonth)
	if err != nil {
		if s.Log != nil {
			s.Log.Error("published statistics", "err", err)
		}
		return nil, status.Error(codes.Unavailable, "statistics unavailable; retry")
	}
	total := rows[len(rows)-1] // see slaColumns and slaRow
	cases, _ := strconv.ParseInt(total[2], 10, 64)
	out := &reportingv1.GetPublishedStatisticsResponse{PeriodStart: timestamppb.New(from), PeriodEnd: timestamppb.New(to), CasesReceived: cases}
	out.AcknowledgedOnTime = optionalFloat(total[6])
	out.ResolvedOnTime = optionalFloat(total[10])
	out.MedianHandlingDays = optionalFloat(total[12])
	if p90, err := strconv.ParseInt(total[13], 10, 64); err == nil {
		out.P90HandlingDays = proto.Int64(p90)
	}
	return out, nil
}

// optionalFloat is a table cell's number, nil when the cell is empty.
func optionalFloat(cell string) *float64 {
	f, err := strconv.ParseFloat(cell, 64)
	if err != nil {
		return nil
	}
	return &f
}
