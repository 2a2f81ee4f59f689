package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// textObject is Block Kit's text composition object.
type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// Emoji lets plain_text show :shortcodes: as emoji.
	Emoji bool `json:"emoji,omitempty"`
	// Verbatim turns off Slack's automatic parsing of mrkdwn: without it,
	// bare channel names are linked and "certain mentions" parsed, which
	// would let a label notify a whole channel.
	Verbatim bool `json:"verbatim,omitempty"`
}

// block is the subset of Block Kit's blocks these messages use: header
// and section carry Text, context carries Elements.
type block struct {
	Type     string       `json:"type"`
	Text     *textObject  `json:"text,omitempty"`
	Elements []textObject `json:"elements,omitempty"`
}

// payload is an incoming webhook's body. Text is the fallback shown in
// notifications and to clients that cannot render blocks.
type payload struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks"`
}

func plain(s string, limit int) textObject {
	return textObject{Type: "plain_text", Text: nonEmpty(fit(s, limit)), Emoji: true}
}

func mrkdwn(s string, limit int) textObject {
	return textObject{Type: "mrkdwn", Text: nonEmpty(fit(s, limit)), Verbatim: true}
}

// nonEmpty: Slack refuses an empty text object (minimum length 1).
func nonEmpty(s string) string {
	if s == "" {
		return " "
	}
	return s
}

func headerBlock(s string) block { t := plain(s, MaxHeader); return block{Type: "header", Text: &t} }

func sectionBlock(s string) block {
	t := mrkdwn(s, MaxSection)
	return block{Type: "section", Text: &t}
}

func contextBlock(elems ...string) block {
	b := block{Type: "context"}
	for _, e := range elems[:min(len(elems), MaxContextElements)] {
		b.Elements = append(b.Elements, mrkdwn(e, MaxSection))
	}
	return b
}

// blockWidth is the text a block adds to a message.
func blockWidth(b block) int {
	n := 0
	if b.Text != nil {
		n += width(b.Text.Text)
	}
	for _, e := range b.Elements {
		n += width(e.Text)
	}
	return n
}

// encode marshals a payload without HTML escaping: Slack's own escapes
// are already in place, and "\u003c" for '<' only makes bodies harder to
// read in logs and golden files.
func encode(p payload) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("slack: encode message: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
