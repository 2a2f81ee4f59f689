package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// UserAgent is sent when a request names none, so a receiver's logs say
// who called.
const UserAgent = "Pulse-Notify/1"

// Client sends notification requests under a Policy. It is safe for
// concurrent use; make one per process and share it.
type Client struct {
	policy Policy
	dialer *dialer
	http   *http.Client
}

// Response is an answer, whatever its status.
type Response struct {
	Status int
	Header http.Header
	// Body is at most Policy.MaxBody bytes of the answer's body.
	Body []byte
	// Truncated says the body went on past the cap.
	Truncated bool
}

// NewClient returns a client enforcing p.
func NewClient(p Policy) *Client {
	d := newDialer(p)
	t := p.timeout()
	return &Client{policy: p, dialer: d, http: &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would be what is dialled, and checked
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true, // a custom DialContext turns it off otherwise
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   t,
			ResponseHeaderTimeout: t,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		// The first answer is the answer: following a redirect would let
		// a public receiver send us to an internal one, and re-post the
		// body (and its signature) to a third party.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       t,
	}}
}

// Do sends req and reads the answer's body up to the cap. A URL or an
// address the policy refuses is a *RefusedError, and nothing is sent.
// Other errors (network, timeout) name the URL without its path. When the
// answer's headers came but its body failed to read, the Response holds
// the status and headers, and the error says what failed.
func (c *Client) Do(req *http.Request) (Response, error) {
	if req.URL == nil {
		return Response{}, errors.New("notification request without a URL")
	}
	if err := c.policy.checkURL(req.URL); err != nil {
		return Response{}, err
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, c.sendError(req, err)
	}
	defer resp.Body.Close()
	max := c.policy.maxBody()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if int64(len(body)) > max {
		out.Body, out.Truncated = body[:max], true
	}
	if err != nil {
		return out, fmt.Errorf("%s %s: read the answer's body: %w", req.Method, redact(req.URL), unwrapURL(err))
	}
	return out, nil
}

// sendError turns the http.Client's error into ours: a refusal by the
// dialer becomes a RefusedError, anything else keeps its cause (timeouts
// stay net.Error timeouts) without the URL's path, which url.Error quotes.
func (c *Client) sendError(req *http.Request, err error) error {
	var r *dialRefusal
	if errors.As(err, &r) {
		reason := r.reason
		if r.ip.IsValid() {
			reason = fmt.Sprintf("%s is %s", r.ip, r.reason)
			if _, literal, _ := literalIP(req.URL.Hostname()); !literal {
				reason = fmt.Sprintf("%s resolves to %s, %s", req.URL.Hostname(), r.ip, r.reason)
			}
		}
		return &RefusedError{URL: redact(req.URL), Reason: reason}
	}
	return fmt.Errorf("%s %s: %w", req.Method, redact(req.URL), unwrapURL(err))
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// IsTimeout reports whether err is a request that ran out of time.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Dial connects to addr ("host:port") as the HTTP transport does: the
// address dialled is checked, unless host:port is allowed. For other
// protocols that must not reach internal hosts (SMTP).
func (c *Client) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return c.dialer.DialContext(ctx, network, addr)
}
