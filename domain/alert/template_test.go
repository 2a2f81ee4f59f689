package alert_test

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/alert"
)

func templateData() alert.TemplateData {
	return alert.TemplateData{
		Value: 1234567, Threshold: 90, Labels: map[string]string{"host": "web-1", "dc": "x"},
		Rule: "cpu high", Metric: "cpu", State: "firing", Severity: "critical",
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name, text, want string
		prefix           string // instead of want, when the message is Go's
	}{
		{name: "value", text: "{{.Value}}", want: "1.234567e+06"},
		{name: "threshold", text: "{{.Threshold}}", want: "90"},
		{name: "a label", text: "{{.Labels.host}}", want: "web-1"},
		{name: "a missing label is empty", text: "[{{.Labels.nope}}]", want: "[]"},
		{name: "a missing label through index is empty", text: `[{{index .Labels "nope"}}]`, want: "[]"},
		{name: "humanize", text: "{{humanize .Value}}", want: "1.235M"},
		{name: "humanize small", text: "{{humanize 0.0012}}", want: "1.2m"},
		{name: "round", text: "{{round 3.14159 2}}", want: "3.14"},
		{name: "round clamps negative digits", text: "{{round 2.5 -1}}", want: "3"},
		{name: "upper lower trim", text: `{{upper .Labels.host}} {{lower "AB"}} [{{trim "  x "}}]`, want: "WEB-1 ab [x]"},
		{name: "the rule's fields", text: "{{.Rule}}/{{.Metric}}/{{.State}}/{{.Severity}}", want: "cpu high/cpu/firing/critical"},
		{name: "ranging over the labels", text: "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", want: "dc=x;host=web-1;"},
		{name: "ranging over $.Labels inside with", text: "{{with .Rule}}{{range $.Labels}}{{.}} {{end}}{{end}}", want: "x web-1 "},
		{name: "printf", text: `{{printf "%.1f%%" 97.25}}`, want: "97.2%"},
		{name: "plain text", text: "CPU is high", want: "CPU is high"},
		{name: "call is refused", text: "{{call .Value}}", prefix: "(template error: "},
		{name: "a runtime error renders as the error", text: "{{.Value.Foo}}", prefix: "(template error: "},
		{name: "a runtime error in a function", text: `{{round .Value "two"}}`, prefix: "(template error: "},
		{name: "a parse error renders as the error", text: "{{.Value", prefix: "(template does not parse: "},
		{name: "ranging over a number is refused", text: "{{range 100}}x{{end}}", want: "(template may not range over a number)"},
		{name: "ranging over a variable is refused", text: "{{$n := 100}}{{range $n}}x{{end}}", want: "(template may only range over a field such as .Labels)"},
		{name: "ranging over a parenthesized number is refused", text: "{{range (100)}}x{{end}}", want: "(template may only range over a field such as .Labels)"},
		{name: "ranging over dot is refused", text: "{{with 100}}{{range .}}x{{end}}{{end}}", want: "(template may only range over a field such as .Labels)"},
		{name: "ranging over a function's result is refused", text: "{{range len .Rule}}x{{end}}", want: "(template may only range over a field such as .Labels)"},
		{name: "a number range hidden in a define is refused", text: `{{define "t"}}{{range 9}}{{end}}{{end}}ok`, want: "(template may not range over a number)"},
		{name: "a range inside a range is refused", text: "{{range .Labels}}{{range $.Labels}}x{{end}}{{end}}", want: "(template may not nest a range inside a range)"},
		{name: "a range in a range's else is fine", text: "{{range .Labels}}{{else}}{{range $.Labels}}x{{end}}{{end}}", want: ""},
		{name: "template calls are refused", text: `{{define "t"}}x{{end}}{{template "t"}}`, want: "(template may not call templates (template, block))"},
		{name: "block is refused", text: `{{block "t" .}}x{{end}}`, want: "(template may not call templates (template, block))"},
		{name: "a define that is never called is harmless", text: `{{define "t"}}x{{end}}ok`, want: "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alert.Render(tt.text, templateData())
			if tt.prefix != "" {
				if !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, ")") {
					t.Errorf("Render(%q) = %q, want %q…)", tt.text, got, tt.prefix)
				}
				return
			}
			if got != tt.want {
				t.Errorf("Render(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
	if got := alert.Render("{{call .Value}}", templateData()); !strings.Contains(got, "call is not allowed") {
		t.Errorf("call: %q", got)
	}
	if got := alert.Render("[{{.Labels.host}}]", alert.TemplateData{}); got != "[]" {
		t.Errorf("nil labels: %q", got)
	}
}

func TestRenderOutputCap(t *testing.T) {
	const limit = 8192
	ellipsis := "…"
	t.Run("many small writes", func(t *testing.T) {
		labels := map[string]string{"a": strings.Repeat("a", 3000), "b": strings.Repeat("b", 3000), "c": strings.Repeat("c", 3000)}
		got := alert.Render("{{range .Labels}}{{.}}{{end}}", alert.TemplateData{Labels: labels})
		full := labels["a"] + labels["b"] + labels["c"]
		if got != full[:limit]+ellipsis {
			t.Errorf("len %d, want the first %d bytes and %q", len(got), limit, ellipsis)
		}
	})
	t.Run("one write past the cap keeps what fits", func(t *testing.T) {
		got := alert.Render(`{{printf "%-9000s" "x"}}`, alert.TemplateData{})
		if got != "x"+strings.Repeat(" ", limit-1)+ellipsis {
			t.Errorf("len %d: %.20q…", len(got), got)
		}
	})
	t.Run("the cut falls on a character boundary", func(t *testing.T) {
		got := alert.Render(`x{{.Labels.v}}`, alert.TemplateData{Labels: map[string]string{"v": strings.Repeat("é", 5000)}})
		if !utf8.ValidString(got) || !strings.HasSuffix(got, ellipsis) || len(got)-len(ellipsis) > limit || len(got)-len(ellipsis) < limit-1 {
			t.Errorf("len %d, valid UTF-8 %v", len(got), utf8.ValidString(got))
		}
	})
	t.Run("exactly at the cap is not truncated", func(t *testing.T) {
		got := alert.Render(`{{printf "%-8192s" "x"}}`, alert.TemplateData{})
		if len(got) != limit || strings.HasSuffix(got, ellipsis) {
			t.Errorf("len %d", len(got))
		}
	})
}

// TestRenderTerminates renders the templates that used to loop for minutes
// (or practically for ever) with next to no output; each must now be
// refused at once.
func TestRenderTerminates(t *testing.T) {
	// Each template calls the previous one twice: 2^25 calls from "z".
	fanOut, prev := `{{define "a"}}{{end}}`, "a"
	for _, n := range "bcdefghijklmnopqrstuvwxyz" {
		fanOut += `{{define "` + string(n) + `"}}{{template "` + prev + `"}}{{template "` + prev + `"}}{{end}}`
		prev = string(n)
	}
	fanOut += `{{template "z"}}`
	for _, text := range []string{
		`{{$n := 9223372036854775807}}{{range $n}}{{end}}`,
		`{{range (9223372036854775807)}}{{end}}`,
		`{{with 9223372036854775807}}{{range .}}{{end}}{{end}}`,
		`{{range $i, $e := .Labels}}{{range $.Labels}}{{range $.Labels}}{{range $.Labels}}{{end}}{{end}}{{end}}{{end}}`,
		fanOut,
	} {
		start := time.Now()
		got := alert.Render(text, templateData())
		if d := time.Since(start); d > time.Second || !strings.HasPrefix(got, "(template may") {
			t.Errorf("Render(%.60q…) = %.80q after %s, want it refused at once", text, got, d)
		}
		r := validRule()
		r.Annotations = map[string]string{"x": text}
		if err := r.Validate(alert.Policy{}); err == nil {
			t.Errorf("Validate accepted %.60q…", text)
		}
	}
}

func TestRenderAll(t *testing.T) {
	r := validRule()
	r.Annotations = map[string]string{
		"summary": "{{.Rule}} on {{.Labels.host}}: {{.Value}} > {{.Threshold}} ({{.State}}, {{.Severity}}, {{.Metric}})",
		"bad":     "{{.Nope}}",
	}
	got := r.RenderAll(map[string]string{"host": "web-1"}, 97.5, alert.Firing)
	if got["summary"] != "cpu high on web-1: 97.5 > 90 (firing, critical, cpu.usage_total)" {
		t.Errorf("summary = %q", got["summary"])
	}
	if !strings.HasPrefix(got["bad"], "(template error: ") || len(got) != 2 {
		t.Errorf("RenderAll = %q", got)
	}
	if got := (alert.Rule{}).RenderAll(nil, 0, alert.Normal); got == nil || len(got) != 0 {
		t.Errorf("no annotations: %v", got)
	}
}

func TestHumanize(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{999, "999"},
		{1000, "1k"},
		{-2500, "-2.5k"},
		{1234567, "1.235M"},
		{3e9, "3G"},
		{1e12, "1T"},
		{5e15, "5000T"},
		{0.5, "500m"},
		{0.0012, "1.2m"},
		{5e-6, "5µ"},
		{1e-9, "1e-09"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
	}
	for _, tt := range tests {
		if got := alert.Humanize(tt.in); got != tt.want {
			t.Errorf("Humanize(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
