package csvexport

import (
	"compress/gzip"
	"io"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// Encoder is the export job's file format (export.Encoder): this CSV,
// gzipped when asked.
type Encoder struct{}

var _ export.Encoder = Encoder{}

// Open writes the header for cols to w and returns the row writer.
func (Encoder) Open(w io.Writer, cols export.Columns, gz bool) (export.RowWriter, error) {
	rw := &rowWriter{}
	if gz {
		rw.gz = gzip.NewWriter(w)
		w = rw.gz
	}
	cw, err := NewWriter(w, Columns{TagKeys: cols.TagKeys, Rollup: cols.Rollup})
	if err != nil {
		return nil, err
	}
	rw.csv = cw
	return rw, nil
}

type rowWriter struct {
	csv *Writer
	gz  *gzip.Writer // nil: plain
}

// Write writes the points of one series; its tags become a map once.
func (r *rowWriter) Write(name string, tags metric.Tags, points []metric.Point) error {
	m := tags.Map()
	for _, p := range points {
		if err := r.csv.Write(name, m, Point{TS: p.TS, Value: p.Value, Min: p.Min, Max: p.Max, Count: p.Count}); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes the CSV and ends the gzip stream.
func (r *rowWriter) Close() error {
	if err := r.csv.Flush(); err != nil {
		return err
	}
	if r.gz != nil {
		return r.gz.Close()
	}
	return nil
}
