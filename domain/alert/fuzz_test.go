package alert_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// FuzzRender: whatever a user writes, a template Validate accepts renders
// quickly, within the output cap, without panicking. The corpus in
// testdata/fuzz/FuzzRender holds templates that used to spin.
//
//	go test ./domain/alert/ -run '^$' -fuzz FuzzRender -fuzztime 30s
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"{{.Value}}", "{{humanize .Value}} on {{.Labels.host}}", "{{range $k, $v := .Labels}}{{$k}}={{$v}}{{end}}",
		`{{printf "%-9000s" .Rule}}`, "{{if gt .Value .Threshold}}high{{else}}ok{{end}}", "{{with .Labels}}{{.host}}{{end}}",
	} {
		f.Add(s)
	}
	labels := map[string]string{}
	for i := range 32 { // metric.DefaultLimits' most tags per series
		labels[strings.Repeat("k", i+1)] = strings.Repeat("v", 256)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > alert.MaxTemplateLen {
			return
		}
		r := validRule()
		r.Annotations = map[string]string{"x": text}
		accepted := r.Validate(alert.Policy{}) == nil
		start := time.Now()
		out := alert.Render(text, alert.TemplateData{Value: 1e300, Threshold: -1, Labels: labels, Rule: text})
		if d := time.Since(start); accepted && d > 2*time.Second {
			t.Errorf("Render(%q) took %s", text, d)
		}
		if len(out) > 8192+len("…") {
			t.Errorf("Render(%q): %d bytes", text, len(out))
		}
		if !accepted && !strings.HasPrefix(out, "(template") {
			t.Errorf("Validate refused %q but Render gave %q", text, out)
		}
	})
}

// FuzzInstanceKey: distinct label sets never share a key.
func FuzzInstanceKey(f *testing.F) {
	f.Add("a", "x,b=y", "", "", "a", "x", "b", "y")
	f.Add("a", `x\`, "b", "y", "a", `x\,b=y`, "", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3, k4, v4 string) {
		set := func(kv ...string) metric.Tags {
			var ts metric.Tags
			seen := map[string]bool{}
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == "" && kv[i+1] == "" || seen[kv[i]] {
					continue // an absent pair; keys are unique in a series
				}
				seen[kv[i]] = true
				ts = append(ts, metric.Tag{Key: kv[i], Value: kv[i+1]})
			}
			return ts
		}
		a, b := set(k1, v1, k2, v2), set(k3, v3, k4, v4)
		if alert.InstanceKey(a) == alert.InstanceKey(b) && !reflect.DeepEqual(a.Map(), b.Map()) {
			t.Errorf("%v and %v share the key %q", a, b, alert.InstanceKey(a))
		}
	})
}
