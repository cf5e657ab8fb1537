package reports

import (
	"errors"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// maxXLSXRows is the row limit of a worksheet.
const maxXLSXRows = 1048576

// xlsxSink streams rows through excelize's stream writer, which spills them
// to a temporary file instead of holding the sheet in memory; the workbook is
// written to w on Close.
type xlsxSink struct {
	w    io.Writer
	f    *excelize.File
	sw   *excelize.StreamWriter
	row  int
	vals []any
}

func newXLSXSink(w io.Writer, sheet string) (*xlsxSink, error) {
	f := excelize.NewFile()
	if sheet == "" {
		sheet = "report"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		_ = f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &xlsxSink{w: w, f: f, sw: sw}, nil
}

func (s *xlsxSink) Row(cells []string) error {
	if s.row >= maxXLSXRows {
		return errors.New("xlsx: more rows than a worksheet holds (1,048,576): export CSV instead")
	}
	s.row++
	s.vals = s.vals[:0]
	for _, c := range cells {
		s.vals = append(s.vals, c)
	}
	cell, err := excelize.CoordinatesToCellName(1, s.row)
	if err != nil {
		return err
	}
	if err := s.sw.SetRow(cell, s.vals); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

// Close writes the workbook and removes excelize's temporary files, which
// hold the report's rows: a failure of either is returned.
func (s *xlsxSink) Close() error {
	if err := s.sw.Flush(); err != nil {
		return errors.Join(fmt.Errorf("xlsx: %w", err), s.f.Close())
	}
	return errors.Join(s.f.Write(s.w), s.f.Close())
}
