package alert_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// This file holds a tiny input-series notation in the spirit of
// `promtool test rules`:
//
//	cpu{host="a",dc="x"} 1 1 5 _ 3x5 2x_
//
// is the series cpu with tags host=a and dc=x; each value is one sample per
// interval starting at 0 (the k-th value at k × interval), "_" is a missing
// sample, and "NxV" is N repeats of V (V a number or "_").
//
// Mind the window: an evaluation at t reads the samples in [t-window, t),
// so with window = interval the evaluation at t sees the sample written at
// t-interval, never the one at t.

// notatedSeries is one parsed input series.
type notatedSeries struct {
	name    string
	samples alert.SeriesSamples
	n       int // values written, "_" included
}

// parseSeries parses one series in the notation above.
func parseSeries(spec string, interval time.Duration) (notatedSeries, error) {
	spec = strings.TrimSpace(spec)
	i := strings.IndexAny(spec, "{ ")
	if i < 0 {
		i = len(spec)
	}
	s := notatedSeries{name: spec[:i]}
	if s.name == "" {
		return s, fmt.Errorf("%q: no metric name", spec)
	}
	rest := spec[i:]
	tags := metric.Tags{}
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq <= 0 {
				return s, fmt.Errorf("%q: want key=\"value\" in the braces", spec)
			}
			key := strings.TrimSpace(rest[:eq])
			quoted, err := strconv.QuotedPrefix(rest[eq+1:])
			if err != nil {
				return s, fmt.Errorf("%q: tag %s: value is not a quoted string", spec, key)
			}
			val, _ := strconv.Unquote(quoted)
			tags = append(tags, metric.Tag{Key: key, Value: val})
			rest = strings.TrimLeft(rest[eq+1+len(quoted):], " ")
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, fmt.Errorf("%q: want , or } after tag %s", spec, key)
			}
		}
	}
	slices.SortFunc(tags, func(a, b metric.Tag) int { return strings.Compare(a.Key, b.Key) })
	s.samples.Tags = tags
	step := interval.Milliseconds()
	for _, tok := range strings.Fields(rest) {
		count, val := 1, tok
		if x := strings.IndexByte(tok, 'x'); x >= 0 {
			n, err := strconv.Atoi(tok[:x])
			if err != nil || n < 0 {
				return s, fmt.Errorf("%q: %q: want NxV", spec, tok)
			}
			count, val = n, tok[x+1:]
		}
		missing := val == "_"
		var v float64
		if !missing {
			var err error
			if v, err = strconv.ParseFloat(val, 64); err != nil {
				return s, fmt.Errorf("%q: %q is neither a number nor _", spec, tok)
			}
		}
		for range count {
			if !missing {
				s.samples.TS = append(s.samples.TS, int64(s.n)*step)
				s.samples.Values = append(s.samples.Values, v)
			}
			s.n++
		}
	}
	return s, nil
}

func mustSeries(t testing.TB, spec string, interval time.Duration) notatedSeries {
	t.Helper()
	s, err := parseSeries(spec, interval)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ms reads a duration such as "2m" or "-30s" as milliseconds ("" is 0).
func ms(t testing.TB, d string) int64 {
	t.Helper()
	if d == "" {
		return 0
	}
	v, err := time.ParseDuration(d)
	if err != nil {
		t.Fatalf("bad duration %q: %v", d, err)
	}
	return v.Milliseconds()
}

func TestParseSeries(t *testing.T) {
	tests := []struct {
		name   string
		spec   string
		tags   metric.Tags
		ts     []int64
		values []float64
		n      int
		bad    bool
	}{
		{name: "plain values", spec: `cpu 1 2.5 -3`, tags: metric.Tags{},
			ts: []int64{0, 60000, 120000}, values: []float64{1, 2.5, -3}, n: 3},
		{name: "tags sorted, missing samples skipped", spec: `cpu{host="a", dc="x"} 1 _ 5`,
			tags: metric.Tags{{Key: "dc", Value: "x"}, {Key: "host", Value: "a"}},
			ts:   []int64{0, 120000}, values: []float64{1, 5}, n: 3},
		{name: "repeats", spec: `cpu{} 2x7 2x_ 1`, tags: metric.Tags{},
			ts: []int64{0, 60000, 240000}, values: []float64{7, 7, 1}, n: 5},
		{name: "quoted value with escapes", spec: `cpu{a="x,\"b\"=y"} 0`,
			tags: metric.Tags{{Key: "a", Value: `x,"b"=y`}}, ts: []int64{0}, values: []float64{0}, n: 1},
		{name: "no samples", spec: `cpu{host="a"}`, tags: metric.Tags{{Key: "host", Value: "a"}}},
		{name: "bad value", spec: `cpu 1 x`, bad: true},
		{name: "bad repeat", spec: `cpu ax1`, bad: true},
		{name: "unquoted tag value", spec: `cpu{host=a} 1`, bad: true},
		{name: "unterminated braces", spec: `cpu{host="a" 1`, bad: true},
		{name: "no name", spec: `{host="a"} 1`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseSeries(tt.spec, time.Minute)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseSeries(%q) = %+v, want an error", tt.spec, s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.name != "cpu" || !reflect.DeepEqual(s.samples.Tags, tt.tags) || s.n != tt.n ||
				!slices.Equal(s.samples.TS, tt.ts) || !slices.Equal(s.samples.Values, tt.values) {
				t.Errorf("parseSeries(%q) = %+v (n %d), want tags %v ts %v values %v n %d",
					tt.spec, s.samples, s.n, tt.tags, tt.ts, tt.values, tt.n)
			}
		})
	}
}
