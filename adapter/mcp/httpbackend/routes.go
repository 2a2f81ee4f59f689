package httpbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pulsemetrics/pulse/adapter/mcp"
	"github.com/pulsemetrics/pulse/domain/metric"
)

var _ mcp.Backend = (*Client)(nil)

// wireSample is a sample as POST /api/metrics takes it; ts in Unix ms.
type wireSample struct {
	Name  string            `json:"name"`
	Value float64           `json:"value"`
	Tags  map[string]string `json:"tags,omitempty"`
	TS    int64             `json:"ts"`
}

// Ingest posts the samples as one request, waiting out 429 and 503
// (Retry-After, within MaxWait); a 413 splits the batch in two.
func (c *Client) Ingest(ctx context.Context, samples []metric.Input) (int, error) {
	wire := make([]wireSample, len(samples))
	for i, s := range samples {
		wire[i] = wireSample{Name: s.Name, Value: s.Value, Tags: s.Tags, TS: s.TS.UnixMilli()}
	}
	return c.ingest(ctx, wire)
}

func (c *Client) ingest(ctx context.Context, wire []wireSample) (int, error) {
	body, err := json.Marshal(wire)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(c.MaxWait)
	for {
		_, data, err := c.call(ctx, http.MethodPost, "/api/metrics", nil, body, true, http.StatusAccepted)
		if ae, ok := err.(*APIError); ok && ae.Status == http.StatusRequestEntityTooLarge && len(wire) > 1 {
			a, err := c.ingest(ctx, wire[:len(wire)/2])
			if err != nil {
				return a, err
			}
			b, err := c.ingest(ctx, wire[len(wire)/2:])
			return a + b, err
		}
		if ae, ok := retryable(err); ok {
			wait := max(ae.RetryAfter, time.Second)
			if time.Now().Add(wait).After(deadline) {
				return 0, fmt.Errorf("%w; gave up after waiting %s", err, c.MaxWait)
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(wait):
				continue
			}
		}
		if err != nil {
			return 0, err
		}
		var ans struct {
			Accepted int `json:"accepted"`
		}
		return ans.Accepted, decode("/api/metrics", data, &ans)
	}
}

// Query reads one page of GET /api/metrics/query.
func (c *Client) Query(ctx context.Context, q mcp.Query) (mcp.QueryPage, error) {
	v := url.Values{"name": {q.Name}}
	if !q.Start.IsZero() {
		v.Set("start", strconv.FormatInt(q.Start.UnixMilli(), 10))
	}
	if !q.End.IsZero() {
		v.Set("end", strconv.FormatInt(q.End.UnixMilli(), 10))
	}
	setIf(v, "interval", q.Interval)
	setIf(v, "agg", q.Agg)
	setIf(v, "cursor", q.Cursor)
	if q.MaxPoints > 0 {
		v.Set("max_points", strconv.Itoa(q.MaxPoints))
	}
	for k, val := range q.Tags {
		v.Set("tag."+k, val)
	}
	var page mcp.QueryPage
	return page, c.getJSON(ctx, "/api/metrics/query", v, &page)
}

// Names reads GET /api/metrics/names.
func (c *Client) Names(ctx context.Context, prefix string, limit int) (mcp.Names, error) {
	v := url.Values{}
	setIf(v, "prefix", prefix)
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var n mcp.Names
	return n, c.getJSON(ctx, "/api/metrics/names", v, &n)
}

// AlertRules reads a page of GET /api/alert-rules as it came.
func (c *Client) AlertRules(ctx context.Context, page, perPage int) (json.RawMessage, error) {
	v := url.Values{}
	if page > 0 {
		v.Set("page", strconv.Itoa(page))
	}
	if perPage > 0 {
		v.Set("per_page", strconv.Itoa(perPage))
	}
	var raw json.RawMessage
	return raw, c.getJSON(ctx, "/api/alert-rules", v, &raw)
}

// Alerts reads GET /api/alerts as it came.
func (c *Client) Alerts(ctx context.Context, f mcp.AlertFilter) (json.RawMessage, error) {
	v := url.Values{}
	setIf(v, "state", f.State)
	setIf(v, "cursor", f.Cursor)
	if f.RuleID > 0 {
		v.Set("rule_id", strconv.FormatInt(f.RuleID, 10))
	}
	var raw json.RawMessage
	return raw, c.getJSON(ctx, "/api/alerts", v, &raw)
}

// CreateAlertRule posts the rule and returns the stored one.
func (c *Client) CreateAlertRule(ctx context.Context, rule json.RawMessage) (json.RawMessage, error) {
	_, data, err := c.call(ctx, http.MethodPost, "/api/alert-rules", nil, rule, true, http.StatusCreated, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	return raw, decode("/api/alert-rules", data, &raw)
}

// Readiness reads /readyz (anonymous); 503 is an answer too.
func (c *Client) Readiness(ctx context.Context) (mcp.Readiness, error) {
	var r mcp.Readiness
	_, data, err := c.call(ctx, http.MethodGet, "/readyz", nil, nil, false, http.StatusOK, http.StatusServiceUnavailable)
	if err != nil {
		return r, err
	}
	return r, decode("/readyz", data, &r)
}

// Figures reads the anonymous /metrics: a tenant token there is refused
// (403: per-tenant series are a platform token's), anonymous is not.
func (c *Client) Figures(ctx context.Context) (map[string]float64, error) {
	_, data, err := c.call(ctx, http.MethodGet, "/metrics", nil, nil, false, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return parseExposition(data), nil
}

func setIf(v url.Values, key, val string) {
	if val != "" {
		v.Set(key, val)
	}
}
