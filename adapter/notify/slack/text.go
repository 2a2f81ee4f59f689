package slack

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Slack's limits (Block Kit reference). Widths are counted in UTF-16 code
// units, never fewer than runes, so a text within them is within Slack's
// limits however Slack counts characters.
const (
	MaxHeader          = 150  // a header block's text
	MaxSection         = 3000 // a section's text, and any text object's
	MaxBlocks          = 50   // blocks in one message
	MaxContextElements = 10   // elements in one context block
	// MaxFallback bounds the top-level text: Slack asks for at most 4,000
	// characters there; it is what a phone's notification shows, so one
	// section's worth is plenty.
	MaxFallback = 3000
	// MaxMessage bounds all the text of one message together: Slack
	// truncates a message's text beyond 40,000 characters, and a cut
	// message is worse than one that says "… and N more".
	MaxMessage = 40000
)

const ellipsis = "…"

// width is a text's length as Slack's limits count it.
func width(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 1 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// oneLine makes user text safe to place inside a line: invalid UTF-8
// becomes U+FFFD (Slack refuses invalid UTF-8) and control characters
// become spaces, so a label cannot start a new line (a quote, a list) or
// break out of a code span's line.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// esc escapes the three characters Slack parses as control sequences in
// text objects (links <url|x>, mentions <@U1>, <!channel>); nothing else
// is entity-encoded, as Slack decodes only these.
func esc(s string) string { return escaper.Replace(oneLine(s)) }

// clip cuts raw (unescaped) text to limit width, ending in "…". It works
// on runes, so it never splits a UTF-8 sequence.
func clip(s string, limit int) string {
	if width(s) <= limit {
		return s
	}
	return strings.TrimRightFunc(prefix(s, limit-width(ellipsis)), unicode.IsSpace) + ellipsis
}

// prefix is the longest run of whole runes of s within limit width.
func prefix(s string, limit int) string {
	n := 0
	for i, r := range s {
		w := max(utf16.RuneLen(r), 1)
		if n+w > limit {
			return s[:i]
		}
		n += w
	}
	return s
}

// fit cuts escaped mrkdwn to limit width like clip, and also never leaves
// half an entity ("&am") or half a link ("<https://…") behind: in escaped
// text every '&' and '<' is ours, so a cut after an unclosed one moves
// before it.
func fit(s string, limit int) string {
	if width(s) <= limit {
		return s
	}
	kept := prefix(s, limit-width(ellipsis))
	if i := strings.LastIndexByte(kept, '&'); i >= 0 && !strings.Contains(kept[i:], ";") {
		kept = kept[:i]
	}
	if i := strings.LastIndexByte(kept, '<'); i >= 0 && !strings.Contains(kept[i:], ">") {
		kept = kept[:i]
	}
	return strings.TrimRightFunc(kept, unicode.IsSpace) + ellipsis
}

// escClip escapes user text and cuts it to limit width, counting the
// entities: a text of '<' grows fivefold when escaped, and the budgets
// of a section are budgets of what Slack receives.
func escClip(s string, limit int) string {
	return fit(esc(clip(s, limit)), limit)
}

// code shows user text as inline code, which also disables mrkdwn
// formatting inside it. A backtick would close the span early, so it is
// shown as the look-alike U+02CB.
func code(s string, limit int) string {
	return "`" + escClip(strings.ReplaceAll(s, "`", "ˋ"), limit) + "`"
}

// maxURL bounds a link's target: a cut URL is a wrong URL, so a longer
// one is left out rather than shortened.
const maxURL = 1500

// link is a mrkdwn link to an http(s) URL with an already escaped label,
// or just the label when the URL is missing or not a web address (a
// "javascript:" or "slack://" target has no place in an alert).
func link(raw, label string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return label
	}
	// '|' ends the target and '>' the link; spaces and '<' are not URL
	// characters anyway. '&' is escaped as Slack asks.
	target := strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C", " ", "%20").Replace(u.String())
	if !utf8.ValidString(target) || width(target) > maxURL || strings.ContainsFunc(target, unicode.IsControl) {
		return label
	}
	return "<" + target + "|" + label + ">"
}
