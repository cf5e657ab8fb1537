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
	buf *bufio.Writer
	w   *csv.Writer
}

func newCSVSink(w io.Writer) *csvSink {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &csvSink{buf: buf, w: csv.NewWriter(buf)}
}

func (s *csvSink) Row(cells []string) error { return s.w.Write(cells) }

func (s *csvSink) Close() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	return s.buf.Flush()
}
