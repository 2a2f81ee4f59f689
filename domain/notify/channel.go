// Package notify holds Pulse's notification channels: where a rule's
// notifications go (an email address list, a webhook, a Slack incoming
// webhook), how often, and their validation. A channel's secret (the SMTP
// password, the webhook's signing secret, the Slack webhook URL) is not a
// field of Channel: it is held apart, sealed, by whoever stores it. The
// package knows no I/O: checking that a URL is safe to reach (SSRF) is the
// egress adapter's job, at dial time.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is how a channel delivers.
type Kind string

// The kinds of channel.
const (
	KindEmail   Kind = "email"
	KindWebhook Kind = "webhook"
	KindSlack   Kind = "slack"
)

// Kinds lists every kind, for messages and the UI.
var Kinds = []Kind{KindEmail, KindWebhook, KindSlack}

// Security is how an email channel talks to its SMTP server.
type Security = string

// The SMTP connection securities.
const (
	SecuritySTARTTLS Security = "starttls" // plain connection upgraded with STARTTLS (submission, 587)
	SecurityTLS      Security = "tls"      // TLS from the first byte (implicit TLS, 465)
	SecurityPlain    Security = "plain"    // no TLS at all
)

// Securities lists every security.
var Securities = []Security{SecuritySTARTTLS, SecurityTLS, SecurityPlain}

// SMTP authentication mechanisms, used when a username is set.
const (
	AuthPlain = "plain"
	AuthLogin = "login"
)

// Auths lists every mechanism.
var Auths = []string{AuthPlain, AuthLogin}

// Bounds and defaults.
const (
	MaxNameLen            = 200 // characters
	MaxRecipients         = 50
	MaxHostLen            = 255
	MaxUsernameLen        = 255
	MaxAddressLen         = 320
	MaxURLLen             = 2048
	DefaultGroupWait      = 10 * time.Second
	MaxGroupWait          = time.Hour
	DefaultRepeatInterval = 4 * time.Hour
	MinRepeatInterval     = time.Minute
	MaxRepeatInterval     = 7 * 24 * time.Hour
	DefaultSendResolved   = true
)

var (
	// ErrNotFound is an unknown channel, or another tenant's.
	ErrNotFound = errors.New("notification channel not found")
	// ErrDuplicateName is a name the tenant already gave another channel.
	ErrDuplicateName = errors.New("a notification channel with this name already exists")
	// ErrMessageNotFound is an unknown notification message, another
	// tenant's, or one not in the state an action needs.
	ErrMessageNotFound = errors.New("notification not found")
)

// Channel is a tenant's notification channel. Exactly the settings of its
// Kind are set (Slack's are empty: its one setting, the URL, is the
// secret). Times are Unix milliseconds; durations whole seconds.
type Channel struct {
	ID             int64
	TenantID       int64
	Name           string
	Kind           Kind
	Email          *EmailSettings
	Webhook        *WebhookSettings
	Slack          *SlackSettings
	SendResolved   bool
	GroupWait      time.Duration
	RepeatInterval time.Duration
	CreatedAt      int64
	UpdatedAt      int64
}

// EmailSettings are an email channel's. The SMTP password is its secret.
type EmailSettings struct {
	Host     string
	Port     int
	Security Security
	Auth     string // plain or login ("" is plain)
	Username string
	To       []string
	From     string
}

// WebhookSettings are a webhook channel's. The signing secret is its
// secret.
type WebhookSettings struct {
	URL string
}

// SlackSettings are a Slack channel's; its webhook URL is its secret.
// URLKey names that URL without revealing it (a hash, set by the use case
// when the secret is saved): Slack's one-message-a-second limit is per
// webhook URL, so channels sharing one share the limit.
type SlackSettings struct {
	URLKey string
}

// SlackURLKey is the URLKey of a Slack webhook URL: its SHA-256, hex, cut
// to 128 bits (the URL's own secret token is what keeps it unguessable).
func SlackURLKey(url string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(url)))
	return hex.EncodeToString(sum[:16])
}

// RateKey is what Slack's per-URL limit counts by: the URL's key, or the
// channel itself when the key is unknown.
func (c Channel) RateKey() string {
	if c.Slack != nil && c.Slack.URLKey != "" {
		return "slack:" + c.Slack.URLKey
	}
	return fmt.Sprintf("channel:%d", c.ID)
}

// Defaults is a channel with every default set (send_resolved true,
// group_wait 10s, repeat_interval 4h): what a request body is decoded
// into, since a bool false and a group_wait 0 are values a client may mean.
func Defaults() Channel {
	return Channel{SendResolved: DefaultSendResolved, GroupWait: DefaultGroupWait, RepeatInterval: DefaultRepeatInterval}
}

// Normalize trims the names, host, addresses and URL, lower-cases the kind
// and security, fills the defaults that no valid value shares (repeat
// interval 0 → 4h, security "" → starttls) and gives To an empty list
// instead of nil. It copies the settings it changes: c's are not touched.
func (c Channel) Normalize() Channel {
	c.Name = strings.TrimSpace(c.Name)
	c.Kind = Kind(strings.ToLower(strings.TrimSpace(string(c.Kind))))
	if c.RepeatInterval == 0 {
		c.RepeatInterval = DefaultRepeatInterval
	}
	if c.Email != nil {
		e := *c.Email
		e.Host = strings.TrimSpace(e.Host)
		e.Security = strings.ToLower(strings.TrimSpace(e.Security))
		if e.Security == "" {
			e.Security = SecuritySTARTTLS
		}
		e.Auth = strings.ToLower(strings.TrimSpace(e.Auth))
		if e.Auth == "" {
			e.Auth = AuthPlain
		}
		e.From = strings.TrimSpace(e.From)
		to := make([]string, len(e.To))
		for i, a := range e.To {
			to[i] = strings.TrimSpace(a)
		}
		e.To = to
		c.Email = &e
	}
	if c.Webhook != nil {
		w := *c.Webhook
		w.URL = strings.TrimSpace(w.URL)
		c.Webhook = &w
	}
	return c
}

// FieldErrors maps a channel's JSON field name (settings as email.host,
// email.to[2], webhook.url) to what is wrong with it.
type FieldErrors map[string]string

// InvalidChannelError lists every bad field of a channel (HTTP 422).
type InvalidChannelError struct{ Fields FieldErrors }

func (e *InvalidChannelError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("invalid notification channel:")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(" " + k + ": " + e.Fields[k])
	}
	return b.String()
}

// Validate checks a normalized channel; it answers an *InvalidChannelError
// naming every bad field, or nil.
func (c Channel) Validate() error {
	bad := FieldErrors{}
	if n := utf8.RuneCountInString(c.Name); c.Name == "" || n > MaxNameLen || !utf8.ValidString(c.Name) {
		bad["name"] = fmt.Sprintf("is required, at most %d characters", MaxNameLen)
	}
	if slices.Contains(Kinds, c.Kind) {
		settings := map[Kind]bool{KindEmail: c.Email != nil, KindWebhook: c.Webhook != nil, KindSlack: c.Slack != nil}
		for _, k := range Kinds {
			switch {
			case k == c.Kind && !settings[k]:
				bad[string(k)] = fmt.Sprintf("is required for a channel of kind %s", c.Kind)
			case k != c.Kind && settings[k]:
				bad[string(k)] = fmt.Sprintf("must be absent for a channel of kind %s", c.Kind)
			}
		}
	} else {
		bad["kind"] = fmt.Sprintf("must be one of %v", Kinds)
	}
	if c.Email != nil {
		c.Email.validate(bad)
	}
	if c.Webhook != nil {
		c.Webhook.validate(bad)
	}
	switch {
	case c.GroupWait < 0 || c.GroupWait > MaxGroupWait:
		bad["group_wait"] = "must be between 0s and 1h"
	case c.GroupWait%time.Second != 0:
		bad["group_wait"] = "must be whole seconds"
	}
	switch {
	case c.RepeatInterval < MinRepeatInterval || c.RepeatInterval > MaxRepeatInterval:
		bad["repeat_interval"] = "must be between 1m and 168h (7 days)"
	case c.RepeatInterval%time.Second != 0:
		bad["repeat_interval"] = "must be whole seconds"
	}
	if len(bad) > 0 {
		return &InvalidChannelError{Fields: bad}
	}
	return nil
}

func (e *EmailSettings) validate(bad FieldErrors) {
	if e.Host == "" || len(e.Host) > MaxHostLen || strings.ContainsAny(e.Host, " \t\r\n/@") || !utf8.ValidString(e.Host) {
		bad["email.host"] = fmt.Sprintf("is required: a host name or address, at most %d characters", MaxHostLen)
	}
	if e.Port < 1 || e.Port > 65535 {
		bad["email.port"] = "must be between 1 and 65535"
	}
	if !slices.Contains(Securities, e.Security) {
		bad["email.security"] = fmt.Sprintf("must be one of %v", Securities)
	}
	if e.Auth != "" && !slices.Contains(Auths, e.Auth) {
		bad["email.auth"] = fmt.Sprintf("must be one of %v", Auths)
	}
	if len(e.Username) > MaxUsernameLen || strings.ContainsAny(e.Username, "\r\n") || !utf8.ValidString(e.Username) {
		bad["email.username"] = fmt.Sprintf("at most %d characters, on one line", MaxUsernameLen)
	}
	switch {
	case len(e.To) == 0:
		bad["email.to"] = "at least one recipient"
	case len(e.To) > MaxRecipients:
		bad["email.to"] = fmt.Sprintf("at most %d recipients", MaxRecipients)
	}
	for i, a := range e.To {
		if msg := validAddress(a); msg != "" {
			bad[fmt.Sprintf("email.to[%d]", i)] = msg
		}
	}
	if msg := validAddress(e.From); msg != "" {
		bad["email.from"] = msg
	}
}

// validAddress accepts one RFC 5322 address ("ops@example.com" or
// "Ops <ops@example.com>").
func validAddress(a string) string {
	if a == "" {
		return "is required: an email address"
	}
	if len(a) > MaxAddressLen || strings.ContainsAny(a, "\r\n") || !utf8.ValidString(a) {
		return fmt.Sprintf("must be one email address, at most %d characters", MaxAddressLen)
	}
	if _, err := mail.ParseAddress(a); err != nil {
		return "must be an email address such as ops@example.com"
	}
	return ""
}

func (w *WebhookSettings) validate(bad FieldErrors) {
	const msg = "must be an absolute http or https URL with a host"
	if w.URL == "" || len(w.URL) > MaxURLLen || !utf8.ValidString(w.URL) {
		bad["webhook.url"] = fmt.Sprintf("%s, at most %d characters", msg, MaxURLLen)
		return
	}
	u, err := url.Parse(w.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "":
		bad["webhook.url"] = msg
	case u.User != nil:
		// settings are stored in the clear; credentials belong in the secret.
		bad["webhook.url"] = "must not carry a user name or password: the signing secret authenticates the request"
	}
}
