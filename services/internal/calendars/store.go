// Package calendars loads official working-day calendars without a release
// (SPEC §2.6): CalendarService takes a year's calendar file from one
// administrator and puts it in force when a second one confirms it; Store
// brings the confirmed calendars into a process's calendar set, at start and
// while it runs, so the services and the worker count on them without a
// restart.
package calendars

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/periodic"
	"github.com/redress/redress/workflows/calendar"
)

// Load statuses.
const (
	StatusPending   = "pending"
	StatusConfirmed = "confirmed"
	StatusRejected  = "rejected"
)

// Load is one row of calendar_loads: a calendar file as loaded, kept for good.
type Load struct {
	ID           string `gorm:"primaryKey;type:uuid"`
	Jurisdiction string
	Year         int
	Content      []byte
	SHA256       []byte `gorm:"column:sha256"`
	Source       string
	NoticeDate   time.Time `gorm:"type:date"`
	LoadedBy     string
	LoadedAt     time.Time
	Status       string
	DecidedBy    string
	DecidedAt    *time.Time
	Reason       string
}

// TableName is calendar_loads.
func (Load) TableName() string { return "calendar_loads" }

// Store keeps a calendar set in line with the confirmed loads. The set is
// the one the process's policy engine counts on.
type Store struct {
	DB  *gorm.DB
	Set *calendar.Set
	Log *slog.Logger

	mu      sync.Mutex
	applied map[string]string // "jurisdiction/year" → id of the load in the set
}

// Refresh adds to the set every year whose latest confirmed load is not in it
// yet. A confirmed load replaces the calendar shipped for its year.
func (s *Store) Refresh(ctx context.Context) error {
	var rows []Load
	err := s.DB.WithContext(ctx).Raw(`SELECT DISTINCT ON (jurisdiction, year) id, jurisdiction, year, content
		FROM calendar_loads WHERE status = ? ORDER BY jurisdiction, year, decided_at DESC, id`, StatusConfirmed).
		Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("calendars: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.applied == nil {
		s.applied = map[string]string{}
	}
	for _, r := range rows {
		key := fmt.Sprintf("%s/%d", r.Jurisdiction, r.Year)
		if s.applied[key] == r.ID {
			continue
		}
		// Validated when loaded; checked again, a bad row never reaches the set.
		if err := s.Set.Add(r.Content); err != nil {
			return fmt.Errorf("calendars: confirmed load %s (%s): %w", r.ID, key, err)
		}
		s.applied[key] = r.ID
		if s.Log != nil {
			s.Log.Info("calendar in force", "jurisdiction", r.Jurisdiction, "year", r.Year, "load_id", r.ID)
		}
	}
	return nil
}

// Watch refreshes the set every interval until ctx ends: a calendar confirmed
// through another process is in force here within one interval.
func (s *Store) Watch(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, s.Refresh, func(err error) {
		if s.Log != nil {
			s.Log.Error("calendars not refreshed", "err", err)
		}
	})
}
