package samplejson_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
)

func TestCountMatchesDecode(t *testing.T) {
	for _, body := range []string{
		`{"name":"a","value":1}`,
		`[{"name":"a","value":1}]`,
		`[{"name":"a","value":1},{"name":"b","value":2,"tags":{"x":"y,z"}}]`,
		` [ {"name":"a,[b]","value":1} , {"name":"c\"],","value":2} ]`,
		`[{"name":"a","value":1,"tags":{"k":"v"}},{"name":"b","value":2},{"name":"c","value":3}]`,
	} {
		inputs, _, err := samplejson.Decode([]byte(body), 1000)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := samplejson.Count([]byte(body)); got != len(inputs) {
			t.Errorf("Count(%s) = %d, Decode found %d", body, got, len(inputs))
		}
	}
	for body, want := range map[string]int{`[]`: 0, ` [ ] `: 0, `garbage`: 1, ``: 1} {
		if got := samplejson.Count([]byte(body)); got != want {
			t.Errorf("Count(%q) = %d, want %d", body, got, want)
		}
	}
}

func FuzzCount(f *testing.F) {
	f.Add([]byte(`[{"name":"a","value":1},{"name":"b","value":2}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n := samplejson.Count(body)
		if n < 0 {
			t.Fatalf("negative count %d", n)
		}
		if inputs, errs, err := samplejson.Decode(body, 1<<20); err == nil && len(errs) == 0 && n != len(inputs) {
			t.Fatalf("Count(%q) = %d, Decode found %d", body, n, len(inputs))
		}
	})
}
