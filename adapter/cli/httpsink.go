package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// httpSink posts a plan to POST /api/metrics of a running Pulse:
// concurrency requests in flight, each a JSON array of batch samples
// {name, value, tags, ts} with ts in Unix milliseconds. 429, 503 (and 408,
// 502, 504) are retried after their Retry-After, the same body again,
// until the server takes it; a connection that fails is retried with
// backoff; any other answer stops the run with what the server said.
type httpSink struct {
	url, token         string
	batch, concurrency int
	client             *http.Client
	// warn reports a retry (rate limited at one line per retryLogEvery).
	warn func(format string, args ...any)
	// retryBound is how long one batch may keep being refused or fail
	// to connect before the run gives up (default sinkRetryBound).
	retryBound time.Duration
}

// sinkRetryBound bounds the retries of one batch.
const sinkRetryBound = 5 * time.Minute

// retryLogEvery bounds how often a retry is reported.
const retryLogEvery = 2 * time.Second

// maxRetryAfter caps a server's Retry-After.
const maxRetryAfter = time.Minute

func newTransport(concurrency int) *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
		// A small JSON answer per request: compression would only cost.
		DisableCompression:    true,
		ResponseHeaderTimeout: 2 * time.Minute,
		ForceAttemptHTTP2:     true,
	}
}

// job is one batch and the index of its first sample in the plan.
type job struct {
	first  int64
	inputs []metric.Input
}

// send posts the whole plan and returns the samples the server accepted.
func (s *httpSink) send(ctx context.Context, plan synth.Plan, progress func(done int64)) (int64, error) {
	if s.retryBound <= 0 {
		s.retryBound = sinkRetryBound
	}
	enc := newEncoder(plan)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done     atomic.Int64
		firstErr error
		errOnce  sync.Once
		progMu   sync.Mutex
		lastWarn atomic.Int64
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err; cancel() }) }
	warn := func(format string, args ...any) {
		now := time.Now().UnixNano()
		if last := lastWarn.Load(); now-last >= int64(retryLogEvery) && lastWarn.CompareAndSwap(last, now) && s.warn != nil {
			s.warn(format, args...)
		}
	}
	jobs := make(chan job, s.concurrency)
	var wg sync.WaitGroup
	for range s.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drain: Generate is told through emit
				}
				buf = enc.encode(buf[:0], j.first, j.inputs)
				if err := s.post(ctx, buf, len(j.inputs), warn); err != nil {
					fail(err)
					continue
				}
				n := done.Add(int64(len(j.inputs)))
				if progress != nil {
					progMu.Lock()
					progress(n)
					progMu.Unlock()
				}
			}
		}()
	}
	var next int64
	genErr := plan.Generate(s.batch, func(in []metric.Input) error {
		select {
		case jobs <- job{first: next, inputs: in}:
			next += int64(len(in))
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return done.Load(), firstErr
	}
	if genErr != nil {
		return done.Load(), genErr
	}
	return done.Load(), nil
}

// post sends one body until the server accepts it, and checks that it
// accepted every sample.
func (s *httpSink) post(ctx context.Context, body []byte, n int, warn func(string, ...any)) error {
	delay := 100 * time.Millisecond
	var refusedSince time.Time
	for attempt := 1; ; attempt++ {
		wait, err := s.postOnce(ctx, body, n)
		if err == nil {
			return nil
		}
		var re *retryable
		if !errors.As(err, &re) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if refusedSince.IsZero() {
			refusedSince = time.Now()
		} else if time.Since(refusedSince) > s.retryBound {
			return fmt.Errorf("%v, for %s: giving up (the batch of %d samples was not accepted)", re.err, s.retryBound.Round(time.Second), n)
		}
		if wait <= 0 {
			wait = delay
			delay = min(delay*2, 5*time.Second)
		}
		warn("%v: retrying in %s (attempt %d)", re.err, wait.Round(time.Millisecond), attempt+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// retryable wraps a failure that the same request may overcome later.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }

// postOnce sends body once. A retryable failure comes back as *retryable
// with the server's Retry-After (0 when it named none).
func (s *httpSink) postOnce(ctx context.Context, body []byte, n int) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Token", s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		// The outcome is unknown; a resend is stored once (one value per
		// series and millisecond, the first wins).
		return 0, &retryable{fmt.Errorf("POST %s: %w", s.url, err)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusAccepted:
		var got struct {
			Accepted *int `json:"accepted"`
		}
		if err := json.Unmarshal(answer, &got); err != nil || got.Accepted == nil {
			return 0, fmt.Errorf("POST %s: 202 with an unexpected body: %s", s.url, truncate(answer))
		}
		if *got.Accepted != n {
			return 0, fmt.Errorf("POST %s: the server accepted %d of %d samples: %s", s.url, *got.Accepted, n, truncate(answer))
		}
		return 0, nil
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusRequestTimeout, http.StatusBadGateway, http.StatusGatewayTimeout:
		return retryAfter(resp.Header.Get("Retry-After")), &retryable{fmt.Errorf("server answered %s", resp.Status)}
	case http.StatusUnauthorized:
		return 0, fmt.Errorf("the server refused the token (%s): check --token: %s", resp.Status, truncate(answer))
	case http.StatusForbidden:
		return 0, fmt.Errorf("forbidden (%s): the token needs the ingest scope and an enabled tenant: %s", resp.Status, truncate(answer))
	case http.StatusRequestEntityTooLarge:
		return 0, fmt.Errorf("the server refused a request of %d samples, %d bytes (%s): lower --batch: %s", n, len(body), resp.Status, truncate(answer))
	case http.StatusNotFound:
		return 0, fmt.Errorf("POST %s: %s: is --url the base URL of a Pulse (e.g. http://localhost:8080)?", s.url, resp.Status)
	default:
		return 0, fmt.Errorf("the server refused a batch (%s): %s", resp.Status, truncate(answer))
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil {
		return min(max(time.Duration(secs)*time.Second, 0), maxRetryAfter)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}

func truncate(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// encoder writes samples as the JSON of the ingest contract with the
// parts that repeat (the name, each series' tags) encoded once.
type encoder struct {
	head   []byte           // {"name":"…","value":
	tails  [][]byte         // per series: ,"tags":{…},"ts":
	series []unsafeMapIdent // per series: the identity of its tags map
}

// unsafeMapIdent identifies a map by its pointer (Generate hands every
// sample of a series the same map).
type unsafeMapIdent = uintptr

func newEncoder(plan synth.Plan) *encoder {
	name, _ := json.Marshal(plan.Spec.Name)
	e := &encoder{head: append(append([]byte(`{"name":`), name...), `,"value":`...)}
	for _, tags := range plan.Series {
		e.tails = append(e.tails, appendTail(nil, tags))
		e.series = append(e.series, mapIdent(tags))
	}
	return e
}

func mapIdent(m map[string]string) unsafeMapIdent { return reflect.ValueOf(m).Pointer() }

// appendTail writes ,"tags":{…},"ts": with the keys in order.
func appendTail(b []byte, tags map[string]string) []byte {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, `,"tags":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(tags[k])
		b = append(append(append(b, kj...), ':'), vj...)
	}
	return append(b, `},"ts":`...)
}

// encode appends the JSON array of in, whose first sample is the plan's
// sample number first (samples go series by series at each instant).
func (e *encoder) encode(b []byte, first int64, in []metric.Input) []byte {
	b = append(b, '[')
	n := int64(len(e.tails))
	for i := range in {
		if i > 0 {
			b = append(b, ',')
		}
		s := &in[i]
		b = append(b, e.head...)
		b = strconv.AppendFloat(b, s.Value, 'g', -1, 64)
		j := (first + int64(i)) % n
		if mapIdent(s.Tags) == e.series[j] {
			b = append(b, e.tails[j]...)
		} else { // not in the order assumed: encode its own tags
			b = appendTail(b, s.Tags)
		}
		b = appendTS(b, s.TS)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendTS writes ts in Unix milliseconds; before 1973 (below 1e11 ms,
// which the server would read as seconds) as an RFC 3339 string.
func appendTS(b []byte, ts time.Time) []byte {
	ms := ts.UnixMilli()
	if ms >= 1e11 {
		return strconv.AppendInt(b, ms, 10)
	}
	b = append(b, '"')
	b = time.UnixMilli(ms).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '"')
}
