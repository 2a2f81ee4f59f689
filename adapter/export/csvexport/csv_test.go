package csvexport_test

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/export/csvexport"
)

func TestWriteRaw(t *testing.T) {
	var b bytes.Buffer
	w, err := csvexport.NewWriter(&b, csvexport.Columns{TagKeys: []string{"host", "note"}})
	if err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		tags map[string]string
		p    csvexport.Point
	}{
		{map[string]string{"host": "a", "note": `say "hi", ok`}, csvexport.Point{TS: 1764756000123, Value: 0.1}},
		{map[string]string{"host": "=HYPERLINK(\"x\")"}, csvexport.Point{TS: 1764756001000, Value: -2.5e300}},
	}
	for _, r := range rows {
		if err := w.Write("cpu.load", r.tags, r.p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "timestamp,unix_ms,name,host,note,value\r\n" +
		"2025-12-03T10:00:00.123Z,1764756000123,cpu.load,a,\"say \"\"hi\"\", ok\",0.1\r\n" +
		"2025-12-03T10:00:01.000Z,1764756001000,cpu.load,\"'=HYPERLINK(\"\"x\"\")\",,-2.5e+300\r\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWriteRollup(t *testing.T) {
	var b bytes.Buffer
	w, err := csvexport.NewWriter(&b, csvexport.Columns{Rollup: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write("m", nil, csvexport.Point{TS: 0, Value: 2, Min: 1, Max: 3, Count: 4}); err != nil {
		t.Fatal(err)
	}
	_ = w.Flush()
	if want := "timestamp,unix_ms,name,value,min,max,count\r\n1970-01-01T00:00:00.000Z,0,m,2,1,3,4\r\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// Every cell a spreadsheet would evaluate comes out as text.
func TestInert(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"'quoted": "''quoted", "plain": "plain", "": "", "a=b": "a=b",
	} {
		if got := csvexport.Inert(in); got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewWriterRefusesARepeatedTagKey(t *testing.T) {
	if _, err := csvexport.NewWriter(&bytes.Buffer{}, csvexport.Columns{TagKeys: []string{"a", "a"}}); err == nil {
		t.Error("a tag key listed twice was accepted")
	}
}

func TestReadRefusesOtherCSV(t *testing.T) {
	if _, _, err := csvexport.Read(strings.NewReader("a,b,c\r\n1,2,3\r\n")); err == nil {
		t.Error("a CSV that is not an export was read")
	}
}

// FuzzRoundTrip: any point of any series written, read back, is the same
// point of the same series (tag values, names and keys of any text,
// formula-like or not; any finite value).
func FuzzRoundTrip(f *testing.F) {
	f.Add("cpu.load", "host", "=cmd|' /C calc'!A0", "value", "'a", int64(1764756000123), 0.25, 0.1, 0.9, int64(3), true)
	f.Add("m", "count", "", "min", "-1", int64(-1), -0.0, 0.0, 0.0, int64(0), false)
	f.Add("a\"b", "k,1", "line\nbreak", "k2", "\r\n", int64(math.MaxInt64/2), math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), int64(1), true)
	f.Fuzz(func(t *testing.T, name, k1, v1, k2, v2 string, ts int64, value, lo, hi float64, count int64, rollup bool) {
		if k1 == "" || k2 == "" || k1 == k2 || math.IsNaN(value) || math.IsNaN(lo) || math.IsNaN(hi) || !validText(name, k1, v1, k2, v2) {
			return // not an export's input: keys are distinct non-empty names, values are samples
		}
		if ts < -62135596800000 || ts > 253402300799999 {
			return // RFC 3339 years 1 to 9999
		}
		cols := csvexport.Columns{TagKeys: []string{k1, k2}, Rollup: rollup}
		p := csvexport.Point{TS: ts, Value: value}
		if rollup {
			p.Min, p.Max, p.Count = lo, hi, count
		}
		tags := map[string]string{}
		for k, v := range map[string]string{k1: v1, k2: v2} {
			if v != "" {
				tags[k] = v
			}
		}
		var b bytes.Buffer
		w, err := csvexport.NewWriter(&b, cols)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(name, tags, p); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		gotCols, rows, err := csvexport.Read(&b)
		if err != nil {
			t.Fatalf("read back %q: %v", b.String(), err)
		}
		if len(tags) == 0 {
			tags = nil
		}
		want := []csvexport.Row{{Name: name, Tags: tags, Point: p}}
		if !reflect.DeepEqual(gotCols, cols) || !reflect.DeepEqual(rows, want) {
			t.Fatalf("round trip of %q:\n got  %+v %+v\n want %+v %+v", b.String(), gotCols, rows, cols, want)
		}
	})
}

// validText: what a sample can carry (valid UTF-8; encoding/csv turns a
// lone \r in a quoted field into \n, which no tag or name may hold).
func validText(ss ...string) bool {
	for _, s := range ss {
		if !utf8Valid(s) || strings.ContainsRune(s, '\r') {
			return false
		}
	}
	return true
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
