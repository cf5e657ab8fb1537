package reports

import (
	"bufio"
	"encoding/csv"
	"io"
)

// Sink receives a table row by row and writes it out in one file format
// without holding the table in memory.
type Sink interface {
	Row(cells []string) error
	Close() error // flushes; does not close the underlying writer
}

// Format names an output format.
type Format string

const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ContentType of a format.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// NewSink returns a sink writing format f to w; sheet names the XLSX sheet.
func NewSink(f Format, w io.Writer, sheet string) (Sink, error) {
	if f == XLSX {
		return newXLSXSink(w, sheet)
	}
	return newCSVSink(w), nil
}

type csvSink struct {
	buf   *bufio.Writer
	w     *csv.Writer
	cells []string
}

func newCSVSink(w io.Writer) *csvSink {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &csvSink{buf: buf, w: csv.NewWriter(buf)}
}

func (s *csvSink) Row(cells []string) error {
	s.cells = s.cells[:0]
	for _, c := range cells {
		s.cells = append(s.cells, NeutraliseCell(c))
	}
	return s.w.Write(s.cells)
}

// NeutraliseCell keeps a spreadsheet from running a CSV cell as a formula:
// a cell starting with = + - @ (or a tab or carriage return, which some
// programs skip before looking) gets a leading apostrophe, which they show
// as text. A cell already starting with an apostrophe gets one too, so that
// PlainCell gives back exactly what was exported. (XLSX cells are written
// as strings, never formulas, and need none of this.)
func NeutraliseCell(c string) string {
	if c == "" {
		return c
	}
	switch c[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return "'" + c
	}
	return c
}

// PlainCell reverses NeutraliseCell, for readers of exported CSV files (the
// inspection package's verifier recomputes hashes over the plain values).
func PlainCell(c string) string {
	if len(c) > 1 && c[0] == '\'' {
		switch c[1] {
		case '=', '+', '-', '@', '\t', '\r', '\'':
			return c[1:]
		}
	}
	return c
}

func (s *csvSink) Close() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	return s.buf.Flush()
}
