package csvexport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Columns are an export's columns beside the fixed ones: the tag keys, in
// order, and whether the points are rollup buckets (min, max, count).
type Columns struct {
	TagKeys []string
	Rollup  bool
}

// Point is one exported point of a series.
type Point struct {
	TS       int64 // Unix milliseconds
	Value    float64
	Min, Max float64 // rollups only
	Count    int64   // rollups only
}

// Row is one row as Read gives it back.
type Row struct {
	Name  string
	Tags  map[string]string // a missing tag is absent, an empty one ""
	Point Point
}

// Header is the header row of cols.
func Header(cols Columns) []string {
	h := []string{"timestamp", "unix_ms", "name"}
	for _, k := range cols.TagKeys {
		h = append(h, Inert(k))
	}
	h = append(h, "value")
	if cols.Rollup {
		h = append(h, "min", "max", "count")
	}
	return h
}

// Writer writes rows of one export.
type Writer struct {
	cols Columns
	csv  *csv.Writer
	row  []string
}

// NewWriter writes to w with cols; the header first. A tag key listed
// twice is refused: its column would be ambiguous.
func NewWriter(w io.Writer, cols Columns) (*Writer, error) {
	seen := map[string]bool{}
	for _, k := range cols.TagKeys {
		if seen[k] {
			return nil, fmt.Errorf("csv export: tag key %q listed twice", k)
		}
		seen[k] = true
	}
	cw := &Writer{cols: cols, csv: csv.NewWriter(w)}
	cw.csv.UseCRLF = true // RFC 4180
	if err := cw.csv.Write(Header(cols)); err != nil {
		return nil, err
	}
	return cw, nil
}

// Write writes one point of the series name with tags (tags not among
// the columns are left out; a column the series lacks is empty).
func (w *Writer) Write(name string, tags map[string]string, p Point) error {
	row := w.row[:0]
	row = append(row, time.UnixMilli(p.TS).UTC().Format("2006-01-02T15:04:05.000Z07:00"), strconv.FormatInt(p.TS, 10), Inert(name))
	for _, k := range w.cols.TagKeys {
		row = append(row, Inert(tags[k]))
	}
	row = append(row, number(p.Value))
	if w.cols.Rollup {
		row = append(row, number(p.Min), number(p.Max), strconv.FormatInt(p.Count, 10))
	}
	w.row = row
	return w.csv.Write(row)
}

// Flush writes what is buffered and reports any write error.
func (w *Writer) Flush() error {
	w.csv.Flush()
	return w.csv.Error()
}

// number is the shortest text that reads back as v.
func number(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Inert is a text cell as written: prefixed with an apostrophe when it
// begins with a character a spreadsheet reads as a formula, or with an
// apostrophe itself (so the prefix can always be taken off again).
func Inert(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r'", rune(s[0])) {
		return "'" + s
	}
	return s
}

// uninert undoes Inert.
func uninert(s string) string {
	if strings.HasPrefix(s, "'") {
		return s[1:]
	}
	return s
}

// Read parses an export written by Writer: its columns and rows. Empty
// tag cells read as absent tags (an export cannot tell them apart).
func Read(r io.Reader) (Columns, []Row, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return Columns{}, nil, fmt.Errorf("csv export: header: %w", err)
	}
	// The fixed columns are found from the ends: a tag key may be named
	// "value" or "count" too. A rollup export ends with count, any other
	// with value.
	var cols Columns
	n := len(header)
	cols.Rollup = n >= 7 && slices.Equal(header[n-4:], []string{"value", "min", "max", "count"})
	vi := n - 1
	if cols.Rollup {
		vi = n - 4
	}
	if n < 4 || header[0] != "timestamp" || header[1] != "unix_ms" || header[2] != "name" || header[vi] != "value" {
		return Columns{}, nil, errors.New("csv export: not an export's header")
	}
	for _, k := range header[3:vi] {
		cols.TagKeys = append(cols.TagKeys, uninert(k))
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return cols, rows, nil
		}
		if err != nil {
			return cols, rows, fmt.Errorf("csv export: row %d: %w", len(rows)+1, err)
		}
		row, err := parseRow(rec, cols, vi)
		if err != nil {
			return cols, rows, fmt.Errorf("csv export: row %d: %w", len(rows)+1, err)
		}
		rows = append(rows, row)
	}
}

func parseRow(rec []string, cols Columns, vi int) (Row, error) {
	var row Row
	ts, err := strconv.ParseInt(rec[1], 10, 64)
	if err != nil {
		return row, fmt.Errorf("unix_ms: %w", err)
	}
	row.Point.TS, row.Name = ts, uninert(rec[2])
	for i, k := range cols.TagKeys {
		if v := rec[3+i]; v != "" {
			if row.Tags == nil {
				row.Tags = map[string]string{}
			}
			row.Tags[k] = uninert(v)
		}
	}
	nums := []*float64{&row.Point.Value}
	if cols.Rollup {
		nums = append(nums, &row.Point.Min, &row.Point.Max)
	}
	for i, p := range nums {
		if *p, err = strconv.ParseFloat(rec[vi+i], 64); err != nil {
			return row, fmt.Errorf("%s: %w", []string{"value", "min", "max"}[i], err)
		}
	}
	if cols.Rollup {
		if row.Point.Count, err = strconv.ParseInt(rec[vi+3], 10, 64); err != nil {
			return row, fmt.Errorf("count: %w", err)
		}
	}
	if math.IsNaN(row.Point.Value) {
		return row, errors.New("value: NaN is not a sample")
	}
	return row, nil
}
