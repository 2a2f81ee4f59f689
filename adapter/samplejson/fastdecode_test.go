package samplejson

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
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
// general path (goccy/go-json, then the slow path) does.
func FuzzFastDecode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s), 10)
	}
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		checkFastMatchesGeneral(t, body, max)
	})
}

func checkFastMatchesGeneral(t *testing.T, body []byte, max int) bool {
	t.Helper()
	body = bytes.TrimSpace(body)
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
