package egress

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of a zero Policy.
const (
	// DefaultTimeout bounds one request from dial to the last body byte: a
	// receiver that hangs must not hold a delivery worker.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBody is how much of an answer is read: enough for an error
	// message, not enough for a receiver to fill our memory.
	DefaultMaxBody int64 = 64 << 10
)

// Policy is what the client may reach.
type Policy struct {
	// AllowHosts are host:port pairs exempt from the https and public
	// address checks (development, tests on loopback). Exactly that host
	// and port: "localhost:8080" allows neither localhost:8081 nor
	// 127.0.0.1:8080.
	AllowHosts []string
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBody caps the bytes of an answer's body that are read; zero means
	// DefaultMaxBody.
	MaxBody int64
}

func (p Policy) timeout() time.Duration {
	if p.Timeout <= 0 {
		return DefaultTimeout
	}
	return p.Timeout
}

func (p Policy) maxBody() int64 {
	if p.MaxBody <= 0 {
		return DefaultMaxBody
	}
	return p.MaxBody
}

// allows reports whether hostport (normalised) is one of AllowHosts.
func (p Policy) allows(hostport string) bool {
	return slices.ContainsFunc(p.AllowHosts, func(h string) bool {
		n, err := normalHostPort(h)
		return err == nil && n == hostport
	})
}

// ParseAllowHosts reads PULSE_NOTIFY_ALLOW_HOSTS: host:port pairs
// separated by commas or spaces. Each must name a port, since an exemption
// is for one receiver, not for a whole host.
func ParseAllowHosts(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	var out []string
	for _, f := range fields {
		n, err := normalHostPort(f)
		if err != nil {
			return nil, fmt.Errorf("allowed notification host %q: %w", f, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// normalHostPort lowercases the host and checks the port, so that
// "LocalHost:8080" in the allow list matches the URL http://localhost:8080.
func normalHostPort(hp string) (string, error) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", fmt.Errorf("not host:port: %w", err)
	}
	if host == "" {
		return "", fmt.Errorf("no host")
	}
	if err := checkPort(port); err != nil {
		return "", err
	}
	return net.JoinHostPort(strings.ToLower(host), port), nil
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// CheckURL is the save-time check of a channel's URL: what can be known
// without resolving a name. The scheme must be https unless the URL's
// host:port is allowed; a literal IP in any spelling a resolver accepts
// (dotted, decimal 2130706433, octal 0177.0.0.1, hex 0x7f000001, short
// 127.1, IPv6 and IPv4-mapped IPv6) must be public; localhost is refused by
// name. Other names pass: they are checked when dialled, on the address
// they resolve to then.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's message quotes the URL, whose path may be a secret.
		return &RefusedError{URL: unparsable, Reason: "not a valid URL"}
	}
	return p.checkURL(u)
}

func (p Policy) checkURL(u *url.URL) error {
	refuse := func(format string, a ...any) error {
		return &RefusedError{URL: redact(u), Reason: fmt.Sprintf(format, a...)}
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return refuse("the scheme must be https")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return refuse("the URL has no host")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	if err := checkPort(port); err != nil {
		return refuse("%v", err)
	}
	host := strings.ToLower(u.Hostname())
	if p.allows(net.JoinHostPort(host, port)) {
		return nil
	}
	if scheme != "https" {
		return refuse("the scheme must be https (plain http only for an allowed host:port)")
	}
	ip, literal, err := literalIP(host)
	switch {
	case err != nil:
		return refuse("%v", err)
	case literal:
		if err := newGuard().SafeAddr(ip); err != nil {
			return refuse("%s is %s", ip, describe(ip))
		}
	case isLocalhost(host):
		return refuse("%s is a loopback name", host)
	}
	return nil
}

// isLocalhost reports the names RFC 6761 reserves for loopback: refusing
// them by name gives a clearer answer at save time than the dial would.
func isLocalhost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// unparsable stands for a URL that cannot be shown without its secret.
const unparsable = "(unparsable)"

// redact keeps a URL's scheme, host and port: the path and query of a
// webhook or Slack URL are often its credential, and errors are logged
// and shown.
func redact(u *url.URL) string {
	if u == nil || u.Scheme == "" && u.Host == "" {
		return "(no scheme or host)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
