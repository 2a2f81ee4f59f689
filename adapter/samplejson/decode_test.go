package samplejson_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/metric"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		max       int
		inputs    int
		fields    []string // the fields of the field errors, in order
		bodyErr   bool     // a *metric.ValidationError on "body"
		limitErr  bool     // a *metric.LimitError on LimitSamples
		firstName string
	}{
		{name: "one sample", body: `{"name":"cpu.load","value":0.5,"tags":{"host":"a"},"ts":"2026-11-25T10:00:00Z"}`, inputs: 1, firstName: "cpu.load"},
		{name: "array", body: ` [{"name":"a","value":1},{"name":"b","value":2,"ts":1764064800}] `, inputs: 2, firstName: "a"},
		{name: "empty array", body: `[]`},
		{name: "bad ts on the fast path", body: `[{"name":"a","value":1,"ts":"yesterday"}]`, inputs: 1, fields: []string{"ts"}, firstName: "a"},
		{name: "slow path names each bad field", body: `[{"name":"a","value":NaN},{"name":7,"value":"1","tags":{"k":1}}]`, inputs: 2, fields: []string{"value", "name", "value", "tags.k"}, firstName: "a"},
		{name: "empty body", body: ``, bodyErr: true},
		{name: "not JSON", body: `hello`, bodyErr: true},
		{name: "truncated", body: `[{"name":"a","value":1}`, bodyErr: true},
		{name: "trailing data", body: `{"name":"a","value":1} x`, bodyErr: true},
		{name: "too many on the fast path", body: `[{"name":"a","value":1},{"name":"b","value":2}]`, max: 1, limitErr: true},
		{name: "too many on the slow path", body: `[{"name":"a","value":NaN},{"name":"b","value":2}]`, max: 1, limitErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 10
			}
			inputs, fes, err := samplejson.Decode([]byte(tc.body), max)
			var verr *metric.ValidationError
			var lerr *metric.LimitError
			switch {
			case tc.bodyErr:
				if !errors.As(err, &verr) || verr.Errors[0].Field != "body" {
					t.Fatalf("err = %v, want a body ValidationError", err)
				}
				return
			case tc.limitErr:
				if !errors.As(err, &lerr) || lerr.Limit != samplejson.LimitSamples || lerr.Max != int64(max) || !lerr.TooLarge {
					t.Fatalf("err = %#v, want LimitError %s", err, samplejson.LimitSamples)
				}
				return
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if len(inputs) != tc.inputs {
				t.Fatalf("%d inputs, want %d", len(inputs), tc.inputs)
			}
			var got []string
			for _, fe := range fes {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("field errors %v, want %v (%v)", got, tc.fields, fes)
			}
			if tc.firstName != "" && inputs[0].Name != tc.firstName {
				t.Fatalf("first name %q, want %q", inputs[0].Name, tc.firstName)
			}
		})
	}
}

func TestDecodeReadsEveryField(t *testing.T) {
	inputs, fes, err := samplejson.Decode([]byte(`{"name":"n","value":2.5,"tags":{"h":"a"},"ts":1764064800123,"dedupe_id":"d1","tenant_id":9}`), 10)
	if err != nil || len(fes) > 0 {
		t.Fatalf("err=%v fes=%v", err, fes)
	}
	in := inputs[0]
	want := time.UnixMilli(1764064800123).UTC()
	if in.Name != "n" || !in.HasValue || in.Value != 2.5 || in.Tags["h"] != "a" || !in.HasTS || !in.TS.Equal(want) || in.DedupeID != "d1" {
		t.Fatalf("input = %+v", in)
	}
}

func TestParseTimeParam(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "1764064800", want: time.Unix(1764064800, 0)},
		{in: "1764064800123", want: time.UnixMilli(1764064800123)},
		{in: " 2026-11-25T10:00:00Z ", want: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		{in: "yesterday", bad: true},
		{in: "NaN", bad: true},
	} {
		got, msg := samplejson.ParseTimeParam(tc.in)
		if tc.bad != (msg != "") || !tc.bad && !got.Equal(tc.want) {
			t.Errorf("ParseTimeParam(%q) = %v, %q", tc.in, got, msg)
		}
	}
}
