package samplejson

import (
	"testing"
	"time"
)

// FuzzParseTS: the timestamp parser never panics; what it accepts is a real
// instant, and what it refuses carries a message.
func FuzzParseTS(f *testing.F) {
	for _, s := range []string{
		`"2026-11-25T10:00:00Z"`, `"2026-11-25T10:00:00.123+02:00"`, `1764064800`, `1764064800.25`,
		`1764064800123`, `-1`, `1e300`, `"NaN"`, `null`, `true`, `{}`, `[]`, `""`, `"\u0000"`, `1e11`, `99999999999`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ts, set, msg := parseTSRaw(raw)
		if !set && (msg != "" || !ts.IsZero()) {
			t.Fatalf("absent ts with a value or message: %v %q", ts, msg)
		}
		if set && msg == "" && ts.IsZero() && string(raw) != `"0001-01-01T00:00:00Z"` {
			t.Fatalf("accepted %q as the zero time", raw)
		}
		if msg != "" && !ts.IsZero() {
			t.Fatalf("refused %q but returned %v", raw, ts)
		}
		if t2, msg2 := ParseTimeParam(string(raw)); msg2 == "" && t2.After(time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("query time %q parsed far out of range: %v", raw, t2)
		}
	})
}
