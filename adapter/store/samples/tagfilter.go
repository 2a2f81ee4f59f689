package samples

import (
	"encoding/json"
	"strings"
)

// tagFilter decides whether a series' stored tags (encodeTags: a JSON
// object with sorted keys and encoding/json's escaping) match a query's
// tag filters without decoding them — a name with 10,000 series is read
// whole for every chart or alert group, and decoding each series' tags was
// most of that read. It is exact: inside the object, `"k":"v"` can only
// appear at a pair's start (quotes inside keys and values are escaped), so
// a wanted pair is that text between `{` or `,` and `,` or `}`; a TagIn
// key's value is the text up to the next unescaped quote after `"k":"`,
// compared in its escaped form.
type tagFilter struct {
	pairs []string // `"k":"v"`, escaped as stored
	in    []tagIn
}

type tagIn struct {
	prefix string          // `"k":"`
	values map[string]bool // the candidates, escaped as stored, without quotes
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

func newTagFilter(want map[string]string, in map[string][]string) tagFilter {
	var f tagFilter
	for k, v := range want {
		f.pairs = append(f.pairs, quoteJSON(k)+":"+quoteJSON(v))
	}
	for k, vs := range in {
		t := tagIn{prefix: quoteJSON(k) + `:"`, values: make(map[string]bool, len(vs))}
		for _, v := range vs {
			q := quoteJSON(v)
			t.values[q[1:len(q)-1]] = true
		}
		f.in = append(f.in, t)
	}
	return f
}

func (f tagFilter) match(raw string) bool {
	for _, p := range f.pairs {
		if !hasPair(raw, p) {
			return false
		}
	}
	for _, t := range f.in {
		v, ok := valueAfter(raw, t.prefix)
		if !ok || !t.values[v] {
			return false
		}
	}
	return true
}

// hasPair reports whether pair is one of raw's key-value pairs.
func hasPair(raw, pair string) bool {
	for from := 0; ; {
		i := strings.Index(raw[from:], pair)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(pair)
		if i > 0 && (raw[i-1] == '{' || raw[i-1] == ',') && end < len(raw) && (raw[end] == ',' || raw[end] == '}') {
			return true
		}
		from = i + 1
	}
}

// valueAfter is the escaped value of the pair that prefix (`"k":"`) opens.
func valueAfter(raw, prefix string) (string, bool) {
	for from := 0; ; {
		i := strings.Index(raw[from:], prefix)
		if i < 0 {
			return "", false
		}
		i += from
		if i > 0 && (raw[i-1] == '{' || raw[i-1] == ',') {
			start := i + len(prefix)
			for j := start; j < len(raw); j++ {
				switch raw[j] {
				case '\\':
					j++ // the escaped character
				case '"':
					return raw[start:j], true
				}
			}
			return "", false
		}
		from = i + 1
	}
}
