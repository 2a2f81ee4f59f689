// Package samplejson decodes the sample JSON of the ingest contract (one
// sample object or an array of them) into metric.Input values. Every door
// (HTTP, MQTT) decodes with this package, so a payload means the same thing
// whichever way it arrives; the domain rules then run in ingest.Service.Accept.
//
// The decoder never fails on a bad sample: it reports each bad field as a
// metric.FieldError (index, field, message) so the door can answer with every
// problem at once.
//
// The JSON is read strictly (RFC 8259, not what lenient decoders let pass):
// a number that is not JSON (01, +1, .5, 1., NaN, 0x10), a string that is not
// valid UTF-8 or holds a lone surrogate escape (\ud800), a key given twice in
// a sample (in any ASCII case: "name" and "Name" are one field) or in its
// tags, and a null tag value are each a field error, never silently read.
// null for a field of the sample means the field is absent: ts takes the
// server's clock, tags and dedupe_id are empty, and name and value are
// missing (which the domain refuses). Keys are matched in any ASCII case;
// unknown ones are ignored but must be strict JSON too.
package samplejson

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// wireSample is one sample as the JSON contract spells it. Unknown fields
// (including any tenant_id or tenant) are ignored: the tenant comes only
// from the token.
type wireSample struct {
	Name     string            `json:"name"`
	Value    *float64          `json:"value"`
	Tags     map[string]string `json:"tags"`
	TS       wireTS            `json:"ts"`
	DedupeID string            `json:"dedupe_id"`
}

// wireTS parses ts while decoding and keeps a bad one as a message instead
// of failing the whole decode, so the fast path survives bad timestamps.
type wireTS struct {
	t   time.Time
	set bool
	msg string
}

// UnmarshalJSON implements json.Unmarshaler.
func (w *wireTS) UnmarshalJSON(b []byte) error {
	w.t, w.set, w.msg = parseTSRaw(b)
	return nil
}

// LimitSamples names the samples-per-request limit in the *metric.LimitError
// that Decode returns when a payload holds more than maxSamples samples.
const LimitSamples = "samples_per_request"

// Decode turns a payload into inputs. A body-level problem comes back as err,
// a *metric.ValidationError (field "body"); more than maxSamples samples as a
// *metric.LimitError{Limit: LimitSamples, TooLarge: true}. Problems with
// individual samples come back as field errors (with the inputs decoded so
// far, for the domain pre-check). An empty array decodes to no inputs and no
// error: the caller decides how to refuse it.
//
// The fast path (fastdecode.go) reads the common shapes by hand; what it
// does not take, the general path decodes in one go with goccy/go-json once
// strictPayload (strict.go) has seen it is strict JSON; only if either
// fails does the slow path walk it element by element to say precisely
// which sample and which field are wrong.
func Decode(body []byte, maxSamples int) ([]metric.Input, []metric.FieldError, error) {
	body, maxSamples = trimSpace(body), max(maxSamples, 0) // every path reads a negative limit as 0
	if len(body) > 0 && (body[0] == '[' || body[0] == '{') {
		if inputs, bad, ok := fastDecode(body, maxSamples); ok {
			return inputs, bad, nil
		}
	}
	return generalDecode(body, maxSamples)
}

// generalDecode is Decode without the fast path (body already trimmed).
func generalDecode(body []byte, maxSamples int) ([]metric.Input, []metric.FieldError, error) {
	var (
		wire []wireSample
		err  error
	)
	switch {
	case len(body) == 0 || !strictPayload(body): // goccy would read it laxly
		return slowDecode(body, maxSamples)
	case body[0] == '[':
		err = json.Unmarshal(body, &wire)
	default:
		wire = make([]wireSample, 1)
		err = json.Unmarshal(body, &wire[0])
	}
	if err != nil {
		return slowDecode(body, maxSamples)
	}
	if len(wire) > maxSamples {
		return nil, nil, &metric.LimitError{Limit: LimitSamples, Max: int64(maxSamples), TooLarge: true}
	}
	inputs := make([]metric.Input, len(wire))
	var bad []metric.FieldError
	for i := range wire {
		w := &wire[i]
		in := &inputs[i]
		in.Name, in.Tags, in.DedupeID = w.Name, w.Tags, w.DedupeID
		if w.Value != nil {
			in.Value, in.HasValue = *w.Value, true
		}
		if w.TS.msg != "" {
			bad = append(bad, metric.FieldError{Index: i, Field: "ts", Message: w.TS.msg})
		} else if w.TS.set {
			in.TS, in.HasTS = w.TS.t, true
		}
	}
	return inputs, bad, nil
}

const tsFormatHint = "ts must be an RFC 3339 time (e.g. \"2026-11-25T10:00:00Z\") or a number of Unix seconds (fractions allowed; ≥ 1e11 means milliseconds)"

// parseTSRaw reads a raw JSON ts: null = absent; a string = RFC 3339; a
// number = Unix seconds, or milliseconds when ≥ 1e11. A bad one returns
// set=true and a message.
func parseTSRaw(b []byte) (t time.Time, set bool, msg string) {
	b = trimSpace(b)
	if len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		if end, ok := number(b, 0); !ok || end != len(b) { // ParseFloat also takes 01, 0x10, Inf
			return time.Time{}, true, fmt.Sprintf("ts %s is not a valid JSON number: %s", truncateBytes(b, 40), tsFormatHint)
		}
	}
	return parseTSScanned(b)
}

// parseTSScanned is parseTSRaw for a trimmed b whose number, if it is one,
// the caller's scanner has already held to the JSON grammar.
func parseTSScanned(b []byte) (t time.Time, set bool, msg string) {
	if len(b) == 0 || string(b) == "null" {
		return time.Time{}, false, ""
	}
	switch c := b[0]; {
	case c == '"':
		var s string
		if bytes.IndexByte(b, '\\') < 0 && len(b) >= 2 && b[len(b)-1] == '"' {
			s = string(b[1 : len(b)-1])
		} else if err := json.Unmarshal(b, &s); err != nil {
			return time.Time{}, true, tsFormatHint
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, true, fmt.Sprintf("ts %q is not valid: %s", truncateString(s, 40), tsFormatHint)
		}
		return t, true, ""
	case c == '-' || c >= '0' && c <= '9':
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return time.Time{}, true, fmt.Sprintf("ts %s is not a valid number: %s", truncateBytes(b, 40), tsFormatHint)
		}
		t, msg := unixNumber(v)
		return t, true, msg
	default:
		return time.Time{}, true, fmt.Sprintf("ts is %s: %s", kindOf(b), tsFormatHint)
	}
}

// unixNumber reads v as Unix seconds, or as Unix milliseconds when |v| ≥ 1e11.
func unixNumber(v float64) (time.Time, string) {
	const msThreshold, maxMillis = 1e11, 1e15 // 1e15 ms is about year 33658
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return time.Time{}, "ts must be a finite number"
	case math.Abs(v) >= maxMillis:
		return time.Time{}, fmt.Sprintf("ts %g is out of range: %s", v, tsFormatHint)
	case math.Abs(v) >= msThreshold:
		return time.UnixMicro(int64(math.Round(v * 1e3))).UTC(), ""
	default:
		return time.UnixMicro(int64(math.Round(v * 1e6))).UTC(), ""
	}
}

// ParseTimeParam reads a query parameter with the same rule as ts, the
// string form needing no quotes: a number, or RFC 3339. A bad one returns a
// message for the client (and the zero time).
func ParseTimeParam(s string) (time.Time, string) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return unixNumber(v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, "must be an RFC 3339 time or a number of Unix seconds/milliseconds"
	}
	return t, ""
}

// WithDomainErrors adds to the decoding errors what the domain rules find
// in the fields that did decode, so one answer lists every problem. Fields
// that already failed to decode are not reported twice.
func WithDomainErrors(inputs []metric.Input, decodeErrs []metric.FieldError, lim metric.Limits, now time.Time) []metric.FieldError {
	skip := map[int]map[string]bool{}
	for _, e := range decodeErrs {
		if skip[e.Index] == nil {
			skip[e.Index] = map[string]bool{}
		}
		skip[e.Index][fieldRoot(e.Field)] = true
	}
	out := append([]metric.FieldError(nil), decodeErrs...)
	for i, in := range inputs {
		if skip[i]["sample"] {
			continue
		}
		_, errs := metric.New(in, lim, now)
		for _, e := range errs {
			if skip[i][fieldRoot(e.Field)] {
				continue
			}
			e.Index = i
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out
}

func fieldRoot(f string) string {
	if i := strings.IndexByte(f, '.'); i >= 0 {
		return f[:i]
	}
	return f
}

// truncateString cuts s to about n bytes for a message or a field name,
// which must stay valid UTF-8 (the answer is JSON): bad bytes become U+FFFD.
func truncateString(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return strings.ToValidUTF8(s[:n], "\uFFFD") + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func truncateBytes(b []byte, n int) string { return truncateString(string(b), n) }

// trimSpace trims JSON's whitespace only (bytes.TrimSpace also takes \v, \f,
// U+0085 and U+00A0, which JSON does not).
func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// kindOf names the JSON kind of a raw value for error messages.
func kindOf(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		if string(raw) == "true" || string(raw) == "false" {
			return "a boolean"
		}
	case 'n':
		if string(raw) == "null" {
			return "null"
		}
	}
	if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
		return "a number"
	}
	return fmt.Sprintf("the invalid token %q", strings.TrimSpace(truncateBytes(raw, 20)))
}
