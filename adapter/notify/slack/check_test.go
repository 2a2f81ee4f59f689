package slack

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// body is an incoming-webhook body as Slack reads it.
type body struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type, Text string
			Verbatim   bool
		} `json:"text"`
		Elements []struct {
			Type, Text string
			Verbatim   bool
		} `json:"elements"`
	} `json:"blocks"`
}

// ourLink is the only use of '<' a message may make: a link to a web
// address whose target has no '|', '<', '>' or space.
var ourLink = regexp.MustCompile(`<https?://[^\s<>|]+\|[^<>]*>`)

// checkBody asserts what Slack needs of any message: valid JSON and
// UTF-8, at most 50 blocks, every text within its limit and not empty,
// and no control sequence (link, mention) but the links we made. It
// returns the decoded body for further checks.
func checkBody(t testing.TB, raw []byte) body {
	t.Helper()
	if !json.Valid(raw) {
		t.Fatalf("not valid JSON: %s", raw)
	}
	if !utf8.Valid(raw) {
		t.Fatalf("not valid UTF-8: %q", raw)
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("decode: %v", err)
	}
	total := width(b.Text)
	checkText(t, "fallback", b.Text, MaxFallback)
	if len(b.Blocks) == 0 || len(b.Blocks) > MaxBlocks {
		t.Fatalf("%d blocks, want 1..%d", len(b.Blocks), MaxBlocks)
	}
	for i, bl := range b.Blocks {
		switch bl.Type {
		case "header":
			if bl.Text == nil || bl.Text.Type != "plain_text" {
				t.Fatalf("block %d: header without plain_text", i)
			}
			checkText(t, "header", bl.Text.Text, MaxHeader)
			total += width(bl.Text.Text)
		case "section":
			if bl.Text == nil || bl.Text.Type != "mrkdwn" || !bl.Text.Verbatim {
				t.Fatalf("block %d: section without verbatim mrkdwn", i)
			}
			checkText(t, "section", bl.Text.Text, MaxSection)
			total += width(bl.Text.Text)
		case "context":
			if len(bl.Elements) == 0 || len(bl.Elements) > MaxContextElements {
				t.Fatalf("block %d: context with %d elements", i, len(bl.Elements))
			}
			for _, e := range bl.Elements {
				if e.Type != "mrkdwn" || !e.Verbatim {
					t.Fatalf("block %d: context element not verbatim mrkdwn", i)
				}
				checkText(t, "context", e.Text, MaxSection)
				total += width(e.Text)
			}
		default:
			t.Fatalf("block %d: unexpected type %q", i, bl.Type)
		}
	}
	if total > MaxMessage {
		t.Fatalf("message text is %d wide, over %d", total, MaxMessage)
	}
	return b
}

func checkText(t testing.TB, what, s string, limit int) {
	t.Helper()
	if s == "" {
		t.Fatalf("%s: empty text", what)
	}
	if w := width(s); w > limit {
		t.Fatalf("%s: %d wide, over %d: %.80q…", what, w, limit, s)
	}
	bare := ourLink.ReplaceAllString(s, "")
	if strings.ContainsAny(bare, "<>") {
		t.Fatalf("%s: unescaped < or > outside our links: %q", what, s)
	}
	for i := strings.IndexByte(s, '&'); i >= 0; i = nextAmp(s, i) {
		if r := s[i:]; !strings.HasPrefix(r, "&amp;") && !strings.HasPrefix(r, "&lt;") && !strings.HasPrefix(r, "&gt;") {
			t.Fatalf("%s: bare & at %d: %q", what, i, s)
		}
	}
}

func nextAmp(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '&')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// sections are a body's section texts, in order.
func (b body) sections() []string {
	var out []string
	for _, bl := range b.Blocks {
		if bl.Type == "section" {
			out = append(out, bl.Text.Text)
		}
	}
	return out
}

func (b body) header() string {
	for _, bl := range b.Blocks {
		if bl.Type == "header" {
			return bl.Text.Text
		}
	}
	return ""
}
