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
		msgHas    string // in the first field error's message (or the body error's)
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

		// Strict JSON (issue 11): each of these was read, laxly, as something.
		{name: "tag value not UTF-8", body: "{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"a\xffb\"}}", inputs: 1, fields: []string{"tags.host"}, msgHas: "tag value is not valid UTF-8"},
		{name: "tag value overlong /", body: "[{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xc0\xaf\"}}]", inputs: 1, fields: []string{"tags.host"}, msgHas: "not valid UTF-8"},
		{name: "tag value UTF-8 surrogate", body: "[{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xed\xa0\x80\"}}]", inputs: 1, fields: []string{"tags.host"}, msgHas: "not valid UTF-8"},
		{name: "tag value cut sequence", body: "[{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xe6\x9d\"}}]", inputs: 1, fields: []string{"tags.host"}, msgHas: "not valid UTF-8"},
		{name: "tag key not UTF-8", body: "{\"name\":\"a\",\"value\":1,\"tags\":{\"ho\xffst\":\"a\"}}", inputs: 1, fields: []string{"tags.ho\ufffdst"}, msgHas: "tag key is not valid UTF-8"},
		{name: "name not UTF-8", body: "{\"name\":\"cpu\xff\",\"value\":1}", inputs: 1, fields: []string{"name"}, msgHas: "name is not valid UTF-8"},
		{name: "dedupe_id not UTF-8", body: "{\"name\":\"a\",\"value\":1,\"dedupe_id\":\"d\xff\"}", inputs: 1, fields: []string{"dedupe_id"}, msgHas: "dedupe_id is not valid UTF-8"},
		{name: "ignored field not UTF-8", body: "{\"name\":\"a\",\"value\":1,\"note\":\"\xff\"}", inputs: 1, fields: []string{"note"}, msgHas: "not valid UTF-8"},
		{name: "field name not UTF-8", body: "{\"name\":\"a\",\"value\":1,\"n\xff\":1}", inputs: 1, fields: []string{"n\ufffd"}, msgHas: "field name is not valid UTF-8"},
		{name: "valid UTF-8 and U+FFFD taken", body: "{\"name\":\"a\",\"value\":1,\"tags\":{\"city\":\"Zürich \xef\xbf\xbd 😀\"}}", inputs: 1, firstName: "a"},
		{name: "lone high surrogate", body: `{"name":"a","value":1,"tags":{"host":"\ud800"}}`, inputs: 1, fields: []string{"tags.host"}, msgHas: "lone UTF-16 surrogate"},
		{name: "lone low surrogate", body: `{"name":"a","value":1,"tags":{"host":"\udc00"}}`, inputs: 1, fields: []string{"tags.host"}, msgHas: "lone UTF-16 surrogate"},
		{name: "surrogates reversed", body: `{"name":"a","value":1,"tags":{"host":"\udc00\ud800"}}`, inputs: 1, fields: []string{"tags.host"}, msgHas: "surrogate"},
		{name: "high surrogate then a letter", body: `{"name":"a","value":1,"tags":{"host":"\ud800\u0041"}}`, inputs: 1, fields: []string{"tags.host"}, msgHas: "surrogate"},
		{name: "lone surrogate in dedupe_id", body: `{"name":"a","value":1,"dedupe_id":"\udbff"}`, inputs: 1, fields: []string{"dedupe_id"}, msgHas: "surrogate"},
		{name: "lone surrogate in a tag key", body: `{"name":"a","value":1,"tags":{"\ud800":"v"}}`, inputs: 1, fields: []string{"tags.\ufffd"}, msgHas: "tag key holds a lone"},
		{name: "lone surrogate in an ignored field", body: `{"name":"a","value":1,"note":["\ud800"]}`, inputs: 1, fields: []string{"note"}, msgHas: "surrogate"},
		{name: "surrogate pair taken", body: `{"name":"a","value":1,"tags":{"e":"\ud83d\ude00"}}`, inputs: 1, firstName: "a"},
		{name: "value 01", body: `{"name":"a","value":01}`, inputs: 1, fields: []string{"value"}, msgHas: "value 01 is not a valid JSON number"},
		{name: "value -01", body: `[{"name":"a","value":-01}]`, inputs: 1, fields: []string{"value"}, msgHas: "not a valid JSON number"},
		{name: "value +1", body: `[{"name":"a","value":+1}]`, inputs: 1, fields: []string{"value"}, msgHas: "value +1 is not a valid JSON number"},
		{name: "value .5", body: `[{"name":"a","value":.5}]`, inputs: 1, fields: []string{"value"}, msgHas: "not a valid JSON number"},
		{name: "value 1.", body: `[{"name":"a","value":1.}]`, inputs: 1, fields: []string{"value"}, msgHas: "not a valid JSON number"},
		{name: "value 1e", body: `[{"name":"a","value":1e}]`, inputs: 1, fields: []string{"value"}, msgHas: "not a valid JSON number"},
		{name: "value hex", body: `[{"name":"a","value":0x10}]`, inputs: 1, fields: []string{"value"}, msgHas: "not a valid JSON number"},
		{name: "value Infinity", body: `[{"name":"a","value":Infinity}]`, inputs: 1, fields: []string{"value"}, msgHas: "finite"},
		{name: "value -Infinity", body: `[{"name":"a","value":-Infinity}]`, inputs: 1, fields: []string{"value"}, msgHas: "finite"},
		{name: "value NaN", body: `[{"name":"a","value":NaN}]`, inputs: 1, fields: []string{"value"}, msgHas: "finite"},
		{name: "ts 01", body: `[{"name":"a","value":1,"ts":01}]`, inputs: 1, fields: []string{"ts"}, msgHas: "ts 01 is not a valid JSON number"},
		{name: "ts hex", body: `[{"name":"a","value":1,"ts":0x10}]`, inputs: 1, fields: []string{"ts"}, msgHas: "not a valid JSON number"},
		{name: "ignored field 01", body: `[{"name":"a","value":1,"note":01}]`, inputs: 1, fields: []string{"note"}, msgHas: "not valid JSON"},
		{name: "ignored field bad escape", body: `[{"name":"a","value":1,"note":"\x"}]`, inputs: 1, fields: []string{"note"}, msgHas: "not valid JSON"},
		{name: "tag value null", body: `{"name":"a","value":1,"tags":{"host":null}}`, inputs: 1, fields: []string{"tags.host"}, msgHas: "tag value must be a string, got null"},
		{name: "null sample", body: `[{"name":"a","value":1},null]`, inputs: 2, fields: []string{"sample"}, msgHas: "got null"},
		{name: "null fields are absent", body: `{"name":"a","value":1,"ts":null,"tags":null,"dedupe_id":null}`, inputs: 1, firstName: "a"},
		{name: "name given twice", body: `{"name":"a","name":"b","value":1}`, inputs: 1, fields: []string{"name"}, msgHas: "name is given more than once"},
		{name: "name in two cases", body: `[{"name":"a","Name":"b","value":1}]`, inputs: 1, fields: []string{"name"}, msgHas: "more than once"},
		{name: "name escaped and plain", body: `[{"name":"a","n\u0061me":"b","value":1}]`, inputs: 1, fields: []string{"name"}, msgHas: "more than once"},
		{name: "value given twice", body: `[{"name":"a","value":1,"value":2}]`, inputs: 1, fields: []string{"value"}, msgHas: "more than once"},
		{name: "tags given twice", body: `[{"name":"a","value":1,"tags":{"a":"1"},"tags":{"b":"2"}}]`, inputs: 1, fields: []string{"tags"}, msgHas: "more than once"},
		{name: "ts given twice", body: `[{"name":"a","value":1,"ts":1764064800,"ts":1764064801}]`, inputs: 1, fields: []string{"ts"}, msgHas: "more than once"},
		{name: "dedupe_id given twice", body: `[{"name":"a","value":1,"dedupe_id":"x","dedupe_id":"x"}]`, inputs: 1, fields: []string{"dedupe_id"}, msgHas: "more than once"},
		{name: "ignored field given twice", body: `[{"name":"a","value":1,"note":1,"note":2}]`, inputs: 1, fields: []string{"note"}, msgHas: "more than once"},
		{name: "tag key given twice", body: `{"name":"a","value":1,"tags":{"host":"a","host":"b"}}`, inputs: 1, fields: []string{"tags.host"}, msgHas: `tag key "host" is given more than once`},
		{name: "tag key escaped and plain", body: `[{"name":"a","value":1,"tags":{"host":"a","ho\u0073t":"b"}}]`, inputs: 1, fields: []string{"tags.host"}, msgHas: "more than once"},
		{name: "tag keys differ in case", body: `[{"name":"a","value":1,"tags":{"host":"a","Host":"b"}}]`, inputs: 1, firstName: "a"},
		{name: "first of a repeated name kept for the domain", body: `[{"name":"a","name":"9b","value":1}]`, inputs: 1, fields: []string{"name"}, firstName: "a"},
		{name: "vertical tab is not JSON whitespace", body: "\v{\"name\":\"a\",\"value\":1}", bodyErr: true},
		{name: "no-break space after the body", body: "{\"name\":\"a\",\"value\":1}\u00a0", bodyErr: true},
		{name: "form feed after a ts", body: "[{\"name\":\"a\",\"value\":1,\"ts\":1764064800\f}]", inputs: 1, fields: []string{"ts"}},
		{name: "nested 512 deep", body: `[{"name":"a","value":1,"x":` + strings.Repeat("[", 510) + strings.Repeat("]", 510) + `}]`, inputs: 1, firstName: "a"},
		{name: "nested 513 deep", body: `[{"name":"a","value":1,"x":` + strings.Repeat("[", 511) + strings.Repeat("]", 511) + `}]`, bodyErr: true, msgHas: "deeper than 512"},
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
				if !strings.Contains(verr.Errors[0].Message, tc.msgHas) {
					t.Fatalf("message %q does not say %q", verr.Errors[0].Message, tc.msgHas)
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
			if tc.msgHas != "" && !strings.Contains(fes[0].Message, tc.msgHas) {
				t.Fatalf("message %q does not say %q", fes[0].Message, tc.msgHas)
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

func TestDecodeSaysARepeatedKeyOnce(t *testing.T) {
	body := `{"name":"a","value":1,"x":1,"x":2,"x":3,"name":"b","name":"c","tags":{` + strings.Repeat(`"k":"v",`, 1000) + `"z":"v"}}`
	_, fes, err := samplejson.Decode([]byte(body), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fe := range fes {
		got = append(got, fe.Field)
	}
	if want := "x,name,tags.k"; strings.Join(got, ",") != want {
		t.Fatalf("fields %v, want %s", got, want)
	}
}
