package samplejson

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// The slow path: taken only when the fast decode failed. It splits the body
// with a tolerant scanner (bare tokens such as NaN do not stop it), then
// reads each sample field by field, so the answer names every bad sample and
// field instead of the first syntax error. It is the strict path's judge:
// every payload strictPayload does not pass ends here, so each field reader
// checks its raw bytes itself (encoding/json would replace bad UTF-8).

// maxNesting bounds how deep the slow path follows arrays and objects.
const maxNesting = 512

// BodyError is a problem with a payload as a whole (empty, not JSON, no
// samples): a *metric.ValidationError with one error on the field "body".
func BodyError(msg string) error {
	return &metric.ValidationError{Errors: []metric.FieldError{{Index: 0, Field: "body", Message: msg}}}
}

func slowDecode(body []byte, maxSamples int) ([]metric.Input, []metric.FieldError, error) {
	if len(body) == 0 {
		return nil, nil, BodyError("request body is empty: send one sample object or an array of them")
	}
	var elems [][]byte
	switch body[0] {
	case '[':
		var err error
		if elems, err = splitArray(body, maxSamples); err != nil {
			if errors.Is(err, errTooManySamples) {
				return nil, nil, &metric.LimitError{Limit: LimitSamples, Max: int64(maxSamples), TooLarge: true}
			}
			return nil, nil, BodyError("malformed JSON: " + err.Error())
		}
	case '{':
		if maxSamples < 1 {
			return nil, nil, &metric.LimitError{Limit: LimitSamples, Max: int64(maxSamples), TooLarge: true}
		}
		end, err := scanValue(body, 0, 0)
		if err != nil {
			return nil, nil, BodyError("malformed JSON: " + err.Error())
		}
		if rest := skipSpace(body, end); rest != len(body) {
			return nil, nil, BodyError(fmt.Sprintf("malformed JSON: unexpected data after the sample at offset %d", rest))
		}
		elems = [][]byte{body}
	default:
		return nil, nil, BodyError("body must be a JSON object (one sample) or an array of samples, got " + kindOf(body))
	}
	inputs := make([]metric.Input, len(elems))
	var bad []metric.FieldError
	for i, el := range elems {
		var errs []metric.FieldError
		inputs[i], errs = decodeElement(el)
		for _, e := range errs {
			e.Index = i
			bad = append(bad, e)
		}
	}
	return inputs, bad, nil
}

// decodeElement reads one sample field by field.
func decodeElement(el []byte) (metric.Input, []metric.FieldError) {
	var in metric.Input
	if el[0] != '{' {
		return in, []metric.FieldError{{Field: "sample", Message: "each sample must be a JSON object, got " + kindOf(el)}}
	}
	members, err := splitObject(el)
	if err != nil {
		return in, []metric.FieldError{{Field: "sample", Message: "malformed JSON: " + err.Error()}}
	}
	var errs []metric.FieldError
	add := func(field, msg string) { errs = append(errs, metric.FieldError{Field: field, Message: msg}) }
	seen, dups := 0, 0
	var others, otherDups keySet[string]
	for _, m := range members {
		if m.keyProblem != probNone {
			add(truncateString(m.key, 32), "field name "+m.keyProblem.String())
			continue
		}
		bit := knownField(m.key)
		if bit != 0 && seen&bit != 0 || bit == 0 && others.add(m.key) {
			// Said once per key, however often it repeats.
			if bit != 0 && dups&bit == 0 || bit == 0 && !otherDups.add(m.key) {
				f := fieldNames[bit]
				if bit == 0 {
					f = truncateString(m.key, 32)
				}
				add(f, f+" is given more than once in the sample")
			}
			dups |= bit
			continue
		}
		seen |= bit
		switch bit {
		case seenName:
			s, msg := rawString(m.raw)
			if msg != "" {
				add("name", "name "+msg)
			}
			in.Name = s
		case seenValue:
			v, has, msg := parseValueRaw(m.raw)
			if msg != "" {
				add("value", msg)
			}
			in.Value, in.HasValue = v, has
		case seenTags:
			tags, tagErrs := parseTagsRaw(m.raw)
			errs = append(errs, tagErrs...)
			in.Tags = tags
		case seenTS:
			t, set, msg := parseTSRaw(m.raw)
			if msg != "" {
				add("ts", msg)
			} else if set {
				in.TS, in.HasTS = t, true
			}
		case seenDedupe:
			s, msg := rawString(m.raw)
			if msg != "" {
				add("dedupe_id", "dedupe_id "+msg)
			}
			in.DedupeID = s
		default: // unknown fields are ignored, but must still be strict JSON
			if end, p := strictValue(m.raw, 0, 0); p != probNone || end != len(m.raw) {
				add(truncateString(m.key, 32), "field "+truncateString(strconv.Quote(m.key), 40)+" "+p.String())
			}
		}
	}
	return in, errs
}

// fieldNames names the known fields by their seen bit.
var fieldNames = map[int]string{seenName: "name", seenValue: "value", seenTags: "tags", seenTS: "ts", seenDedupe: "dedupe_id"}

// rawString reads a JSON string (null reads as ""); otherwise msg says why
// raw is not one, to follow the field's name ("name is not valid UTF-8").
func rawString(raw []byte) (s, msg string) {
	if string(raw) == "null" {
		return "", ""
	}
	if raw[0] != '"' {
		return "", "must be a string, got " + kindOf(raw)
	}
	end, plain, _, p := strictString(raw, 0)
	switch {
	case p == probUTF8 || p == probSurrogate:
		return "", p.String()
	case p != probNone || end != len(raw):
		return "", "is not a valid JSON string (a bad escape or a raw control character)"
	case plain:
		return string(raw[1 : len(raw)-1]), ""
	}
	if err := json.Unmarshal(raw, &s); err != nil { // strictString took it: cannot fail
		return "", "is not a valid JSON string"
	}
	return s, ""
}

// parseValueRaw reads value: a finite JSON number; null = absent.
func parseValueRaw(raw []byte) (v float64, has bool, msg string) {
	s := string(raw)
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "null":
		if s == "null" {
			return 0, false, ""
		}
	case "nan", "infinity", "inf":
		return 0, false, "value must be a finite number: " + s + " is not valid JSON"
	}
	switch c := raw[0]; {
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		if end, ok := number(raw, 0); !ok || end != len(raw) {
			return 0, false, fmt.Sprintf("value %s is not a valid JSON number (RFC 8259: no leading zero, + or ., digits after . and e)", truncateBytes(raw, 40))
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false, fmt.Sprintf("value %s is out of range of a 64-bit float", truncateBytes(raw, 40))
		}
		return f, true, ""
	case c == '"':
		return 0, false, "value must be a JSON number, not a string (write 0.5, not \"0.5\")"
	}
	return 0, false, "value must be a number, got " + kindOf(raw)
}

// parseTagsRaw reads tags: an object of string values; null = no tags.
func parseTagsRaw(raw []byte) (map[string]string, []metric.FieldError) {
	if string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, []metric.FieldError{{Field: "tags", Message: "tags must be an object of string values, got " + kindOf(raw)}}
	}
	members, err := splitObject(raw)
	if err != nil {
		return nil, []metric.FieldError{{Field: "tags", Message: "malformed JSON: " + err.Error()}}
	}
	tags := make(map[string]string, len(members))
	var errs []metric.FieldError
	var keys, dups keySet[string]
	for _, m := range members {
		field := "tags." + truncateString(m.key, 32)
		var msg string
		switch {
		case m.keyProblem != probNone:
			msg = "tag key " + m.keyProblem.String()
		case keys.add(m.key):
			if dups.add(m.key) { // said once per key
				continue
			}
			msg = "tag key " + truncateString(strconv.Quote(m.key), 40) + " is given more than once"
		case string(m.raw) == "null": // not absent: the key is there, without a value
			msg = "tag value must be a string, got null"
		default:
			var s string
			if s, msg = rawString(m.raw); msg == "" {
				tags[m.key] = s
				continue
			}
			msg = "tag value " + msg
		}
		errs = append(errs, metric.FieldError{Field: field, Message: msg})
	}
	return tags, errs
}

var errTooManySamples = errors.New("too many samples")

// splitArray returns the raw elements of the array b (which starts with '[').
func splitArray(b []byte, maxElems int) ([][]byte, error) {
	var out [][]byte
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			if i >= len(b) {
				return nil, fmt.Errorf("unexpected end of body inside the array after %d sample(s)", len(out))
			}
			end, err := scanValue(b, i, 1)
			if err != nil {
				return nil, fmt.Errorf("sample %d: %w", len(out), err)
			}
			if len(out) == maxElems {
				return nil, errTooManySamples
			}
			out = append(out, b[i:end])
			i = skipSpace(b, end)
			if i >= len(b) {
				return nil, fmt.Errorf("unexpected end of body after sample %d (missing ']')", len(out)-1)
			}
			if b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if b[i] == ']' {
				i++
				break
			}
			return nil, fmt.Errorf("expected ',' or ']' after sample %d at offset %d, found %q", len(out)-1, i, b[i])
		}
	}
	if rest := skipSpace(b, i); rest != len(b) {
		return nil, fmt.Errorf("unexpected data after the array at offset %d", rest)
	}
	return out, nil
}

type member struct {
	key        string
	raw        []byte
	keyProblem problem // the raw key is not valid UTF-8 or holds a lone surrogate
}

// splitObject returns the members of the object b (which starts with '{').
func splitObject(b []byte) ([]member, error) {
	var out []member
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return nil, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, fmt.Errorf("expected a quoted field name at offset %d", i)
		}
		kend, ok := scanString(b, i)
		if !ok {
			return nil, fmt.Errorf("unterminated field name at offset %d", i)
		}
		var key string
		if err := json.Unmarshal(b[i:kend], &key); err != nil {
			return nil, fmt.Errorf("invalid field name at offset %d", i)
		}
		_, _, _, kp := strictString(b[:kend], i)
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return nil, fmt.Errorf("expected ':' after field %q", truncateString(key, 32))
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return nil, fmt.Errorf("missing value of field %q", truncateString(key, 32))
		}
		end, err := scanValue(b, i, 1)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", truncateString(key, 32), err)
		}
		out = append(out, member{key: key, raw: b[i:end], keyProblem: kp})
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return out, nil
		}
		return nil, fmt.Errorf("expected ',' or '}' after field %q", truncateString(key, 32))
	}
}

// scanValue returns the end of the value starting at b[i], tolerating bare
// tokens (NaN, Infinity, typos) that the per-field readers then judge.
// Nesting is followed iteratively, never recursively, up to maxNesting.
func scanValue(b []byte, i, depth int) (int, error) {
	switch c := b[i]; c {
	case '"':
		end, ok := scanString(b, i)
		if !ok {
			return 0, fmt.Errorf("unterminated string at offset %d", i)
		}
		return end, nil
	case '[', '{':
		stack := make([]byte, 0, 8)
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := scanString(b, j)
				if !ok {
					return 0, fmt.Errorf("unterminated string at offset %d", j)
				}
				j = end - 1
			case '[', '{':
				if depth+len(stack) >= maxNesting {
					return 0, fmt.Errorf("JSON nests deeper than %d levels", maxNesting)
				}
				stack = append(stack, b[j])
			case ']', '}':
				open := byte('[')
				if b[j] == '}' {
					open = '{'
				}
				if len(stack) == 0 || stack[len(stack)-1] != open {
					return 0, fmt.Errorf("unexpected %q at offset %d", b[j], j)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unterminated %s starting at offset %d", map[byte]string{'[': "array", '{': "object"}[c], i)
	default:
		j := i
		for j < len(b) && !isDelim(b[j]) {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("unexpected %q at offset %d", c, i)
		}
		return j, nil
	}
}

// scanString returns the index after the closing quote of the string at b[i].
func scanString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

func isDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ':', '[', '{', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
