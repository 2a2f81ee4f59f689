// Package email delivers alert notifications over SMTP (go-mail): a
// multipart message with a plain-text and an HTML part, sent with
// STARTTLS required by default, implicit TLS, or — for a local relay only
// — plain SMTP.
//
// Render is pure; Sender.Send talks to the server and classifies the
// outcome as delivered, retryable (4xx, network, timeouts) or final (5xx,
// authentication, TLS required but not offered), with the server's answer
// capped and never holding the password.
package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Security is how the connection to the SMTP server is protected.
type Security string

const (
	// SecuritySTARTTLS (the default) requires STARTTLS: a server that does
	// not offer it is a final failure, never a silent plain-text send.
	SecuritySTARTTLS Security = "starttls"
	// SecurityTLS is implicit TLS from the first byte (SMTPS, port 465).
	SecurityTLS Security = "tls"
	// SecurityPlain sends unencrypted: only to a loopback host or one in
	// Config.AllowPlainHosts (a relay on the same machine or network).
	SecurityPlain Security = "plain"
)

// Auth is the SMTP AUTH mechanism used when Config.Username is set.
type Auth string

const (
	AuthPlain Auth = "plain" // the default
	AuthLogin Auth = "login"
)

// Limits.
const (
	MaxRecipients    = 50
	DefaultTimeout   = 30 * time.Second
	MaxTimeout       = 5 * time.Minute
	maxAddressLength = 320
)

// Config is one email channel's server and addresses.
type Config struct {
	Host     string
	Port     int // 0: 587 for starttls, 465 for tls, 25 for plain
	Security Security
	Auth     Auth // plain (default) or login; used when Username is set
	Username string
	Password string
	From     string   // an RFC 5322 address, "Pulse <alerts@example.com>"
	To       []string // 1 to MaxRecipients addresses
	// AllowPlainHosts are the hosts (besides loopback) that Security plain may use.
	AllowPlainHosts []string
	Timeout         time.Duration // 0: DefaultTimeout
	// TLSConfig overrides the TLS settings (tests trust a self-signed
	// certificate with it); ServerName defaults to Host.
	TLSConfig *tls.Config
}

// Validate reports every problem of the configuration, one per field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("email: "+format, args...)) }

	host := strings.TrimSpace(c.Host)
	switch {
	case host == "":
		bad("host is required")
	case host != c.Host || strings.ContainsAny(host, " \t\r\n/@") || len(host) > 253:
		bad("host %q is not a host name or IP address", clip(c.Host, 80))
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("port %d is out of range (1-65535, or 0 for the default)", c.Port)
	}
	switch c.security() {
	case SecuritySTARTTLS, SecurityTLS:
	case SecurityPlain:
		if host != "" && !c.plainAllowed() {
			bad("security plain is only allowed for a loopback host or one in the plain allow list, not %q: use starttls or tls", clip(host, 80))
		}
	default:
		bad("security %q is unknown (want starttls, tls or plain)", clip(string(c.Security), 40))
	}
	switch c.Auth {
	case "", AuthPlain, AuthLogin:
	default:
		bad("auth %q is unknown (want plain or login)", clip(string(c.Auth), 40))
	}
	if c.Username == "" && c.Password != "" {
		bad("a password needs a username")
	}
	if strings.ContainsAny(c.Username, "\r\n\x00") {
		bad("username must not contain control characters")
	}
	if c.From == "" {
		bad("from is required")
	} else if err := checkAddress(c.From); err != nil {
		bad("from: %v", err)
	}
	switch {
	case len(c.To) == 0:
		bad("at least one recipient is required")
	case len(c.To) > MaxRecipients:
		bad("%d recipients, at most %d are allowed", len(c.To), MaxRecipients)
	default:
		seen := map[string]bool{}
		for i, to := range c.To {
			if err := checkAddress(to); err != nil {
				bad("recipient %d: %v", i+1, err)
				continue
			}
			a, _ := mail.ParseAddress(to)
			key := strings.ToLower(a.Address)
			if seen[key] {
				bad("recipient %d: %s is listed twice", i+1, a.Address)
			}
			seen[key] = true
		}
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		bad("timeout %s is out of range (0 for %s, at most %s)", c.Timeout, DefaultTimeout, MaxTimeout)
	}
	return errors.Join(errs...)
}

func checkAddress(s string) error {
	if len(s) > maxAddressLength {
		return fmt.Errorf("address is longer than %d bytes", maxAddressLength)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("address %q contains control characters", clip(s, 80))
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Errorf("%q is not an email address: %v", clip(s, 80), err)
	}
	if !strings.Contains(a.Address, "@") {
		return fmt.Errorf("%q is not an email address", clip(s, 80))
	}
	return nil
}

func (c Config) security() Security {
	if c.Security == "" {
		return SecuritySTARTTLS
	}
	return c.Security
}

func (c Config) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.security() {
	case SecurityTLS:
		return 465
	case SecurityPlain:
		return 25
	}
	return 587
}

func (c Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// plainAllowed: the host is loopback (localhost or a loopback IP) or allow-listed.
func (c Config) plainAllowed() bool {
	h := strings.ToLower(strings.TrimSuffix(c.Host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil && ip.IsLoopback() {
		return true
	}
	return slices.ContainsFunc(c.AllowPlainHosts, func(a string) bool {
		return strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(a), "."), h)
	})
}
