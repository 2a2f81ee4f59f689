// Package httpbackend is the MCP tools' Backend over a running Pulse's
// HTTP API, with one tenant token: what any API client could do, nothing
// more.
package httpbackend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAnswer bounds what one answer may hold in memory.
const maxAnswer = 64 << 20

// Client talks to Pulse at a base URL with a tenant token. It implements
// the adapter/mcp Backend.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	// MaxWait bounds how long one Ingest waits in all on 429/503
	// answers (their Retry-After) before giving up.
	MaxWait time.Duration
}

// New checks the base URL (http or https, with a host) and returns a
// client; a nil hc is a client with a 30 s timeout.
func New(base, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(base), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("PULSE_URL %q: want the base URL of a running Pulse, e.g. http://localhost:8080", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, token: token, http: hc, MaxWait: 2 * time.Minute}, nil
}

// URL is the base URL, for messages.
func (c *Client) URL() string { return c.base.String() }

// APIError is an answer Pulse gave other than the expected one.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
	Fields       []FieldError
	RetryAfter   time.Duration
}

// FieldError is one entry of a 422's errors list.
type FieldError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// shownFields is how many field errors a message lists.
const shownFields = 10

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Pulse answered %d %s to %s %s", e.Status, http.StatusText(e.Status), e.Method, e.Path)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for i, f := range e.Fields {
		if i == shownFields {
			fmt.Fprintf(&b, "; and %d more", len(e.Fields)-shownFields)
			break
		}
		fmt.Fprintf(&b, "; [%d] %s: %s", f.Index, f.Field, f.Message)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString(" (check PULSE_TOKEN: a tenant token from `pulse token create <tenant>`)")
	case http.StatusForbidden:
		b.WriteString(" (the token lacks the scope, or its tenant is disabled: create one with --scopes ingest,read,admin)")
	}
	return b.String()
}

// call sends one request; auth adds the token. It returns the status and
// body of any answer whose status is in want, else an *APIError.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body []byte, auth bool, want ...int) (int, []byte, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("User-Agent", "pulse-mcp")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("X-API-Token", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, fmt.Errorf("cannot reach Pulse at %s (is `pulse serve` running there? PULSE_URL sets the address): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading Pulse's answer to %s %s: %w", method, path, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp.StatusCode, data, nil
		}
	}
	return resp.StatusCode, data, apiError(method, path, resp, data)
}

func apiError(method, path string, resp *http.Response, data []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode}
	var body struct {
		Error  string       `json:"error"`
		Errors []FieldError `json:"errors"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Message, e.Fields = body.Error, body.Errors
	} else {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 300)]))
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// getJSON reads a tenant route's JSON answer into out (a *json.RawMessage
// keeps it as it came).
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	_, data, err := c.call(ctx, http.MethodGet, path, q, nil, true, http.StatusOK)
	if err != nil {
		return err
	}
	return decode(path, data, out)
}

func decode(path string, data []byte, out any) error {
	if raw, ok := out.(*json.RawMessage); ok {
		if !json.Valid(data) {
			return fmt.Errorf("Pulse's answer to %s is not JSON: %.200q", path, data)
		}
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("Pulse's answer to %s does not read as expected: %w", path, err)
	}
	return nil
}

// retryable says whether an error is a 429 or 503 worth waiting out.
func retryable(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable) {
		return ae, true
	}
	return nil, false
}
