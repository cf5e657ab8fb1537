package main

import (
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/workflows/calendar"
)

// reportingServer builds ReportingService over the stack's database.
func (s *stack) reportingServer() (*reports.Server, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	cals, err := calendar.LoadEmbedded()
	if err != nil {
		return nil, err
	}
	exp := &reports.Exporter{DB: sqlDB, Calendars: cals}
	return &reports.Server{Exporter: exp, DB: s.db, Log: s.log}, nil
}
