package secretbox

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// maskDots stands for any secret.
const maskDots = "••••"

// showTailFrom is the length from which a mask shows the last 4
// characters: enough left hidden that the tail tells which secret is set
// without helping to guess it.
const showTailFrom = 12

// Mask is how a secret may be shown: "••••" and, for a secret of at
// least 12 characters, its last 4 ("••••a1b2"). An empty secret masks to
// "", so an answer can still tell "not set" from "set".
func Mask(secret string) string {
	if secret == "" {
		return ""
	}
	n := utf8.RuneCountInString(secret)
	if n < showTailFrom {
		return maskDots
	}
	tail := secret
	for range n - 4 {
		_, size := utf8.DecodeRuneInString(tail)
		tail = tail[size:]
	}
	return maskDots + tail
}

// Secret is a secret in memory: it prints (any fmt verb), marshals (JSON,
// text) and logs (slog) as its mask, so it cannot reach a log line or an
// API answer by accident. Reveal is the one way to the value.
//
// Two holes methods cannot close, as the value is a string underneath:
// fmt cannot call methods on unexported struct fields, so a Secret in an
// unexported field of a printed struct prints raw; and encoding/json
// writes a string-kinded map key as is. Keep Secrets in exported fields
// and never use one as a map key.
type Secret string

// Reveal is the secret's value, for the code that uses it (an SMTP
// login, an HMAC, a POST to the Slack URL). It is easy to grep for.
func (s Secret) Reveal() string { return string(s) }

// String is the mask.
func (s Secret) String() string { return Mask(string(s)) }

// GoString is the mask too, for %#v.
func (s Secret) GoString() string { return "secretbox.Secret(" + strconv.Quote(s.String()) + ")" }

// Format prints the mask under every verb (%d and %x included, which
// would otherwise show the raw value or its hex), and GoString for %#v.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// MarshalJSON writes the mask.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText writes the mask (YAML, XML, map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue logs the mask (slog.LogValuer).
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

var (
	_ slog.LogValuer = Secret("")
	_ json.Marshaler = Secret("")
	_ fmt.GoStringer = Secret("")
	_ fmt.Formatter  = Secret("")
)
