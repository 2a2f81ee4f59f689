package api_test

import (
	"bytes"
	"math/rand"
	"net/http"
	"strings"
	"testing"
)

// hostileBodies are inputs written to break a decoder.
func hostileBodies() map[string][]byte {
	deep := func(open, close string, n int) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	return map[string][]byte{
		"deep arrays":           deep("[", "]", 200000),
		"deep arrays unclosed":  []byte(strings.Repeat("[", 200000)),
		"deep objects":          deep(`{"a":`, "}", 100000),
		"deep in value":         []byte(`{"name":"a","value":` + string(deep("[", "]", 100000)) + `}`),
		"deep in tags":          []byte(`{"name":"a","value":1,"tags":{"k":` + string(deep(`{"a":`, "}", 100000)) + `}}`),
		"deep in unknown field": []byte(`[{"name":"a","value":1,"x":` + string(deep("[", "]", 100000)) + `}]`),
		"huge number value":     []byte(`{"name":"a","value":1` + strings.Repeat("0", 100000) + `}`),
		"huge exponent":         []byte(`{"name":"a","value":1e999999999999}`),
		"huge ts":               []byte(`{"name":"a","value":1,"ts":-1` + strings.Repeat("9", 5000) + `}`),
		"tiny ts":               []byte(`{"name":"a","value":1,"ts":-1e-400}`),
		"huge string name":      []byte(`{"name":"` + strings.Repeat("a", 1<<20) + `","value":1}`),
		"many tags":             []byte(`{"name":"a","value":1,"tags":{` + strings.Repeat(`"k":"v",`, 10000) + `"z":"v"}}`),
		"invalid utf8":          []byte("{\"name\":\"\xff\xfe\",\"value\":1,\"tags\":{\"\xc3\":\"\xff\"}}"),
		"unterminated string":   []byte(`[{"name":"abc`),
		"escape at end":         []byte(`[{"name":"abc\`),
		"bad escape":            []byte(`{"name":"\uZZZZ","value":1}`),
		"lone surrogate":        []byte(`{"name":"\ud800","value":1}`),
		"nul bytes":             []byte("{\"name\":\"a\x00\",\"value\":1}\x00"),
		"only brackets":         []byte(`]]]]}}}}`),
		"mismatched":            []byte(`[{"name":"a","value":1]}`),
		"many empty objects":    []byte("[" + strings.Repeat("{},", 9999) + "{}]"),
		"many commas":           []byte("[" + strings.Repeat(",", 100000) + "]"),
		"key without value":     []byte(`{"name"}`),
		"bare words":            []byte(`[NaN, Infinity, -Infinity, undefined, True]`),
		"numbers as keys":       []byte(`{1:2}`),
		"leading zeros":         []byte(`{"name":"a","value":007}`),
		"plus sign":             []byte(`{"name":"a","value":+1}`),
		"hex":                   []byte(`{"name":"a","value":0x10}`),
		"duplicate keys":        []byte(`{"name":"a","name":5,"value":1,"value":"x"}`),
		"ts object":             []byte(`{"name":"a","value":1,"ts":{"$date":1}}`),
	}
}

func TestHostileInputNever500(t *testing.T) {
	e := newEnv(t)
	check := func(t *testing.T, name string, body []byte, hdr ...string) {
		t.Helper()
		a := e.do(http.MethodPost, "/api/metrics", ingestToken, bytes.NewReader(body), hdr...)
		if a.status != http.StatusAccepted && (a.status < 400 || a.status >= 500) {
			t.Errorf("%s: status %d; body %.300s", name, a.status, a.body)
		}
	}
	for name, body := range hostileBodies() {
		check(t, name, body)
		check(t, name+" (gzip)", gzipped(t, body), "Content-Encoding", "gzip")
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte(`{}[]":,0123456789.eE+-tfnul\ abcNaIy` + "\x00\xff")
	for i := 0; i < 3000; i++ {
		n := rng.Intn(200)
		b := make([]byte, n)
		for j := range b {
			if i%2 == 0 {
				b[j] = byte(rng.Intn(256))
			} else {
				b[j] = alphabet[rng.Intn(len(alphabet))]
			}
		}
		check(t, "random", b)
		check(t, "random gzip header", append([]byte{0x1f, 0x8b, 8, 0}, b...), "Content-Encoding", "gzip")
	}
	if n := len(e.queue.samples()); n > 0 {
		t.Logf("%d samples from hostile input were (validly) accepted", n)
	}
}

// FuzzIngest feeds arbitrary bodies to the ingest route: 202 or 4xx, never
// 500 and never a crash. `go test -fuzz FuzzIngest ./adapter/http/api` explores further.
func FuzzIngest(f *testing.F) {
	for _, b := range hostileBodies() {
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"name":"a","value":1,"tags":{"h":"x"},"ts":1700000000.5}]`))
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		a := e.do(http.MethodPost, "/api/metrics", ingestToken, bytes.NewReader(body))
		if a.status != http.StatusAccepted && (a.status < 400 || a.status >= 500) {
			t.Fatalf("status %d for %q; body %.300s", a.status, body, a.body)
		}
	})
}
