package metric_test

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// valid returns an input that passes every rule; rows change one thing.
func valid() metric.Input {
	return metric.Input{Name: "cpu.load", Value: 0.42, HasValue: true, Tags: map[string]string{"host": "a"}}
}

func manyTags(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m["k"+strconv.Itoa(i)] = "v"
	}
	return m
}

// fields returns the sorted field names of errs (tag errors come in map order).
func fields(errs []metric.FieldError) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Field)
	}
	slices.Sort(out)
	return out
}

func TestNew(t *testing.T) {
	lim := metric.DefaultLimits()
	withAge := lim.WithRetention(30)

	tests := []struct {
		name   string
		edit   func(*metric.Input)
		lim    metric.Limits
		fields []string // expected error fields, sorted; nil = valid
		msgHas string   // substring of the first error message
		wantTS time.Time
	}{
		{name: "valid", edit: func(*metric.Input) {}},
		{name: "valid name with . : - _", edit: func(in *metric.Input) { in.Name = "_a.b:c-d_E9" }},
		{name: "valid name single letter", edit: func(in *metric.Input) { in.Name = "x" }},
		{name: "valid name underscore first", edit: func(in *metric.Input) { in.Name = "_9" }},
		{name: "valid name at 200 bytes", edit: func(in *metric.Input) { in.Name = strings.Repeat("a", 200) }},
		{name: "name empty", edit: func(in *metric.Input) { in.Name = "" }, fields: []string{"name"}, msgHas: "required"},
		{name: "name 201 bytes", edit: func(in *metric.Input) { in.Name = strings.Repeat("a", 201) }, fields: []string{"name"}, msgHas: "limit of 200 bytes"},
		{name: "name first char digit", edit: func(in *metric.Input) { in.Name = "9cpu" }, fields: []string{"name"}, msgHas: "must match"},
		{name: "name first char dot", edit: func(in *metric.Input) { in.Name = ".cpu" }, fields: []string{"name"}},
		{name: "name first char dash", edit: func(in *metric.Input) { in.Name = "-cpu" }, fields: []string{"name"}},
		{name: "name with space", edit: func(in *metric.Input) { in.Name = "cpu load" }, fields: []string{"name"}},
		{name: "name with slash", edit: func(in *metric.Input) { in.Name = "cpu/load" }, fields: []string{"name"}},
		{name: "name non-ascii", edit: func(in *metric.Input) { in.Name = "cpü" }, fields: []string{"name"}},
		{name: "value missing", edit: func(in *metric.Input) { in.HasValue = false; in.Value = 0 }, fields: []string{"value"}, msgHas: "required"},
		{name: "value NaN", edit: func(in *metric.Input) { in.Value = math.NaN() }, fields: []string{"value"}, msgHas: "finite"},
		{name: "value +Inf", edit: func(in *metric.Input) { in.Value = math.Inf(1) }, fields: []string{"value"}, msgHas: "finite"},
		{name: "value -Inf", edit: func(in *metric.Input) { in.Value = math.Inf(-1) }, fields: []string{"value"}, msgHas: "finite"},
		{name: "value zero ok", edit: func(in *metric.Input) { in.Value = 0 }},
		{name: "value negative max ok", edit: func(in *metric.Input) { in.Value = -math.MaxFloat64 }},
		{name: "no tags ok", edit: func(in *metric.Input) { in.Tags = nil }},
		{name: "32 tags ok", edit: func(in *metric.Input) { in.Tags = manyTags(32) }},
		{name: "33 tags", edit: func(in *metric.Input) { in.Tags = manyTags(33) }, fields: []string{"tags"}, msgHas: "limit of 32"},
		{name: "tag key empty", edit: func(in *metric.Input) { in.Tags = map[string]string{"": "v"} }, fields: []string{"tags"}, msgHas: "empty"},
		{name: "tag key 64 bytes ok", edit: func(in *metric.Input) { in.Tags = map[string]string{strings.Repeat("k", 64): "v"} }},
		{name: "tag key 65 bytes", edit: func(in *metric.Input) { in.Tags = map[string]string{strings.Repeat("k", 65): "v"} }, fields: []string{"tags." + strings.Repeat("k", 32)}, msgHas: "limit of 64 bytes"},
		{name: "tag key bad charset", edit: func(in *metric.Input) { in.Tags = map[string]string{"ho st": "v"} }, fields: []string{"tags.ho st"}, msgHas: "must match"},
		{name: "tag key first char digit", edit: func(in *metric.Input) { in.Tags = map[string]string{"1host": "v"} }, fields: []string{"tags.1host"}},
		{name: "tag key with . : - _ ok", edit: func(in *metric.Input) { in.Tags = map[string]string{"k8s.pod:name-x_y": "v"} }},
		{name: "tag value 256 bytes ok", edit: func(in *metric.Input) { in.Tags = map[string]string{"host": strings.Repeat("v", 256)} }},
		{name: "tag value 257 bytes", edit: func(in *metric.Input) { in.Tags = map[string]string{"host": strings.Repeat("v", 257)} }, fields: []string{"tags.host"}, msgHas: "limit of 256 bytes"},
		{name: "tag value empty ok", edit: func(in *metric.Input) { in.Tags = map[string]string{"host": ""} }},
		{name: "tag value any bytes ok", edit: func(in *metric.Input) { in.Tags = map[string]string{"path": "/a b/ü"} }},
		{name: "tag value multi-byte UTF-8 ok", edit: func(in *metric.Input) { in.Tags = map[string]string{"city": "Zürich 東京 😀 \ufffd"} }},
		{name: "tag value invalid byte", edit: func(in *metric.Input) { in.Tags = map[string]string{"host": "a\xffb"} }, fields: []string{"tags.host"}, msgHas: "tag value is not valid UTF-8"},
		{name: "tag value truncated sequence", edit: func(in *metric.Input) { in.Tags = map[string]string{"host": "\xe6\x9d"} }, fields: []string{"tags.host"}, msgHas: "not valid UTF-8"},
		{name: "tag value overlong slash", edit: func(in *metric.Input) { in.Tags = map[string]string{"host": "\xc0\xaf"} }, fields: []string{"tags.host"}, msgHas: "not valid UTF-8"},
		{name: "tag value encoded surrogate", edit: func(in *metric.Input) { in.Tags = map[string]string{"host": "\xed\xa0\x80"} }, fields: []string{"tags.host"}, msgHas: "not valid UTF-8"},
		{name: "tag key invalid byte", edit: func(in *metric.Input) { in.Tags = map[string]string{"ho\xffst": "v"} }, fields: []string{"tags.ho\ufffdst"}, msgHas: "must match"},
		{name: "tag key cut inside a rune stays UTF-8", edit: func(in *metric.Input) { in.Tags = map[string]string{strings.Repeat("k", 31) + "é": "v"} }, fields: []string{"tags." + strings.Repeat("k", 31)}},
		{name: "name invalid byte", edit: func(in *metric.Input) { in.Name = "cpu\xff" }, fields: []string{"name"}, msgHas: "must match"},
		{name: "dedupe_id multi-byte UTF-8 ok", edit: func(in *metric.Input) { in.DedupeID = "é-東京" }},
		{name: "dedupe_id invalid byte", edit: func(in *metric.Input) { in.DedupeID = "d\xff" }, fields: []string{"dedupe_id"}, msgHas: "dedupe_id is not valid UTF-8"},
		{name: "bad key and long value both reported", edit: func(in *metric.Input) { in.Tags = map[string]string{"9x": strings.Repeat("v", 257)} }, fields: []string{"tags.9x", "tags.9x"}},
		{name: "ts absent takes now", edit: func(in *metric.Input) { in.HasTS = false }, wantTS: now},
		{name: "ts 9 min ahead ok", edit: func(in *metric.Input) { in.TS, in.HasTS = now.Add(9*time.Minute), true }, wantTS: now.Add(9 * time.Minute)},
		{name: "ts exactly 10 min ahead ok", edit: func(in *metric.Input) { in.TS, in.HasTS = now.Add(10*time.Minute), true }, wantTS: now.Add(10 * time.Minute)},
		{name: "ts 10 min 1 ms ahead", edit: func(in *metric.Input) { in.TS, in.HasTS = now.Add(10*time.Minute+time.Millisecond), true }, fields: []string{"ts"}, msgHas: "future"},
		{name: "ts 11 min ahead", edit: func(in *metric.Input) { in.TS, in.HasTS = now.Add(11*time.Minute), true }, fields: []string{"ts"}, msgHas: "max_future=10m0s"},
		{name: "ts old, no MaxAge ok", edit: func(in *metric.Input) { in.TS, in.HasTS = now.AddDate(-5, 0, 0), true }, wantTS: now.AddDate(-5, 0, 0)},
		{name: "ts 29 days old within retention ok", lim: withAge, edit: func(in *metric.Input) { in.TS, in.HasTS = now.AddDate(0, 0, -29), true }, wantTS: now.AddDate(0, 0, -29)},
		{name: "ts older than retention", lim: withAge, edit: func(in *metric.Input) { in.TS, in.HasTS = now.AddDate(0, 0, -31), true }, fields: []string{"ts"}, msgHas: "retention of 30 days"},
		{name: "ts in other zone stored as UTC millis", edit: func(in *metric.Input) {
			in.TS, in.HasTS = now.Add(-time.Hour).In(time.FixedZone("X", 5*3600)), true
		}, wantTS: now.Add(-time.Hour)},
		{name: "dedupe_id 128 bytes ok", edit: func(in *metric.Input) { in.DedupeID = strings.Repeat("d", 128) }},
		{name: "dedupe_id 129 bytes", edit: func(in *metric.Input) { in.DedupeID = strings.Repeat("d", 129) }, fields: []string{"dedupe_id"}, msgHas: "limit of 128 bytes"},
		{name: "every problem reported, not just the first", lim: withAge, edit: func(in *metric.Input) {
			in.Name = "9bad"
			in.Value = math.NaN()
			in.Tags = map[string]string{"": "v", "ok": strings.Repeat("v", 300)}
			in.TS, in.HasTS = now.AddDate(-1, 0, 0), true
			in.DedupeID = strings.Repeat("d", 200)
		}, fields: []string{"dedupe_id", "name", "tags", "tags.ok", "ts", "value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			l := lim
			if tt.lim != (metric.Limits{}) {
				l = tt.lim
			}
			s, errs := metric.New(in, l, now)
			if got := fields(errs); !slices.Equal(got, tt.fields) && !(len(got) == 0 && tt.fields == nil) {
				t.Fatalf("error fields = %q, want %q (errs %+v)", got, tt.fields, errs)
			}
			if tt.fields != nil {
				if s.Name() != "" || s.Tags() != nil {
					t.Errorf("invalid input returned a non-zero sample %+v", s)
				}
				if tt.msgHas != "" && !containsMsg(errs, tt.msgHas) {
					t.Errorf("messages %+v do not mention %q", errs, tt.msgHas)
				}
				for _, e := range errs {
					if e.Message == "" {
						t.Errorf("empty message for field %q", e.Field)
					}
				}
				return
			}
			if s.Name() != in.Name || s.Value() != in.Value || s.DedupeID() != in.DedupeID {
				t.Errorf("sample = %q %v %q, want %q %v %q", s.Name(), s.Value(), s.DedupeID(), in.Name, in.Value, in.DedupeID)
			}
			if !tt.wantTS.IsZero() {
				if got := s.TimestampMillis(); got != tt.wantTS.UnixMilli() {
					t.Errorf("ts = %d, want %d", got, tt.wantTS.UnixMilli())
				}
				if got := s.Time(); !got.Equal(tt.wantTS) || got.Location() != time.UTC {
					t.Errorf("Time() = %v, want %v in UTC", got, tt.wantTS)
				}
			}
			if want := metric.SortedTags(in.Tags); !slices.Equal(s.Tags(), want) {
				t.Errorf("tags = %v, want %v", s.Tags(), want)
			}
		})
	}
}

func containsMsg(errs []metric.FieldError, sub string) bool {
	for _, e := range errs {
		if strings.Contains(e.Message, sub) {
			return true
		}
	}
	return false
}

func TestNewTimestampTruncatesToMillis(t *testing.T) {
	in := valid()
	in.TS, in.HasTS = now.Add(-1500*time.Microsecond), true
	s, errs := metric.New(in, metric.DefaultLimits(), now)
	if errs != nil {
		t.Fatal(errs)
	}
	if got, want := s.TimestampMillis(), now.UnixMilli()-2; got != want {
		t.Errorf("ts = %d, want %d (UnixMilli floors)", got, want)
	}
}

func TestNewDoesNotAliasInputTags(t *testing.T) {
	in := valid()
	s, errs := metric.New(in, metric.DefaultLimits(), now)
	if errs != nil {
		t.Fatal(errs)
	}
	in.Tags["host"] = "changed"
	if got := s.Tags().Map()["host"]; got != "a" {
		t.Errorf("sample tag changed with the input map: %q", got)
	}
}

func TestSortedTags(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want metric.Tags
	}{
		{"nil", nil, nil},
		{"empty", map[string]string{}, nil},
		{"one", map[string]string{"a": "1"}, metric.Tags{{"a", "1"}}},
		{"sorted by key bytewise", map[string]string{"b": "2", "a": "1", "B": "0", "_": "x", "a.b": "3", "aa": "4"},
			metric.Tags{{"B", "0"}, {"_", "x"}, {"a", "1"}, {"a.b", "3"}, {"aa", "4"}, {"b", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metric.SortedTags(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("SortedTags = %v, want %v", got, tt.want)
			}
			if len(tt.in) > 0 {
				m := got.Map()
				if len(m) != len(tt.in) {
					t.Fatalf("Map() = %v, want %v", m, tt.in)
				}
				for k, v := range tt.in {
					if m[k] != v {
						t.Errorf("Map()[%q] = %q, want %q", k, m[k], v)
					}
				}
			}
		})
	}
}

func TestRehydrate(t *testing.T) {
	tags := metric.Tags{{"host", "a"}}
	s := metric.Rehydrate("cpu", 1.5, tags, 1700000000123, "d1")
	if s.Name() != "cpu" || s.Value() != 1.5 || s.TimestampMillis() != 1700000000123 || s.DedupeID() != "d1" || !slices.Equal(s.Tags(), tags) {
		t.Errorf("Rehydrate round-trip lost data: %+v", s)
	}
	if s.Series() != metric.HashSeries("cpu", tags) {
		t.Error("Series() differs from HashSeries of the same name and tags")
	}
}
