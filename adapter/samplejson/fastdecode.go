package samplejson

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// The fastest path: a hand-written scanner for the payloads agents actually
// send (the known fields, each once, in any order; strings without escapes;
// values and ts as plain numbers or ts as an RFC 3339 string). It decodes
// without reflection and allocates little: the inputs, one map per tagged
// sample and the strings, reusing the previous sample's string when the bytes
// repeat (a batch usually repeats its name and tag keys). Anything else —
// escapes, null, unknown or repeated fields, bad syntax, invalid UTF-8, too
// many samples — makes it give up (ok=false) before any judgement, and the
// general path (goccy/go-json, then the slow path) decodes the payload: the
// fast path never says anything the general path would not. What it takes is
// strict JSON (RFC 8259 numbers, valid UTF-8, no key twice), so its verdicts
// are the strict reference decoder's (FuzzFastDecode holds them equal).

// maxFastTags is the most tags the fast path reads in one sample.
const maxFastTags = 16

// fastState is what a sample may reuse from the previous one.
type fastState struct {
	prevName string
	prevTags [maxFastTags]fastTag
	prevN    int
}

type fastTag struct{ key, value string }

// fastDecode decodes body (trimmed, non-empty, starting with '[' or '{') on
// the fast path; ok=false means "not for me", never "invalid".
func fastDecode(body []byte, maxSamples int) (inputs []metric.Input, bad []metric.FieldError, ok bool) {
	if maxSamples < 1 { // nothing or only [] fits: the general path says so
		return nil, nil, false
	}
	var st fastState
	if body[0] == '{' {
		inputs = make([]metric.Input, 1)
		end, ok := st.sample(body, 0, &inputs[0], 0, &bad)
		if !ok || end != len(body) {
			return nil, nil, false
		}
		return inputs, bad, true
	}
	// Samples take 64 bytes and more: guess the count, and let append
	// grow it when the guess was short.
	inputs = make([]metric.Input, 0, min(maxSamples, len(body)/64+1))
	i := skipSpace(body, 1)
	if i < len(body) && body[i] == ']' {
		return inputs, nil, skipSpace(body, i+1) == len(body)
	}
	for k := 0; ; k++ {
		if k == maxSamples || i >= len(body) || body[i] != '{' {
			return nil, nil, false
		}
		inputs = append(inputs, metric.Input{})
		end, ok := st.sample(body, i, &inputs[k], k, &bad)
		if !ok {
			return nil, nil, false
		}
		i = skipSpace(body, end)
		if i >= len(body) {
			return nil, nil, false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case ']':
			if skipSpace(body, i+1) != len(body) {
				return nil, nil, false
			}
			return inputs, bad, true
		default:
			return nil, nil, false
		}
	}
}

// Field bits, to refuse a field given twice.
const (
	seenName = 1 << iota
	seenValue
	seenTags
	seenTS
	seenDedupe
)

// sample reads the object at b[i] into in (sample index idx); it returns the
// index after the object.
func (st *fastState) sample(b []byte, i int, in *metric.Input, idx int, bad *[]metric.FieldError) (int, bool) {
	i = skipSpace(b, i+1) // past '{'
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	seen := 0
	for {
		ks, ke, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return 0, false
		}
		var bit int
		switch string(b[ks:ke]) {
		case "name":
			bit = seenName
			s, e, ok := plainString(b, i)
			if !ok {
				return 0, false
			}
			in.Name = reuse(b[s:e], st.prevName)
			st.prevName = in.Name
			i = e + 1
		case "value":
			bit = seenValue
			e, ok := number(b, i)
			if !ok {
				return 0, false
			}
			v, err := strconv.ParseFloat(string(b[i:e]), 64)
			if err != nil {
				return 0, false
			}
			in.Value, in.HasValue = v, true
			i = e
		case "tags":
			bit = seenTags
			e, ok := st.tags(b, i, in)
			if !ok {
				return 0, false
			}
			i = e
		case "ts":
			bit = seenTS
			var e int
			switch {
			case b[i] == '"':
				_, se, ok := plainString(b, i)
				if !ok {
					return 0, false
				}
				e = se + 1
			default:
				if e, ok = number(b, i); !ok {
					return 0, false
				}
			}
			t, set, msg := parseTSScanned(b[i:e]) // number() checked it
			if msg != "" {
				*bad = append(*bad, metric.FieldError{Index: idx, Field: "ts", Message: msg})
				in.TS, in.HasTS = time.Time{}, false
			} else if set {
				in.TS, in.HasTS = t, true
			}
			i = e
		case "dedupe_id":
			bit = seenDedupe
			s, e, ok := plainString(b, i)
			if !ok {
				return 0, false
			}
			in.DedupeID = string(b[s:e])
			i = e + 1
		default: // an unknown field or another spelling: the general path
			return 0, false
		}
		if seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// tags reads a non-empty object of plain string values at b[i] into in.Tags.
func (st *fastState) tags(b []byte, i int, in *metric.Input) (int, bool) {
	if b[i] != '{' {
		return 0, false
	}
	var cur [maxFastTags]fastTag
	n := 0
	i = skipSpace(b, i+1)
	for {
		if n == maxFastTags {
			return 0, false
		}
		ks, ke, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipSpace(b, i+1)
		vs, ve, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		key := b[ks:ke]
		for _, t := range cur[:n] {
			if t.key == string(key) { // a repeated key: the general path
				return 0, false
			}
		}
		var prev fastTag
		if n < st.prevN {
			prev = st.prevTags[n]
		}
		cur[n].key = reuse(key, prev.key)
		if cur[n].key == prev.key {
			cur[n].value = reuse(b[vs:ve], prev.value)
		} else {
			cur[n].value = string(b[vs:ve])
		}
		n++
		i = skipSpace(b, ve+1)
		if i >= len(b) {
			return 0, false
		}
		if b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if b[i] != '}' {
			return 0, false
		}
		break
	}
	m := make(map[string]string, n)
	for _, t := range cur[:n] {
		m[t.key] = t.value
	}
	in.Tags = m
	st.prevTags, st.prevN = cur, n
	return i + 1, true
}

// reuse returns prev when it spells b, else a new string.
func reuse(b []byte, prev string) string {
	if string(b) == prev {
		return prev
	}
	return string(b)
}

// plainString finds the string at b[i]: its contents are b[s:e] and b[e] is
// the closing quote. ok=false unless it is a string with no escapes and no
// control characters, whose contents are valid UTF-8 (checked as it goes:
// only bytes ≥ 0x80 cost a rune decode).
func plainString(b []byte, i int) (s, e int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	s = i + 1
	for j := s; j < len(b); {
		switch strClass[b[j]] {
		case strPlain:
			j++
		case strQuote:
			return s, j, true
		case strBackslash, strControl:
			return 0, 0, false
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, false
			}
			j += size
		}
	}
	return 0, 0, false
}

// number returns the end of the JSON number at b[i] (RFC 8259 grammar).
func number(b []byte, i int) (int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return 0, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == d {
			return 0, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == d {
			return 0, false
		}
	}
	// A number ends at a delimiter; "1x" or "01" is not one.
	if j < len(b) && !isNumberEnd(b[j]) {
		return 0, false
	}
	return j, true
}

func isNumberEnd(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
