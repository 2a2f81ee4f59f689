package synth

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxSeries bounds how many series one spec may make (the product of its
// tag templates): a typo such as host={1..1000000} must not exhaust memory.
const MaxSeries = 100_000

// ExpandTags turns tag templates into the label sets of every series, in a
// stable order. A template is key=value where the value may hold
// {a..b} (integers; {01..10} keeps the zero padding) and {x,y,z}
// alternatives, several of them: "host=web-{1..3}" gives web-1, web-2,
// web-3. The series are the product of all templates; no template is one
// series with no tags.
func ExpandTags(templates []string) ([]map[string]string, error) {
	out := []map[string]string{{}}
	seen := map[string]bool{}
	for _, tpl := range templates {
		key, value, ok := strings.Cut(tpl, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, "{},") {
			return nil, fmt.Errorf("tag template %q: want key=value, e.g. host=web-{1..5}", tpl)
		}
		if seen[key] {
			return nil, fmt.Errorf("tag template %q: the key %s is given twice", tpl, key)
		}
		seen[key] = true
		values, err := expandValue(value)
		if err != nil {
			return nil, fmt.Errorf("tag template %q: %w", tpl, err)
		}
		// Two equal values would be one series twice: the same timestamps again.
		distinct := make(map[string]bool, len(values))
		for _, v := range values {
			if distinct[v] {
				return nil, fmt.Errorf("tag template %q: the value %q comes twice", tpl, v)
			}
			distinct[v] = true
		}
		if len(out)*len(values) > MaxSeries {
			return nil, fmt.Errorf("tag templates make more than %d series", MaxSeries)
		}
		next := make([]map[string]string, 0, len(out)*len(values))
		for _, base := range out {
			for _, v := range values {
				m := make(map[string]string, len(base)+1)
				for k, bv := range base {
					m[k] = bv
				}
				m[key] = v
				next = append(next, m)
			}
		}
		out = next
	}
	return out, nil
}

// expandValue expands the first brace group of v and recurses on the rest.
func expandValue(v string) ([]string, error) {
	open := strings.IndexByte(v, '{')
	if open < 0 {
		open = len(v)
	}
	if strings.IndexByte(v[:open], '}') >= 0 {
		return nil, fmt.Errorf("a } without its {")
	}
	if open == len(v) {
		return []string{v}, nil
	}
	end := strings.IndexByte(v[open:], '}')
	if end < 0 {
		return nil, fmt.Errorf("a { without its }")
	}
	end += open
	if strings.IndexByte(v[open+1:end], '{') >= 0 {
		return nil, fmt.Errorf("a { inside a { } group (groups do not nest)")
	}
	alts, err := alternatives(v[open+1 : end])
	if err != nil {
		return nil, err
	}
	rest, err := expandValue(v[end+1:])
	if err != nil {
		return nil, err
	}
	if len(alts)*len(rest) > MaxSeries {
		return nil, fmt.Errorf("more than %d values", MaxSeries)
	}
	out := make([]string, 0, len(alts)*len(rest))
	for _, a := range alts {
		for _, r := range rest {
			out = append(out, v[:open]+a+r)
		}
	}
	return out, nil
}

// alternatives reads the inside of one brace group: a..b or x,y,z.
func alternatives(body string) ([]string, error) {
	if from, to, ok := strings.Cut(body, ".."); ok {
		a, errA := strconv.Atoi(from)
		b, errB := strconv.Atoi(to)
		if errA != nil || errB != nil || a > b {
			return nil, fmt.Errorf("{%s}: want {first..last} with integers, first ≤ last", body)
		}
		// b-a in uint64 is exact when a ≤ b (as int it overflows for
		// {-9223372036854775808..1}); the loop counts, as i++ past
		// MaxInt64 would wrap and never end.
		n := uint64(b) - uint64(a) + 1
		if n == 0 || n > MaxSeries {
			return nil, fmt.Errorf("{%s}: more than %d values", body, MaxSeries)
		}
		width := 0
		if len(from) > 1 && from[0] == '0' {
			width = len(from)
		}
		out := make([]string, 0, n)
		for k := uint64(0); k < n; k++ {
			out = append(out, fmt.Sprintf("%0*d", width, a+int(k)))
		}
		return out, nil
	}
	parts := strings.Split(body, ",")
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("{%s}: an empty alternative", body)
		}
	}
	return parts, nil
}
