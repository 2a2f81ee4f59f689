package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWidthCountsUTF16(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "🔥": 2, "⚠️": 2, "\xff": 1} {
		if got := width(s); got != want {
			t.Errorf("width(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestClipIsRuneSafe(t *testing.T) {
	for _, s := range []string{strings.Repeat("é", 20), strings.Repeat("🔥", 20), strings.Repeat("a日本", 10)} {
		for limit := 1; limit <= 25; limit++ {
			got := clip(s, limit)
			if !utf8.ValidString(got) || width(got) > limit {
				t.Fatalf("clip(%q, %d) = %q (%d wide)", s, limit, got, width(got))
			}
			if width(s) > limit && !strings.HasSuffix(got, "…") {
				t.Fatalf("clip(%q, %d) = %q: no ellipsis", s, limit, got)
			}
		}
	}
	if got := clip("short", 10); got != "short" {
		t.Errorf("clip of a short text changed it: %q", got)
	}
}

func TestFitKeepsEntitiesAndLinksWhole(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"ab&amp;cd", 5, "ab…"},         // "ab&a" would be half an entity
		{"ab&amp;cd", 8, "ab&amp;…"},    // a whole entity stays
		{"x <https://a|b> y", 10, "x…"}, // half a link goes
		{"x <https://a|b> y", 16, "x <https://a|b>…"},
		{"fine", 4, "fine"},
	} {
		if got := fit(c.in, c.limit); got != c.want {
			t.Errorf("fit(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got, want := esc("a & <b> \n\tc\x00"), "a &amp; &lt;b&gt;   c "; got != want {
		t.Errorf("esc = %q, want %q", got, want)
	}
	if got := esc("&amp;"); got != "&amp;amp;" {
		t.Errorf("an entity in user text must show as typed, got %q", got)
	}
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 95.5: "95.5", -3: "-3", 1234567.5: "1234567.5", 1e20: "1e+20", 0.00001: "1e-05", 0.25: "0.25"} {
		if got := formatNumber(v); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}
