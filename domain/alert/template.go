package alert

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// TemplateData is what an annotation template sees: {{.Value}},
// {{.Threshold}}, {{.Labels.host}}, {{.Rule}}, {{.Metric}}, {{.State}},
// {{.Severity}}.
type TemplateData struct {
	Value     float64
	Threshold float64
	Labels    map[string]string
	Rule      string
	Metric    string
	State     string
	Severity  string
}

// A template is user input: it gets only these functions, "call" is
// disabled, and anything that could spin without output is refused at
// parse time — ranging over anything but a field (a number, a variable or
// a pipeline could be a huge integer), a range inside a range (nested
// loops multiply) and template calls (which can recurse or fan out
// exponentially) — so that a render costs at most a few loops over the
// labels; the output is capped.
var safeFuncs = template.FuncMap{
	"call":     func(...any) (string, error) { return "", errors.New("call is not allowed") },
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"trim":     strings.TrimSpace,
	"humanize": Humanize,
	"round": func(v float64, digits int) float64 {
		p := math.Pow(10, float64(max(0, min(digits, 12))))
		return math.Round(v*p) / p
	},
}

var errTooLong = fmt.Errorf("output exceeds %d bytes", maxRenderedOutput)

// parseTemplate parses an annotation under one fixed name, so that
// validation and rendering accept exactly the same texts (a {{define}} of
// the annotation's key must not pass one and fail the other).
func parseTemplate(text string) (*template.Template, error) {
	t, err := template.New("annotation").Funcs(safeFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "template: ") {
			msg = msg[i+2:]
		}
		return nil, fmt.Errorf("template does not parse: %s", msg)
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if err := safeTree(tt.Tree.Root, false); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// safeTree refuses the constructs that could loop without bound: see
// safeFuncs. inRange tells whether n is inside a range's body.
func safeTree(n parse.Node, inRange bool) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := safeTree(c, inRange); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		if inRange {
			return errors.New("template may not nest a range inside a range")
		}
		if err := rangeOverField(n.Pipe); err != nil {
			return err
		}
		if err := safeTree(n.List, true); err != nil {
			return err
		}
		return safeTree(n.ElseList, inRange)
	case *parse.IfNode:
		if err := safeTree(n.List, inRange); err != nil {
			return err
		}
		return safeTree(n.ElseList, inRange)
	case *parse.WithNode:
		if err := safeTree(n.List, inRange); err != nil {
			return err
		}
		return safeTree(n.ElseList, inRange)
	case *parse.TemplateNode:
		return errors.New("template may not call templates (template, block)")
	}
	return nil
}

// rangeOverField accepts a range over a field (.Labels, $.Labels,
// $x.Labels) only: a number, a bare variable, dot, a function or a
// parenthesized pipeline could all be an integer of any size.
func rangeOverField(p *parse.PipeNode) error {
	if p != nil && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
		switch a := p.Cmds[0].Args[0].(type) {
		case *parse.FieldNode:
			return nil
		case *parse.VariableNode:
			if len(a.Ident) > 1 {
				return nil
			}
		case *parse.NumberNode:
			return errors.New("template may not range over a number")
		}
	}
	return errors.New("template may only range over a field such as .Labels")
}

type cappedWriter struct {
	b strings.Builder
}

// Write keeps what fits under the cap (cut at a character boundary) and
// fails once the cap is reached, which stops the execution.
func (w *cappedWriter) Write(p []byte) (int, error) {
	room := maxRenderedOutput - w.b.Len()
	if len(p) <= room {
		return w.b.Write(p)
	}
	cut := room
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	w.b.Write(p[:cut])
	return cut, errTooLong
}

// Render executes an annotation template on data. A template that fails
// renders as its error, so a notification still says something.
func Render(text string, data TemplateData) string {
	t, err := parseTemplate(text)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var w cappedWriter
	if err := t.Execute(&w, data); err != nil {
		if errors.Is(err, errTooLong) {
			return w.b.String() + "…"
		}
		return "(template error: " + err.Error() + ")"
	}
	return w.b.String()
}

// RenderAll renders every annotation of r for one instance.
func (r Rule) RenderAll(labels map[string]string, value float64, state State) map[string]string {
	out := make(map[string]string, len(r.Annotations))
	data := TemplateData{Value: value, Threshold: r.Threshold, Labels: labels, Rule: r.Name,
		Metric: r.Metric, State: string(state), Severity: string(r.Severity)}
	for k, v := range r.Annotations {
		out[k] = Render(v, data)
	}
	return out
}

// Humanize formats a number for people: 1234567 → "1.235M", 0.0012 → "1.2m".
func Humanize(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	prefixes := []struct {
		scale float64
		unit  string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}, {1e-3, "m"}, {1e-6, "µ"}}
	abs := math.Abs(v)
	for _, p := range prefixes {
		if abs >= p.scale {
			return strconv.FormatFloat(v/p.scale, 'g', 4, 64) + p.unit
		}
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
