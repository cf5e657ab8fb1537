// Package calendar holds official working-day calendars (one data file per
// jurisdiction and year, with its source) and answers whether a date is a
// working day. Pure and deterministic.
package calendar

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed data
var embedded embed.FS

// File is one year's calendar as published, e.g. data/cn/2026.json.
type File struct {
	Jurisdiction   string    `json:"jurisdiction"`
	Year           int       `json:"year"`
	Source         string    `json:"source"`
	Holidays       []Holiday `json:"holidays"`
	MakeupWorkdays []Makeup  `json:"makeup_workdays"`
}

// Holiday is a range of days off, both ends included.
type Holiday struct {
	Name    string `json:"name"`
	NameZh  string `json:"name_zh,omitempty"`
	From    string `json:"from"`
	To      string `json:"to"`
	DaysOff int    `json:"days_off"` // the notice's own total, checked against From..To
}

// Makeup is a weekend day turned into a working day (调休).
type Makeup struct {
	Date    string `json:"date"`
	Weekday string `json:"weekday"` // the notice's own weekday, checked against Date
	For     string `json:"for"`     // name of the holiday it belongs to
}

type year struct {
	file   File
	off    map[Date]bool
	makeup map[Date]bool
}

// Set holds calendars per jurisdiction and year. Safe for concurrent use.
type Set struct {
	mu  sync.RWMutex
	cal map[string]map[int]*year
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{cal: map[string]map[int]*year{}} }

// LoadEmbedded returns a set with every calendar shipped in data/<jurisdiction>/<year>.json.
func LoadEmbedded() (*Set, error) {
	s := NewSet()
	err := fs.WalkDir(embedded, "data", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parse(b)
		if err != nil {
			return fmt.Errorf("calendar %s: %w", p, err)
		}
		if dir := path.Base(path.Dir(p)); dir != f.file.Jurisdiction {
			return fmt.Errorf("calendar %s: jurisdiction %q does not match its folder %q", p, f.file.Jurisdiction, dir)
		}
		if base := strings.TrimSuffix(path.Base(p), ".json"); base != fmt.Sprint(f.file.Year) {
			return fmt.Errorf("calendar %s: year %d does not match its file name", p, f.file.Year)
		}
		s.put(f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// LoadFile validates and adds one year's calendar file, replacing a loaded
// calendar of the same jurisdiction and year.
func (s *Set) LoadFile(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("calendar %s: %w", p, err)
	}
	if err := s.Add(b); err != nil {
		return fmt.Errorf("calendar %s: %w", p, err)
	}
	return nil
}

// Add validates and adds one year's calendar (JSON), replacing a loaded
// calendar of the same jurisdiction and year. Nothing is changed on error.
func (s *Set) Add(data []byte) error {
	f, err := parse(data)
	if err != nil {
		return err
	}
	s.put(f)
	return nil
}

func (s *Set) put(f *year) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cal == nil {
		s.cal = map[string]map[int]*year{}
	}
	j := f.file.Jurisdiction
	if s.cal[j] == nil {
		s.cal[j] = map[int]*year{}
	}
	s.cal[j][f.file.Year] = f
}

// Years lists the loaded years of a jurisdiction, ascending.
func (s *Set) Years(jurisdiction string) []int {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ys := make([]int, 0, len(s.cal[jurisdiction]))
	for y := range s.cal[jurisdiction] {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Calendar returns a copy of the loaded file for a jurisdiction and year.
func (s *Set) Calendar(jurisdiction string, y int) (File, bool) {
	if s == nil {
		return File{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.cal[jurisdiction][y]
	if !ok {
		return File{}, false
	}
	f := c.file
	f.Holidays = slices.Clone(f.Holidays)
	f.MakeupWorkdays = slices.Clone(f.MakeupWorkdays)
	return f, true
}

// IsWorkingDay says whether d is a working day: a Monday–Friday outside every
// holiday range, or a make-up working day. known is false when no calendar is
// loaded for d's year; then a Monday–Friday that is not a statutory holiday
// of the jurisdiction (see StatutoryHolidays) counts as a working day.
func (s *Set) IsWorkingDay(jurisdiction string, d Date) (working bool, known bool) {
	d = NewDate(d.Year, d.Month, d.Day)
	weekday := d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
	var c *year
	ok := false
	if s != nil {
		s.mu.RLock()
		c, ok = s.cal[jurisdiction][d.Year]
		s.mu.RUnlock()
	}
	if !ok {
		return weekday && !isStatutoryRestDay(jurisdiction, d), false
	}
	if c.makeup[d] {
		return true, true
	}
	if c.off[d] {
		return false, true
	}
	return weekday, true
}

// FieldError is a file refused for one field, named by its JSON path
// (e.g. "holidays[2].days_off", or "file" when the JSON itself is bad).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Parse validates one year's calendar file (JSON) as Add does, without
// adding it anywhere. A refusal is a *FieldError.
func Parse(data []byte) (File, error) {
	y, err := parse(data)
	if err != nil {
		return File{}, err
	}
	return y.file, nil
}

// parse decodes and validates one file against the notice's own totals.
func parse(data []byte) (*year, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, &FieldError{Field: "file", Err: fmt.Errorf("invalid calendar JSON: %w", err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &FieldError{Field: "file", Err: errors.New("invalid calendar JSON: trailing data after the object")}
	}
	if f.Jurisdiction == "" || strings.TrimSpace(f.Jurisdiction) != f.Jurisdiction || strings.ContainsAny(f.Jurisdiction, "/\\") {
		return nil, &FieldError{Field: "jurisdiction", Err: fmt.Errorf("jurisdiction %q: must be a non-empty code", f.Jurisdiction)}
	}
	if f.Year < 1900 || f.Year > 9999 {
		return nil, &FieldError{Field: "year", Err: fmt.Errorf("year %d: out of range", f.Year)}
	}
	if strings.TrimSpace(f.Source) == "" {
		return nil, &FieldError{Field: "source", Err: errors.New("source: required (the notice the calendar comes from)")}
	}
	y := &year{file: f, off: map[Date]bool{}, makeup: map[Date]bool{}}
	inYear := func(field, s string) (Date, error) {
		d, err := ParseDate(s)
		if err != nil {
			return Date{}, &FieldError{Field: field, Err: fmt.Errorf("%s: %w", field, err)}
		}
		if d.Year != f.Year {
			return Date{}, &FieldError{Field: field, Err: fmt.Errorf("%s: %s is outside year %d", field, s, f.Year)}
		}
		return d, nil
	}
	names := map[string]bool{}
	for i, h := range f.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		if strings.TrimSpace(h.Name) == "" {
			return nil, &FieldError{Field: field + ".name", Err: fmt.Errorf("%s.name: required", field)}
		}
		if names[h.Name] {
			return nil, &FieldError{Field: field + ".name", Err: fmt.Errorf("%s.name: %q listed twice", field, h.Name)}
		}
		names[h.Name] = true
		from, err := inYear(field+".from", h.From)
		if err != nil {
			return nil, err
		}
		to, err := inYear(field+".to", h.To)
		if err != nil {
			return nil, err
		}
		if to.Before(from) {
			return nil, &FieldError{Field: field + ".to", Err: fmt.Errorf("%s (%s): to %s is before from %s", field, h.Name, h.To, h.From)}
		}
		if n := from.DaysUntil(to) + 1; n != h.DaysOff {
			return nil, &FieldError{Field: field + ".days_off", Err: fmt.Errorf("%s (%s): %s to %s is %d days but days_off says %d", field, h.Name, h.From, h.To, n, h.DaysOff)}
		}
		for d := from; !d.After(to); d = d.AddDays(1) {
			if y.off[d] {
				return nil, &FieldError{Field: field, Err: fmt.Errorf("%s (%s): %s overlaps another holiday", field, h.Name, d)}
			}
			y.off[d] = true
		}
	}
	for i, m := range f.MakeupWorkdays {
		field := fmt.Sprintf("makeup_workdays[%d]", i)
		d, err := inYear(field+".date", m.Date)
		if err != nil {
			return nil, err
		}
		if wd := d.Weekday().String(); !strings.EqualFold(wd, m.Weekday) {
			return nil, &FieldError{Field: field + ".weekday", Err: fmt.Errorf("%s: %s is a %s, but weekday says %q", field, m.Date, wd, m.Weekday)}
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return nil, &FieldError{Field: field + ".date", Err: fmt.Errorf("%s: %s is a %s; a make-up working day must fall on a weekend", field, m.Date, wd)}
		}
		if y.off[d] {
			return nil, &FieldError{Field: field + ".date", Err: fmt.Errorf("%s: %s lies inside a holiday range", field, m.Date)}
		}
		if y.makeup[d] {
			return nil, &FieldError{Field: field + ".date", Err: fmt.Errorf("%s: %s listed twice", field, m.Date)}
		}
		if m.For != "" && !names[m.For] {
			return nil, &FieldError{Field: field + ".for", Err: fmt.Errorf("%s.for: %q names no holiday in this file", field, m.For)}
		}
		y.makeup[d] = true
	}
	return y, nil
}
