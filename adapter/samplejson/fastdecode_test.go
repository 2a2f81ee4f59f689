package samplejson

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// fastSeeds are payloads the fast path should take, and near misses it
// must leave to the general path.
var fastSeeds = []string{
	`{"name":"cpu.load","value":0.5,"tags":{"host":"a"},"ts":"2026-11-25T10:00:00Z"}`,
	` [{"name":"a","value":1},{"name":"b","value":2,"ts":1764064800}] `,
	`[{"name":"bench.m","value":1.5,"tags":{"host":"h-1","dc":"eu"},"ts":1764064800.001},{"name":"bench.m","value":2.5,"tags":{"host":"h-2","dc":"eu"},"ts":1764064800.002}]`,
	`[ { "name" : "a" , "value" : -1.5e3 , "tags" : { "k" : "v" } , "ts" : 1764064800123 , "dedupe_id" : "d1" } ]`,
	`[{"name":"a","value":1,"ts":"yesterday"}]`,
	`[{"name":"a","value":1,"ts":1e300}]`,
	`[{"name":"a","value":1,"ts":-0.5}]`,
	`[{"name":"Zürich","value":1,"tags":{"ville":"Zürich"}}]`,
	`[]`, ` [ ] `, `{}`, `[{}]`, `[{},{}]`,
	`[{"name":"a","value":1,"tags":{}}]`,
	`[{"name":"a","value":null}]`,
	`[{"name":null,"value":1}]`,
	`[{"name":"a","value":1,"tags":null}]`,
	`[{"name":"a","value":1,"tags":{"k":null}}]`,
	`[{"name":"a","value":1,"tags":{"k":"v","k":"w"}}]`,
	`[{"name":"a","name":"b","value":1}]`,
	`[{"Name":"a","value":1}]`,
	`[{"name":"a","value":1,"tenant_id":9}]`,
	`[{"name":"a\"b","value":1}]`,
	`[{"name":"a\u0041","value":1}]`,
	`[{"name":"a","value":01}]`,
	`[{"name":"a","value":1.}]`,
	`[{"name":"a","value":.5}]`,
	`[{"name":"a","value":+1}]`,
	`[{"name":"a","value":1e400}]`,
	`[{"name":"a","value":NaN}]`,
	`[{"name":"a","value":"1"}]`,
	`[{"name":"a","value":1}`,
	`[{"name":"a","value":1}] x`,
	`[{"name":"a","value":1},]`,
	`[{"name":"a","value":1} {"name":"b","value":2}]`,
	`[null]`, `[1]`, `[[]]`,
	`{"name":"a","value":1} {"name":"b","value":2}`,
	`{"name":"a","value":1,}`,
	`[{"name":"a","value":1,"tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11","l":"12","m":"13","n":"14","o":"15","p":"16","q":"17"}}]`,
	"[{\"name\":\"a\xff\",\"value\":1}]",
	"[{\"name\":\"a\tb\",\"value\":1}]",
	`[{"name":"a","value":1,"ts":"2026-11-25T10:00:00.123+02:00"},{"name":"a","value":2,"ts":null}]`,
}

// FuzzFastDecode: whatever the fast path takes, it decodes exactly as the
// general path (goccy/go-json, then the slow path) does; and the fast path
// and Decode as a whole give the strict reference decoder's verdict.
func FuzzFastDecode(f *testing.F) {
	for _, s := range append(fastSeeds, strictSeeds...) {
		f.Add([]byte(s), 10)
	}
	f.Add([]byte(`{"name":"a","value":1}`), 0)
	f.Add([]byte(`[]`), -1)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		checkFastMatchesGeneral(t, body, max)
		checkVerdict(t, body, max)
	})
}

func checkFastMatchesGeneral(t *testing.T, body []byte, max int) bool {
	t.Helper()
	body = trimSpace(body)
	if len(body) == 0 || body[0] != '[' && body[0] != '{' {
		return false
	}
	fin, fbad, ok := fastDecode(body, max)
	if !ok {
		return false
	}
	gin, gbad, err := generalDecode(body, max)
	if err != nil {
		t.Fatalf("%q: the fast path decoded it, the general path says %v", body, err)
	}
	if !reflect.DeepEqual(fin, gin) {
		t.Fatalf("%q: inputs differ\nfast:    %+v\ngeneral: %+v", body, fin, gin)
	}
	if !reflect.DeepEqual(fbad, gbad) {
		t.Fatalf("%q: field errors differ\nfast:    %+v\ngeneral: %+v", body, fbad, gbad)
	}
	return true
}

func TestFastDecodeMatchesGeneral(t *testing.T) {
	taken := map[string]bool{}
	for _, s := range fastSeeds {
		taken[s] = checkFastMatchesGeneral(t, []byte(s), 10)
	}
	// The shapes agents send must stay on the fast path.
	for _, s := range fastSeeds[:8] {
		if !taken[s] {
			t.Errorf("the fast path gave up on %s", s)
		}
	}
	for _, s := range []string{`[{"name":"a","value":1,"tenant_id":9}]`, `[{"name":"a","value":1,"tags":{"k":"v","k":"w"}}]`, `[{"Name":"a","value":1}]`} {
		if taken[s] {
			t.Errorf("the fast path took %s, which is the general path's", s)
		}
	}
}

// strictSeeds are payloads on the edge of strict JSON: every one the
// contract refuses, and near misses it takes.
var strictSeeds = []string{
	// invalid UTF-8 and lone surrogates, in each field and in an ignored one
	"{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xff\"}}",
	"{\"name\":\"a\",\"value\":1,\"tags\":{\"ho\xffst\":\"x\"}}",
	"{\"name\":\"a\xff\",\"value\":1}",
	"{\"name\":\"a\",\"value\":1,\"dedupe_id\":\"d\xff\"}",
	"{\"name\":\"a\",\"value\":1,\"ts\":\"2026-11-25T10:00:00Z\xff\"}",
	"{\"name\":\"a\",\"value\":1,\"tenant_id\":\"\xff\"}",
	"{\"name\":\"a\",\"value\":1,\"\xff\":1}",
	"{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xc0\xaf\"}}",
	"{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xed\xa0\x80\"}}",
	"{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xe6\x9d\"}}",
	"{\"name\":\"a\",\"value\":1,\"tags\":{\"host\":\"\xef\xbf\xbd \xf0\x9f\x98\x80\"}}",
	`{"name":"a","value":1,"tags":{"host":"\ud800"}}`,
	`{"name":"a","value":1,"tags":{"host":"\udc00"}}`,
	`{"name":"a","value":1,"tags":{"host":"\udc00\ud800"}}`,
	`{"name":"a","value":1,"tags":{"host":"\ud800\u0041"}}`,
	`{"name":"a","value":1,"tags":{"host":"\ud800x"}}`,
	`{"name":"a","value":1,"tags":{"host":"\ud800"},"x":1}`,
	`{"name":"a","value":1,"tags":{"host":"\ud83d\ude00"}}`,
	`{"name":"a","value":1,"tags":{"\ud800":"v"}}`,
	`{"name":"a","value":1,"dedupe_id":"\ud800"}`,
	`{"name":"a","value":1,"x":"\ud800"}`,
	`{"name":"a","value":1,"x":["\udfff"]}`,
	`{"name":"a","value":1,"x":"\x"}`,
	// numbers that are not JSON
	`{"name":"a","value":01}`, `{"name":"a","value":-01}`, `{"name":"a","value":+1}`, `{"name":"a","value":.5}`,
	`{"name":"a","value":1.}`, `{"name":"a","value":1e}`, `{"name":"a","value":1e+}`, `{"name":"a","value":0x10}`,
	`{"name":"a","value":Infinity}`, `{"name":"a","value":-Infinity}`, `{"name":"a","value":NaN}`, `{"name":"a","value":-}`,
	`{"name":"a","value":1,"ts":01}`, `{"name":"a","value":1,"ts":0x10}`, `{"name":"a","value":1,"ts":-Infinity}`,
	`{"name":"a","value":1,"x":01}`, `{"name":"a","value":1,"x":[1.]}`,
	`{"name":"a","value":-0}`, `{"name":"a","value":0.5e-3}`, `{"name":"a","value":1E+2}`,
	// null
	`{"name":"a","value":1,"tags":{"k":null}}`,
	`{"name":"a","value":1,"ts":null,"tags":null,"dedupe_id":null}`,
	`{"name":null,"value":null}`,
	`[null]`, `[{"name":"a","value":1},null]`, `null`,
	// keys given twice
	`{"name":"a","name":"b","value":1}`, `{"name":"a","Name":"b","value":1}`, `{"name":"a","value":1,"value":2}`,
	`{"name":"a","value":1,"tags":{"a":"1"},"tags":{"b":"2"}}`, `{"name":"a","value":1,"ts":1764064800,"TS":1764064801}`,
	`{"name":"a","value":1,"dedupe_id":"x","dedupe_id":"x"}`, `{"name":"a","value":1,"x":1,"x":1}`,
	`{"name":"a","value":1,"tags":{"k":"v","k":"w"}}`, `{"name":"a","value":1,"tags":{"k":"v","\u006b":"w"}}`,
	`{"name":"a","value":1,"tags":{"k":"v","K":"w"}}`, `{"name":"a","value":1,"x":{"y":1,"y":2}}`,
	`{"n\u0061me":"a","value":1}`, `{"n\u0061me":"a","name":"b","value":1}`, `{"nAmE":"a","VALUE":1}`,
	`{"tſ":1,"name":"a","value":1}`, `{"dedupe_İd":"x","name":"a","value":1}`,
	// whitespace JSON does not have, nesting
	"\v{\"name\":\"a\",\"value\":1}", "{\"name\":\"a\",\"value\":1}\f", "{\"name\":\"a\",\"value\":1}\u00a0",
	"{\"name\":\"a\",\"value\":1,\"ts\":1764064800\v}", "\ufeff{\"name\":\"a\",\"value\":1}",
	`{"name":"a","value":1,"x":` + strings.Repeat("[", 510) + strings.Repeat("]", 510) + `}`,
	`[{"name":"a","value":1,"x":` + strings.Repeat("[", 510) + strings.Repeat("]", 510) + `}]`,
	`[{"name":"a","value":1,"x":` + strings.Repeat("[", 511) + strings.Repeat("]", 511) + `}]`,
	`[{"name":"a","value":1,"tags":{},"x":[{"a":[]}]}]`,
	`[{"name":"a","value":1,"x":tru}]`, `[{"name":"a","value":1,"x":nul}]`, `[{"name":"a","value":1,"x":"a"}`,
	`[{"name":"a","value":1,"tags":{"k":"v",}}]`, `[{"name":"a","value":1,"tags":{"k":1}}]`,
	// the general path (an ignored field keeps the fast path away): goccy must read as the reference does
	`{"namex":"a","nam":"b","names":1,"name":"c","value":1,"x":1}`, `{"name":"a","value":1,"x":1,"valuE":2}`,
	`{"name":"a","value":2.2250738585072011e-308,"x":1}`, `{"name":"a","value":1.00000000000000011102230246251565404236316680908203125,"x":1}`,
	`{"name":"a","value":123456789012345678901234567890,"x":1}`, `{"name":"a","value":1e-400,"x":1}`, `{"name":"a","value":1e400,"x":1}`,
	`{"name":"a","value":-0.0,"x":1}`, `{"name":"a","value":4.9406564584124654e-324,"x":1}`, `{"name":"a","value":1.7976931348623157e308,"x":1}`,
	`{"name":"a\u0062\n\/\"\\","value":1,"tags":{"k":"\ud83d\ude00\u00e9\t"},"dedupe_id":"\u0000"}`,
	`{"name":"a","value":1,"ts":"2026-11-25T10:00:00\u005a","x":null}`, `{"name":"a","value":1,"ts":"\u0032026-11-25T10:00:00Z","x":[]}`,
	`{"name":"a","value":1,"tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11","l":"12","m":"13","n":"14","o":"15","p":"16","q":"17"}}`,
	`{"name":"a","value":1,"tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","a":"11"}}`,
	`[{"name":"a","value":1,"x":1},{"name":"a","value":1,"x":1,"x":2}]`, `[{"name":"a","value":1,"x":1},{"name":"a","value":1,"tags":{"k":null}}]`,
}

// checkVerdict holds the fast path (when it takes the payload) and Decode to
// the strict reference: the same accept or refuse, and on accept the same
// inputs. A refusal's fields and messages must be valid UTF-8 (the 422 is
// JSON).
func checkVerdict(t *testing.T, body []byte, max int) {
	t.Helper()
	want, ok := referenceDecode(body, max)
	if tb := trimSpace(body); max >= 0 && len(tb) > 0 && (tb[0] == '[' || tb[0] == '{') {
		if fin, fbad, taken := fastDecode(tb, max); taken {
			if len(fbad) == 0 != ok {
				t.Fatalf("%q (max %d): the fast path accepts=%v (%v), the reference %v", body, max, len(fbad) == 0, fbad, ok)
			}
			if ok && !sameInputs(fin, want) {
				t.Fatalf("%q: the fast path decoded\n%+v\nthe reference\n%+v", body, fin, want)
			}
		}
	}
	in, bad, err := Decode(body, max)
	if accepted := err == nil && len(bad) == 0; accepted != ok {
		t.Fatalf("%q (max %d): Decode accepts=%v (%v, %v), the reference %v", body, max, accepted, bad, err, ok)
	}
	if ok {
		if !sameInputs(in, want) {
			t.Fatalf("%q: Decode decoded\n%+v\nthe reference\n%+v", body, in, want)
		}
		return
	}
	var verr *metric.ValidationError
	if errors.As(err, &verr) {
		bad = verr.Errors
	}
	for _, e := range bad {
		if e.Message == "" || !utf8.ValidString(e.Field) || !utf8.ValidString(e.Message) {
			t.Fatalf("%q: field error %q: %q", body, e.Field, e.Message)
		}
	}
}

func sameInputs(a, b []metric.Input) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.HasValue != y.HasValue || x.Value != y.Value || x.HasTS != y.HasTS || !x.TS.Equal(y.TS) ||
			x.DedupeID != y.DedupeID || len(x.Tags) != len(y.Tags) {
			return false
		}
		for k, v := range x.Tags {
			if w, ok := y.Tags[k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

func TestStrictVerdicts(t *testing.T) {
	for _, s := range append(fastSeeds, strictSeeds...) {
		checkVerdict(t, []byte(s), 10)
	}
}

func TestFastDecodeLimits(t *testing.T) {
	var b strings.Builder
	b.WriteByte('[')
	for i := range 11 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"m","value":%d}`, i)
	}
	b.WriteByte(']')
	if _, _, ok := fastDecode([]byte(b.String()), 10); ok {
		t.Fatal("the fast path took 11 samples with a limit of 10")
	}
	if !checkFastMatchesGeneral(t, []byte(b.String()), 11) {
		t.Fatal("the fast path gave up on 11 samples with a limit of 11")
	}
}

func BenchmarkDecode10(b *testing.B) {
	var p strings.Builder
	p.WriteByte('[')
	for j := range 10 {
		if j > 0 {
			p.WriteByte(',')
		}
		fmt.Fprintf(&p, `{"name":"bench.m","value":%d.5,"tags":{"host":"h-%d","dc":"eu"},"ts":1764064800.%03d}`, j, j, j)
	}
	p.WriteByte(']')
	body := []byte(p.String())
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Decode(body, 100); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := generalDecode(body, 100); err != nil {
				b.Fatal(err)
			}
		}
	})
}
