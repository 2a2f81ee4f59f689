package token_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/domain/token"
)

// FuzzParse checks that Parse never panics, refuses with ErrUnauthenticated
// only, and that whatever it accepts has the documented shape.
func FuzzParse(f *testing.F) {
	iss, err := token.Issue(bytes.NewReader(bytes.Repeat([]byte{42, 7, 200, 13}, 100)), 1, "f", nil, now)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		iss.Plain, iss.Plain[:len(iss.Plain)-1], iss.Plain + "x", "", "pulse_", "pulse__",
		"pulse_" + strings.Repeat("a", 10) + "_" + strings.Repeat("A", 38),
		strings.Repeat("\xff", len(iss.Plain)), strings.Repeat("_", len(iss.Plain)),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := token.Parse(raw)
		if err != nil {
			if !errors.Is(err, token.ErrUnauthenticated) {
				t.Fatalf("Parse(%q) error %v is not ErrUnauthenticated", raw, err)
			}
			if p.ID != "" {
				t.Fatalf("Parse(%q) failed but returned id %q", raw, p.ID)
			}
			return
		}
		if len(raw) != tokenLen || !strings.HasPrefix(raw, "pulse_"+p.ID+"_") || !token.ValidID(p.ID) {
			t.Fatalf("Parse accepted malformed %q (id %q)", raw, p.ID)
		}
		if !format.MatchString(raw) {
			t.Fatalf("Parse accepted %q outside the documented format", raw)
		}
	})
}
