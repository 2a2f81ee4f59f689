package api_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

func TestIngestAccepted(t *testing.T) {
	minuteAgo := testNow.Add(-time.Minute)
	tests := []struct {
		name  string
		body  string
		want  int
		check func(t *testing.T, got []metric.Sample)
	}{
		{
			name: "single sample",
			body: `{"name":"cpu.load","value":0.42,"tags":{"host":"a"},"ts":"2026-11-25T09:59:00Z","dedupe_id":"d1"}`,
			want: 1,
			check: func(t *testing.T, got []metric.Sample) {
				s := got[0]
				if s.Name() != "cpu.load" || s.Value() != 0.42 || s.DedupeID() != "d1" || s.TimestampMillis() != minuteAgo.UnixMilli() {
					t.Errorf("sample = %s %v %q %d", s.Name(), s.Value(), s.DedupeID(), s.TimestampMillis())
				}
				if tags := s.Tags().Map(); len(tags) != 1 || tags["host"] != "a" {
					t.Errorf("tags = %v", tags)
				}
			},
		},
		{
			name: "bulk array",
			body: `[{"name":"a","value":1},{"name":"b","value":-2.5e3,"tags":{"x":"1","y":"2"}},{"name":"c:d-e_f","value":0}]`,
			want: 3,
			check: func(t *testing.T, got []metric.Sample) {
				if got[1].Value() != -2500 || len(got[1].Tags()) != 2 || got[2].Name() != "c:d-e_f" {
					t.Errorf("samples = %+v", got)
				}
			},
		},
		{
			name: "absent ts takes the server clock",
			body: `{"name":"a","value":1}`,
			want: 1,
			check: func(t *testing.T, got []metric.Sample) {
				if got[0].TimestampMillis() != testNow.UnixMilli() {
					t.Errorf("ts = %d, want %d", got[0].TimestampMillis(), testNow.UnixMilli())
				}
			},
		},
		{
			name: "ts null is absent",
			body: `{"name":"a","value":1,"ts":null,"tags":null}`,
			want: 1,
		},
		{
			name: "unknown fields and nested junk are ignored",
			body: `{"name":"a","value":1,"extra":{"deep":[1,2,{"x":null}]},"Unit":"s"}`,
			want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.post(tt.body)
			if a.status != http.StatusAccepted {
				t.Fatalf("status = %d, want 202; body %s", a.status, a.body)
			}
			m := a.json(t)
			if m["request_id"] != "req-1" || m["accepted"] != float64(tt.want) {
				t.Errorf("answer = %v", m)
			}
			got := e.queue.samples()
			if len(got) != tt.want {
				t.Fatalf("enqueued %d samples, want %d", len(got), tt.want)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestIngestTimestampForms(t *testing.T) {
	base := testNow.Add(-90 * time.Second) // 09:58:30
	tests := []struct {
		name string
		ts   string
		want time.Time
	}{
		{"unix seconds", fmt.Sprintf("%d", base.Unix()), base},
		{"fractional seconds", fmt.Sprintf("%d.25", base.Unix()), base.Add(250 * time.Millisecond)},
		{"seconds with exponent", fmt.Sprintf("%.9e", float64(base.Unix())), base},
		{"unix milliseconds", fmt.Sprintf("%d", base.UnixMilli()+7), base.Add(7 * time.Millisecond)},
		{"rfc3339 utc", `"2026-11-25T09:58:30Z"`, base},
		{"rfc3339 with fraction", `"2026-11-25T09:58:30.123Z"`, base.Add(123 * time.Millisecond)},
		{"rfc3339 with offset", `"2026-11-25T10:58:30+01:00"`, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.post(`{"name":"a","value":1,"ts":` + tt.ts + `}`)
			if a.status != http.StatusAccepted {
				t.Fatalf("status = %d; body %s", a.status, a.body)
			}
			if got := e.queue.samples()[0].TimestampMillis(); got != tt.want.UnixMilli() {
				t.Errorf("ts = %d (%s), want %d (%s)", got, time.UnixMilli(got).UTC(), tt.want.UnixMilli(), tt.want)
			}
		})
	}
}

func TestIngestTenantComesFromToken(t *testing.T) {
	e := newEnv(t)
	a := e.post(`[{"name":"a","value":1,"tenant_id":99,"tenant":"other"},{"name":"b","value":2,"TenantID":99}]`)
	if a.status != http.StatusAccepted {
		t.Fatalf("status = %d; body %s", a.status, a.body)
	}
	if got := e.queue.tenants(); len(got) != 1 || got[0] != tenantID {
		t.Errorf("enqueued for tenants %v, want [%d]", got, tenantID)
	}
}

func TestIngestGzip(t *testing.T) {
	e := newEnv(t)
	body := gzipped(t, []byte(`[{"name":"a","value":1},{"name":"b","value":2}]`))
	a := e.do(http.MethodPost, "/api/metrics", ingestToken, bytes.NewReader(body), "Content-Encoding", "gzip")
	if a.status != http.StatusAccepted {
		t.Fatalf("status = %d; body %s", a.status, a.body)
	}
	if n := len(e.queue.samples()); n != 2 {
		t.Errorf("enqueued %d, want 2", n)
	}
}

type wantErr struct {
	index int
	field string
}

func TestIngestInvalid(t *testing.T) {
	long := strings.Repeat("a", 201)
	future := testNow.Add(11 * time.Minute).Format(time.RFC3339)
	old := testNow.Add(-31 * 24 * time.Hour).Format(time.RFC3339)
	tests := []struct {
		name   string
		body   string
		want   []wantErr
		msgHas string // in the first field error's message
	}{
		{"value as string", `{"name":"a","value":"0.5"}`, []wantErr{{0, "value"}}, "not a string"},
		{"value null", `{"name":"a","value":null}`, []wantErr{{0, "value"}}, "required"},
		{"value missing", `{"name":"a"}`, []wantErr{{0, "value"}}, "required"},
		{"value boolean", `{"name":"a","value":true}`, []wantErr{{0, "value"}}, "boolean"},
		{"value NaN literal", `[{"name":"a","value":1},{"name":"b","value":NaN}]`, []wantErr{{1, "value"}}, "finite"},
		{"value -Infinity literal", `{"name":"a","value":-Infinity}`, []wantErr{{0, "value"}}, "finite"},
		{"value out of float range", `{"name":"a","value":1e400}`, []wantErr{{0, "value"}}, "out of range"},
		{"name empty", `{"name":"","value":1}`, []wantErr{{0, "name"}}, "required"},
		{"name bad charset", `{"name":"cpu load","value":1}`, []wantErr{{0, "name"}}, "must match"},
		{"name leading digit", `{"name":"9cpu","value":1}`, []wantErr{{0, "name"}}, "must match"},
		{"name too long", `{"name":"` + long + `","value":1}`, []wantErr{{0, "name"}}, "200"},
		{"name not a string", `{"name":5,"value":1}`, []wantErr{{0, "name"}}, "must be a string"},
		{"ts malformed string", `{"name":"a","value":1,"ts":"yesterday"}`, []wantErr{{0, "ts"}}, "RFC 3339"},
		{"ts impossible date", `{"name":"a","value":1,"ts":"2026-13-45T00:00:00Z"}`, []wantErr{{0, "ts"}}, "RFC 3339"},
		{"ts boolean", `{"name":"a","value":1,"ts":true}`, []wantErr{{0, "ts"}}, "boolean"},
		{"ts numeric string", `{"name":"a","value":1,"ts":"1700000000"}`, []wantErr{{0, "ts"}}, "RFC 3339"},
		{"ts absurd number", `{"name":"a","value":1,"ts":1e300}`, []wantErr{{0, "ts"}}, "out of range"},
		{"ts too far in the future", `{"name":"a","value":1,"ts":"` + future + `"}`, []wantErr{{0, "ts"}}, "future"},
		{"ts older than retention", `{"name":"a","value":1,"ts":"` + old + `"}`, []wantErr{{0, "ts"}}, "retention"},
		{"tags not an object", `{"name":"a","value":1,"tags":"host=a"}`, []wantErr{{0, "tags"}}, "object"},
		{"tags an array", `{"name":"a","value":1,"tags":["host"]}`, []wantErr{{0, "tags"}}, "object"},
		{"tag value not a string", `{"name":"a","value":1,"tags":{"host":1,"ok":"y"}}`, []wantErr{{0, "tags.host"}}, "string"},
		{"tag key bad", `{"name":"a","value":1,"tags":{"bad key":"x"}}`, []wantErr{{0, "tags.bad key"}}, "must match"},
		{"dedupe_id not a string", `{"name":"a","value":1,"dedupe_id":5}`, []wantErr{{0, "dedupe_id"}}, "string"},
		{"sample not an object", `[1,{"name":"a","value":1}]`, []wantErr{{0, "sample"}}, "object"},
		{
			"every bad sample and field is listed",
			`[{"name":"a","value":"x"},{"name":"ok","value":1},{"name":"b c","value":2},{"name":"d","value":3,"ts":"soon"},{"name":"","value":NaN,"tags":{"k":[]}}]`,
			[]wantErr{{0, "value"}, {2, "name"}, {3, "ts"}, {4, "name"}, {4, "value"}, {4, "tags.k"}},
			"",
		},
		{"malformed JSON: truncated", `[{"name":"a","value":1}`, []wantErr{{0, "body"}}, "malformed JSON"},
		{"malformed JSON: object cut", `{"name":`, []wantErr{{0, "body"}}, "malformed JSON"},
		{"malformed JSON: trailing data", `{"name":"a","value":1} x`, []wantErr{{0, "body"}}, "malformed JSON"},
		{"malformed JSON: missing comma", `[{"name":"a","value":1} {"name":"b","value":1}]`, []wantErr{{0, "body"}}, "malformed JSON"},
		{"not JSON", `hello`, []wantErr{{0, "body"}}, "object"},
		{"a bare number", `42`, []wantErr{{0, "body"}}, "object"},
		{"empty body", ``, []wantErr{{0, "body"}}, "empty"},
		{"empty array", `[]`, []wantErr{{0, "body"}}, "no samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.post(tt.body)
			if a.status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422; body %s", a.status, a.body)
			}
			if msg, _ := a.json(t)["error"].(string); msg == "" {
				t.Errorf("no error message: %s", a.body)
			}
			got := a.fieldErrors(t)
			if len(got) != len(tt.want) {
				t.Fatalf("errors = %+v, want %v", got, tt.want)
			}
			for _, w := range tt.want {
				if !hasFieldError(got, w) {
					t.Errorf("missing error %v in %+v", w, got)
				}
			}
			if tt.msgHas != "" && !strings.Contains(got[0].Message, tt.msgHas) {
				t.Errorf("message %q does not mention %q", got[0].Message, tt.msgHas)
			}
			if n := len(e.queue.samples()); n != 0 {
				t.Errorf("enqueued %d samples on a 422", n)
			}
		})
	}
}

func hasFieldError(got []metric.FieldError, w wantErr) bool {
	for _, g := range got {
		if g.Index == w.index && g.Field == w.field && g.Message != "" {
			return true
		}
	}
	return false
}

func TestIngestLimits(t *testing.T) {
	bomb := gzipped(t, make([]byte, 10<<20)) // 10 MiB of zeros, ~10 KiB on the wire
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	noisyGzip := gzipped(t, noise) // incompressible: > 1 KiB on the wire
	fourSamples := `[{"name":"a","value":1},{"name":"a","value":1},{"name":"a","value":1},{"name":"a","value":1}]`
	small := func(d *api.Deps) { d.Limits = api.Limits{MaxBodyBytes: 1024, MaxSamples: 3} }

	tests := []struct {
		name   string
		mod    func(*api.Deps)
		body   io.Reader
		hdr    []string
		status int
		limit  string
		max    float64
	}{
		{"body over the default 5 MiB", nil, bytes.NewReader(make([]byte, 5<<20+1)), nil, 413, "max_body_bytes", 5 << 20},
		{"body over a configured limit", small, strings.NewReader(`[` + strings.Repeat(" ", 2000) + `]`), nil, 413, "max_body_bytes", 1024},
		{"body of unknown length over the limit", small, io.MultiReader(strings.NewReader(strings.Repeat(" ", 2000))), nil, 413, "max_body_bytes", 1024},
		{"gzip bomb", nil, bytes.NewReader(bomb), []string{"Content-Encoding", "gzip"}, 413, "max_decoded_bytes", 5 << 20},
		{"gzip over the wire limit", small, bytes.NewReader(noisyGzip), []string{"Content-Encoding", "gzip"}, 413, "max_body_bytes", 1024},
		{"more samples than allowed", small, strings.NewReader(fourSamples), nil, 413, "samples_per_request", 3},
		{"more samples than allowed, slow path", small, strings.NewReader(strings.Replace(fourSamples, "1", "NaN", 1)), nil, 413, "samples_per_request", 3},
		{"decoded limit separately configurable", func(d *api.Deps) { d.Limits.MaxDecodedBytes = 50 },
			bytes.NewReader(gzipped(t, []byte(fourSamples))), []string{"Content-Encoding", "gzip"}, 413, "max_decoded_bytes", 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*api.Deps)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			e := newEnv(t, mods...)
			a := e.do(http.MethodPost, "/api/metrics", ingestToken, tt.body, tt.hdr...)
			if a.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", a.status, tt.status, a.body)
			}
			m := a.json(t)
			if m["limit"] != tt.limit || m["max"] != tt.max {
				t.Errorf("answer = %v, want limit %s max %v", m, tt.limit, tt.max)
			}
			if msg, _ := m["error"].(string); !strings.Contains(msg, fmt.Sprintf("%s=%d", tt.limit, int64(tt.max))) {
				t.Errorf("message %q does not name the limit", msg)
			}
			if n := len(e.queue.samples()); n != 0 {
				t.Errorf("enqueued %d samples", n)
			}
		})
	}
}

func TestIngestErrorMapping(t *testing.T) {
	tests := []struct {
		name     string
		tok      string
		queueErr error
		hdr      []string
		body     string
		status   int
		errHas   string
		retry    string
	}{
		{name: "missing token", tok: "", status: 401, errHas: "token"},
		{name: "unknown token", tok: "pulse_nope", status: 401, errHas: "token"},
		{name: "revoked token", tok: revokedToken, status: 401, errHas: "token"},
		{name: "token without ingest scope", tok: readToken, status: 403, errHas: "scope"},
		{name: "token of a deleted tenant", tok: orphanToken, status: 404, errHas: "tenant"},
		{name: "queue behind", tok: ingestToken, queueErr: fmt.Errorf("enqueue: %w", ingest.ErrBackpressure), status: 503, errHas: "retry", retry: "1"},
		{name: "queue down", tok: ingestToken, queueErr: errSecretDB, status: 503, errHas: "queue is unavailable", retry: "5"},
		{name: "token store down", tok: downToken, status: 503, errHas: "database is unavailable", retry: "5"},
		{name: "token store stalled past the deadline", tok: slowToken, status: 503, errHas: "in time", retry: "5"},
		{name: "an unmarked internal failure (a bug)", tok: brokenToken, status: 500, errHas: "internal server error"},
		{name: "corrupt gzip", tok: ingestToken, hdr: []string{"Content-Encoding", "gzip"}, body: "not gzip at all", status: 400, errHas: "gzip"},
		{name: "unsupported encoding", tok: ingestToken, hdr: []string{"Content-Encoding", "br"}, status: 415, errHas: "Content-Encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.queue.err = tt.queueErr
			body := tt.body
			if body == "" {
				body = `{"name":"a","value":1}`
			}
			a := e.do(http.MethodPost, "/api/metrics", tt.tok, strings.NewReader(body), tt.hdr...)
			if a.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", a.status, tt.status, a.body)
			}
			if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			msg, _ := a.json(t)["error"].(string)
			if !strings.Contains(msg, tt.errHas) {
				t.Errorf("error %q does not contain %q", msg, tt.errHas)
			}
			if strings.Contains(string(a.body), "secret") || strings.Contains(string(a.body), "10.0.0.5") {
				t.Errorf("internal detail leaked: %s", a.body)
			}
			if got := a.header.Get("Retry-After"); got != tt.retry {
				t.Errorf("Retry-After = %q, want %q", got, tt.retry)
			}
			if tt.status == 500 && !strings.Contains(e.logs.String(), "secret-db-password") {
				t.Errorf("internal error not logged: %s", e.logs.String())
			}
		})
	}
}

func TestLogsNeverHoldTheToken(t *testing.T) {
	e := newEnv(t)
	e.post(`{"name":"a","value":1}`)
	e.post(`{"name":"a","value":"x"}`)
	logs := e.logs.String()
	if strings.Contains(logs, ingestToken) {
		t.Errorf("token in logs:\n%s", logs)
	}
	for _, want := range []string{"method=POST", "path=/api/metrics", "status=202", "status=422", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
