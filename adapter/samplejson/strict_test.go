package samplejson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// The strict reference decoder: the contract's reading of a payload, built
// on the standard library alone and written for plainness, not speed. Its
// only borrowing is parseTSRaw, for what a ts means (FuzzParseTS covers
// that); whether a payload is JSON, and which JSON, is decided here apart
// from the decoders under test.
//
// A payload is accepted when, after JSON whitespace: it is valid UTF-8 and
// RFC 8259 JSON (json.Valid) with no lone surrogate escape, nested at most
// maxNesting deep; it is a sample object or an array of at most max of them;
// in each sample no key appears twice (known field names in any ASCII case);
// name and dedupe_id are strings or null, value a float64 number or null,
// tags null or an object of strings with no key twice, and ts null or what
// parseTSRaw takes. Other keys are ignored.
func referenceDecode(body []byte, max int) ([]metric.Input, bool) {
	if max < 0 { // as Decode reads it
		max = 0
	}
	body = bytes.Trim(body, " \t\r\n")
	if !utf8.Valid(body) || !json.Valid(body) || !refSurrogatesPaired(body) || refDepth(body) > maxNesting {
		return nil, false
	}
	var elems []json.RawMessage
	switch body[0] {
	case '[':
		if err := json.Unmarshal(body, &elems); err != nil {
			return nil, false
		}
	case '{':
		elems = []json.RawMessage{body}
	default:
		return nil, false
	}
	if len(elems) > max {
		return nil, false
	}
	inputs := make([]metric.Input, len(elems))
	for i, el := range elems {
		var ok bool
		if inputs[i], ok = refSample(el); !ok {
			return nil, false
		}
	}
	return inputs, true
}

// refEscape matches one escape; in valid JSON every backslash opens one.
var refEscape = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|.)`)

// refSurrogatesPaired: each \u escape of a UTF-16 high half is directly
// followed by one of a low half, and no low half stands alone.
func refSurrogatesPaired(b []byte) bool {
	esc := refEscape.FindAllSubmatchIndex(b, -1)
	unit := func(k int) rune {
		if esc[k][1]-esc[k][0] != 6 {
			return -1
		}
		v, _ := strconv.ParseUint(string(b[esc[k][0]+2:esc[k][1]]), 16, 16)
		return rune(v)
	}
	for k := 0; k < len(esc); k++ {
		r := unit(k)
		if !utf16.IsSurrogate(r) {
			continue
		}
		if k+1 == len(esc) || esc[k+1][0] != esc[k][1] || utf16.DecodeRune(r, unit(k+1)) == utf8.RuneError {
			return false
		}
		k++
	}
	return true
}

// refDepth is the deepest nesting of arrays and objects in b (valid JSON).
func refDepth(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // a float64 would refuse 1e700, which is JSON
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest
		}
		if err != nil {
			return 1 << 30
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

// refMembers lists an object's keys and raw values in order.
func refMembers(obj []byte) (keys []string, raws []json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, false
		}
		keys, raws = append(keys, tok.(string)), append(raws, raw)
	}
	return keys, raws, true
}

func refSample(el []byte) (metric.Input, bool) {
	var in metric.Input
	keys, raws, ok := refMembers(el)
	if !ok {
		return in, false
	}
	seen := map[string]bool{}
	for k, key := range keys {
		raw := raws[k]
		field := refASCIILower(key)
		switch field {
		case "name", "value", "tags", "ts", "dedupe_id":
		default:
			field = "other:" + key
		}
		if seen[field] {
			return in, false
		}
		seen[field] = true
		isNull := string(raw) == "null"
		var err error
		switch field {
		case "name", "dedupe_id":
			var s string
			if !isNull {
				if raw[0] != '"' {
					return in, false
				}
				err = json.Unmarshal(raw, &s)
			}
			if field == "name" {
				in.Name = s
			} else {
				in.DedupeID = s
			}
		case "value":
			if !isNull {
				if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
					return in, false
				}
				in.Value, err = strconv.ParseFloat(string(raw), 64)
				in.HasValue = true
			}
		case "tags":
			if !isNull {
				if in.Tags, ok = refTags(raw); !ok {
					return in, false
				}
			}
		case "ts":
			t, set, msg := parseTSRaw(raw)
			if msg != "" {
				return in, false
			}
			in.TS, in.HasTS = t, set
		}
		if err != nil {
			return in, false
		}
	}
	return in, true
}

func refTags(raw []byte) (map[string]string, bool) {
	if raw[0] != '{' {
		return nil, false
	}
	keys, raws, ok := refMembers(raw)
	if !ok {
		return nil, false
	}
	tags := map[string]string{}
	for k, key := range keys {
		if _, dup := tags[key]; dup || raws[k][0] != '"' {
			return nil, false
		}
		var s string
		if err := json.Unmarshal(raws[k], &s); err != nil {
			return nil, false
		}
		tags[key] = s
	}
	return tags, true
}

func refASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// FuzzSampleFields builds samples from fuzzed raw keys and values, so the
// fuzzer works on fields rather than on brackets; the verdicts must be the
// reference's, as in FuzzFastDecode.
func FuzzSampleFields(f *testing.F) {
	for _, kv := range [][6]string{
		{`"name"`, `"a"`, `"value"`, `1`, `"tags"`, `{"k":"v"}`},
		{`"Name"`, `"a"`, `"VALUE"`, `-0.5e3`, `"ts"`, `1764064800.5`},
		{`"name"`, `"a"`, `"value"`, `01`, `"ts"`, `"2026-11-25T10:00:00Z"`},
		{`"n\u0061me"`, `"a"`, `"name"`, `"b"`, `"x"`, `null`},
		{`"tags"`, `{"k":null}`, `"tags"`, `{"k":"v","k":"w"}`, `"dedupe_id"`, `"\ud800"`},
		{`"tags"`, "{\"k\":\"\xff\"}", "\"\xff\"", `1`, `"x"`, `[1,{"a":"\udc00"}]`},
		{`"tſ"`, `1`, `"dedupe_İd"`, `"x"`, `"value"`, `1e400`},
		{`"value"`, `NaN`, `"value"`, `+1`, `"ts"`, `0x10`},
		{`"x"`, `{"y":1,"y":2}`, `"x"`, `1`, `"tags"`, `{"\u006b":"1","k":"2"}`},
		{`"name"`, `"a\u0000\n\/"`, `"tags"`, `{"é":"\ud83d\ude00"}`, `"ts"`, `null`},
	} {
		f.Add(kv[0], kv[1], kv[2], kv[3], kv[4], kv[5])
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		body := "[{" + k1 + ":" + v1 + "," + k2 + ":" + v2 + "," + k3 + ":" + v3 + `},{"name":"b","value":2,` + k1 + ":" + v1 + "}]"
		checkFastMatchesGeneral(t, []byte(body), 10)
		checkVerdict(t, []byte(body), 10)
		one := "{" + k1 + ":" + v1 + "," + k2 + ":" + v2 + "}"
		checkFastMatchesGeneral(t, []byte(one), 10)
		checkVerdict(t, []byte(one), 10)
	})
}
