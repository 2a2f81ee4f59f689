package csvexport_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"reflect"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/export/csvexport"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// Any series the export job hands the encoder comes back row for row from
// the file, plain or gzipped: dense points (1 ms apart), repeated
// timestamps, extreme values, formula-like tag values.
func FuzzEncoderRoundTrip(f *testing.F) {
	f.Add("cpu", "=cmd|' /C calc'!A0", int64(1764756000123), 0.25, 5, int64(1), true, false)
	f.Add("m", "-1", int64(0), math.MaxFloat64, 40, int64(0), false, true)
	f.Add("a,b", "line\nbreak", int64(-1), -math.SmallestNonzeroFloat64, 3, int64(-7), true, true)
	f.Fuzz(func(t *testing.T, name, host string, ts int64, v float64, n int, step int64, gz, rollup bool) {
		if math.IsNaN(v) || math.IsInf(v, 0) || !validText(name, host) || ts < 0 || ts > 253402300799999-1000 {
			return // not a sample: names and tags are valid text, values finite, times in years 1 to 9999
		}
		n, step = min(max(n, 1), 200), min(max(step, 0), 5) // step 0: repeated timestamps
		cols := export.Columns{TagKeys: []string{"host"}, Rollup: rollup}
		points := make([]metric.Point, n)
		var want []csvexport.Row
		tags := map[string]string{"host": host}
		if host == "" {
			tags = nil // an empty cell reads back as no tag
		}
		for i := range points {
			p := metric.Point{TS: ts + int64(i)*step, Value: v / float64(i+1)}
			cp := csvexport.Point{TS: p.TS, Value: p.Value}
			if rollup {
				p.Min, p.Max, p.Count = -v, v, int64(i)
				cp.Min, cp.Max, cp.Count = p.Min, p.Max, p.Count
			}
			points[i] = p
			want = append(want, csvexport.Row{Name: name, Tags: tags, Point: cp})
		}
		var b bytes.Buffer
		w, err := csvexport.Encoder{}.Open(&b, cols, gz)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(name, metric.SortedTags(map[string]string{"host": host}), points); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var r io.Reader = &b
		if gz {
			if r, err = gzip.NewReader(&b); err != nil {
				t.Fatal(err)
			}
		}
		gotCols, rows, err := csvexport.Read(r)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if !reflect.DeepEqual(gotCols, csvexport.Columns{TagKeys: cols.TagKeys, Rollup: rollup}) || !reflect.DeepEqual(rows, want) {
			t.Fatalf("round trip: got %d rows %+v; want %d rows %+v", len(rows), rows, len(want), want)
		}
	})
}
