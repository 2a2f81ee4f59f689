package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/egress"
)

// MaxResultBody caps the answer's body kept in a Result: enough for the
// receiver's error message in the UI.
const MaxResultBody = 1024

// MaxRetryAfter bounds a receiver's Retry-After: an alert delayed longer
// is stale, and a hostile or broken receiver must not park a delivery for
// days (the use case's own retry budget decides the rest).
const MaxRetryAfter = time.Hour

// Sender delivers signed webhook messages through the egress client.
type Sender struct {
	Client *egress.Client
	// Now stamps the signature; nil means time.Now.
	Now func() time.Time
}

// NewSender returns a Sender posting through c.
func NewSender(c *egress.Client) *Sender { return &Sender{Client: c} }

// Result is what an attempt came to, for the retry logic and the UI.
type Result struct {
	// Status is the receiver's HTTP status; 0 when none came back.
	Status int
	// Delivered: a 2xx.
	Delivered bool
	// Retryable: 408, 429, 5xx, or no answer (network error, timeout).
	// Neither Delivered nor Retryable is final: another 4xx (410 Gone
	// says the endpoint is no more), a 3xx (redirects are not followed, so
	// retrying changes nothing), or a URL the policy refuses.
	Retryable bool
	// RetryAfter is the receiver's Retry-After (seconds or HTTP date),
	// for a retryable answer; 0 when it gave none. At most MaxRetryAfter.
	RetryAfter time.Duration
	// Body is the start of the answer's body, valid UTF-8, for the UI.
	Body string
}

// Send posts body, signed with secret under the message id, to url. The
// error is non-nil when no answer came back: a refused URL
// (*egress.RefusedError, final), a network error or timeout (Retryable),
// or a secret or id that cannot sign (final). An answer, whatever its
// status, is a Result with a nil error.
func (s *Sender) Send(ctx context.Context, url, secret, id string, body []byte) (Result, error) {
	if s.Client == nil {
		return Result{}, errors.New("webhook sender without an egress client")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	h, err := Sign(secret, id, now(), body)
	if err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		// The parse error quotes the URL, whose path may be its secret.
		return Result{}, &egress.RefusedError{URL: "(unparsable)", Reason: "not a valid URL"}
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if resp.Status == 0 {
		var refused *egress.RefusedError
		if errors.As(err, &refused) {
			return Result{}, err
		}
		return Result{Retryable: true}, fmt.Errorf("webhook delivery: %w", err)
	}
	// With a status, the receiver has answered: a body that then failed to
	// read changes nothing about what it said.
	return Classify(resp, now()), nil
}

// Classify reads an answer as Send does (for receivers of unsigned
// posts, such as Slack's incoming webhooks).
func Classify(resp egress.Response, now time.Time) Result {
	r := Result{Status: resp.Status, Body: strings.ToValidUTF8(string(resp.Body[:min(len(resp.Body), MaxResultBody)]), "")}
	switch s := resp.Status; {
	case s >= 200 && s < 300:
		r.Delivered = true
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		r.Retryable = true
		r.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	}
	return r
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 10.2.3). Anything else, or a time already past, is 0.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if strings.Trim(v, "0123456789") == "" { // digits too many for uint64
		return MaxRetryAfter
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter)
}
