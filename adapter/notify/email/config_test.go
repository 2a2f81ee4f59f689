package email

import (
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{Host: "smtp.example.com", Port: 587, From: "Pulse <alerts@example.com>", To: []string{"ops@example.com"}}
}

func TestConfigValidate(t *testing.T) {
	many := make([]string, MaxRecipients+1)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i) + "@example.com"
	}
	cases := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"valid starttls default", func(c *Config) {}, ""},
		{"valid tls", func(c *Config) { c.Security = SecurityTLS; c.Port = 0 }, ""},
		{"valid two recipients", func(c *Config) { c.To = []string{"a@example.com", "B <b@example.com>"} }, ""},
		{"valid plain on loopback", func(c *Config) { c.Security = SecurityPlain; c.Host = "127.0.0.1" }, ""},
		{"valid plain on localhost", func(c *Config) { c.Security = SecurityPlain; c.Host = "localhost" }, ""},
		{"valid plain allow-listed", func(c *Config) {
			c.Security = SecurityPlain
			c.Host = "relay.internal"
			c.AllowPlainHosts = []string{"Relay.Internal"}
		}, ""},
		{"valid auth login", func(c *Config) { c.Auth = AuthLogin; c.Username = "u"; c.Password = "p" }, ""},
		{"host required", func(c *Config) { c.Host = "" }, "host is required"},
		{"host with space", func(c *Config) { c.Host = "smtp example" }, "is not a host name"},
		{"port range", func(c *Config) { c.Port = 70000 }, "port 70000 is out of range"},
		{"plain remote refused", func(c *Config) { c.Security = SecurityPlain }, "security plain is only allowed"},
		{"plain on ::1", func(c *Config) { c.Security = SecurityPlain; c.Host = "::1" }, ""},
		{"unknown security", func(c *Config) { c.Security = "ssl" }, `security "ssl" is unknown`},
		{"unknown auth", func(c *Config) { c.Auth = "cram" }, `auth "cram" is unknown`},
		{"password without user", func(c *Config) { c.Password = "p" }, "a password needs a username"},
		{"from required", func(c *Config) { c.From = "" }, "from is required"},
		{"from invalid", func(c *Config) { c.From = "not an address" }, "from:"},
		{"from with CRLF", func(c *Config) { c.From = "a@example.com\r\nBcc: x@example.com" }, "control characters"},
		{"no recipients", func(c *Config) { c.To = nil }, "at least one recipient"},
		{"too many recipients", func(c *Config) { c.To = many }, "51 recipients, at most 50"},
		{"bad recipient", func(c *Config) { c.To = []string{"ok@example.com", "nope"} }, "recipient 2:"},
		{"duplicate recipient", func(c *Config) { c.To = []string{"a@example.com", "A@Example.com"} }, "listed twice"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
		{"huge timeout", func(c *Config) { c.Timeout = time.Hour }, "timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidateReportsEveryField(t *testing.T) {
	err := Config{}.Validate()
	for _, want := range []string{"host is required", "from is required", "at least one recipient"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	for sec, port := range map[Security]int{"": 587, SecurityTLS: 465, SecurityPlain: 25} {
		if got := (Config{Security: sec}).port(); got != port {
			t.Errorf("%q: port %d, want %d", sec, got, port)
		}
	}
	if (Config{}).timeout() != DefaultTimeout {
		t.Error("default timeout")
	}
}
