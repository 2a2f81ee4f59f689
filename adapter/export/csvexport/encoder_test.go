package csvexport_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/export/csvexport"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// The encoder writes the header on Open and a row per point; gzipped, the
// same bytes once gunzipped.
func TestEncoder(t *testing.T) {
	write := func(gz bool) []byte {
		var b bytes.Buffer
		rw, err := csvexport.Encoder{}.Open(&b, export.Columns{TagKeys: []string{"host"}, Rollup: true}, gz)
		if err != nil {
			t.Fatal(err)
		}
		pts := []metric.Point{{TS: 0, Value: 2, Min: 1, Max: 3, Count: 4, Sum: 8}, {TS: 60_000, Value: 5, Min: 5, Max: 5, Count: 1, Sum: 5}}
		if err := rw.Write("m", metric.Tags{{Key: "host", Value: "=1"}}, pts); err != nil {
			t.Fatal(err)
		}
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	want := "timestamp,unix_ms,name,host,value,min,max,count\r\n" +
		"1970-01-01T00:00:00.000Z,0,m,'=1,2,1,3,4\r\n1970-01-01T00:01:00.000Z,60000,m,'=1,5,5,5,1\r\n"
	if got := string(write(false)); got != want {
		t.Errorf("plain\n%q\nwant\n%q", got, want)
	}
	zr, err := gzip.NewReader(bytes.NewReader(write(true)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(zr); err != nil || string(got) != want {
		t.Errorf("gunzipped %q, %v", got, err)
	}
}
