//go:build chaos

package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The workload. Request i carries the samples k = i*perRequest …
// i*perRequest+perRequest-1; sample k is series host-(k % series) of the
// metric loadName, value k, at ts = base + (k / series) * stepMs. Every
// (series, ts) is distinct and every value names its sample, so the stored
// rows are compared with the accepted samples one by one.
const (
	loadName   = "chaos.load"
	perRequest = 100
	seriesN    = 50
	stepMs     = 10 // one series' samples are 10 ms apart
	// clientTimeout is longer than any allowed answer, so a request that
	// waits too long is measured, not cut short.
	clientTimeout = 30 * time.Second
	// retryAfterCap bounds how long a client honours Retry-After, so that
	// the time to recover is measured to about a second.
	retryAfterCap = time.Second
)

type workload struct{ baseMs int64 }

func newWorkload() workload {
	// An hour ago: well inside the default 30-day retention, never in the future.
	return workload{baseMs: time.Now().Add(-time.Hour).UnixMilli()}
}

func (w workload) host(k int64) string { return fmt.Sprintf("host-%02d", k%seriesN) }
func (w workload) ts(k int64) int64    { return w.baseMs + (k/seriesN)*stepMs }

func (w workload) body(i int64) []byte {
	var b bytes.Buffer
	b.Grow(perRequest * 80)
	b.WriteByte('[')
	for j := int64(0); j < perRequest; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		k := i*perRequest + j
		fmt.Fprintf(&b, `{"name":%q,"value":%d,"tags":{"host":%q},"ts":%d}`, loadName, k, w.host(k), w.ts(k))
	}
	b.WriteByte(']')
	return b.Bytes()
}

// outcome is what one request saw.
type outcome struct {
	req        int64
	start, end time.Time
	status     int    // 0: no HTTP answer
	retryAfter string // the Retry-After header, if any
	err        string // transport error or unexpected body, first 200 bytes
	timeout    bool   // the client gave up after clientTimeout
	accepted   int    // "accepted" of a 202
}

func (o outcome) latency() time.Duration { return o.end.Sub(o.start) }

// loader is N clients, each posting about rate requests per second, until stopped.
type loader struct {
	url, token string
	w          workload
	client     *http.Client

	next    atomic.Int64
	mu      sync.Mutex
	results []outcome
	stop    chan struct{}
	wg      sync.WaitGroup
	began   time.Time
}

func startLoad(url, token string, w workload, clients int, rate float64) *loader {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        clients * 2,
		MaxIdleConnsPerHost: clients * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	l := &loader{url: url, token: token, w: w, client: &http.Client{Timeout: clientTimeout, Transport: tr},
		stop: make(chan struct{}), began: time.Now()}
	interval := time.Duration(float64(time.Second) / rate)
	for c := 0; c < clients; c++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			// Spread the clients' first requests over one interval.
			next := time.Now().Add(interval * time.Duration(c) / time.Duration(clients))
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(time.Until(next)):
				}
				o := l.post(l.next.Add(1) - 1)
				l.mu.Lock()
				l.results = append(l.results, o)
				l.mu.Unlock()
				next = next.Add(interval)
				if now := time.Now(); next.Before(now) {
					next = now // late: go on at once, but never burst to catch up
				}
				if o.status == http.StatusServiceUnavailable && o.retryAfter != "" {
					wait := retryAfterCap
					if s, err := strconv.Atoi(o.retryAfter); err == nil && time.Duration(s)*time.Second < wait {
						wait = time.Duration(s) * time.Second
					}
					if at := time.Now().Add(wait); next.Before(at) {
						next = at
					}
				}
			}
		}()
	}
	return l
}

func (l *loader) post(i int64) outcome {
	o := outcome{req: i, start: time.Now()}
	req, _ := http.NewRequest(http.MethodPost, l.url, bytes.NewReader(l.w.body(i)))
	req.Header.Set("X-API-Token", l.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		o.end = time.Now()
		o.err = short(err.Error())
		var ne net.Error
		o.timeout = errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		return o
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	o.end = time.Now()
	o.status = resp.StatusCode
	o.retryAfter = resp.Header.Get("Retry-After")
	if rerr != nil {
		o.err = short("reading the answer: " + rerr.Error())
		return o
	}
	if o.status == http.StatusAccepted {
		// The 202 body names how many samples were accepted: all of them.
		var n int
		if _, err := fmt.Sscanf(afterKey(string(b), `"accepted":`), "%d", &n); err != nil || n != perRequest {
			o.err = short("202 body " + string(b))
		}
		o.accepted = n
	} else {
		o.err = short(strings.TrimSpace(string(b)))
	}
	return o
}

func afterKey(s, key string) string {
	if i := strings.Index(s, key); i >= 0 {
		return s[i+len(key):]
	}
	return ""
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// finish stops the clients and waits for the requests in flight.
func (l *loader) finish() []outcome {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]outcome(nil), l.results...)
	sort.Slice(out, func(a, b int) bool { return out[a].req < out[b].req })
	return out
}

// phase is a named time window of the run (before, during and after a fault).
type phase struct {
	name     string
	from, to time.Time
}

// loadFigures are the clients' side of a run.
type loadFigures struct {
	requests, ok, unavailable, unavailableNoRetryAfter, transport, timeouts, badBody int
	other                                                                            map[int]int
	p50, p99, max                                                                    time.Duration
	overDeadline                                                                     int
}

func summarise(os []outcome, deadline time.Duration) loadFigures {
	f := loadFigures{other: map[int]int{}}
	var lats []time.Duration
	for _, o := range os {
		f.requests++
		lats = append(lats, o.latency())
		if o.latency() > deadline {
			f.overDeadline++
		}
		switch {
		case o.status == 0:
			f.transport++
			if o.timeout {
				f.timeouts++
			}
		case o.status == http.StatusAccepted:
			f.ok++
			if o.err != "" {
				f.badBody++
			}
		case o.status == http.StatusServiceUnavailable:
			f.unavailable++
			if o.retryAfter == "" {
				f.unavailableNoRetryAfter++
			}
		default:
			f.other[o.status]++
		}
	}
	sort.Slice(lats, func(a, b int) bool { return lats[a] < lats[b] })
	if n := len(lats); n > 0 {
		f.p50 = lats[n/2]
		f.p99 = lats[min(n-1, n*99/100)]
		f.max = lats[n-1]
	}
	return f
}

func (f loadFigures) String() string {
	return fmt.Sprintf("requests=%d 202=%d 503=%d (without Retry-After %d) other=%v no-answer=%d (timeouts %d) bad-202-body=%d latency p50=%s p99=%s max=%s",
		f.requests, f.ok, f.unavailable, f.unavailableNoRetryAfter, f.other, f.transport, f.timeouts, f.badBody,
		f.p50.Round(time.Millisecond), f.p99.Round(time.Millisecond), f.max.Round(time.Millisecond))
}

// failures is what the clients saw that the specification forbids: any
// answer other than 202 and 503 + Retry-After, and no answer at all.
func (f loadFigures) failures() int {
	n := f.unavailableNoRetryAfter + f.transport + f.badBody
	for _, c := range f.other {
		n += c
	}
	return n
}

// inPhase is the outcomes of the requests that started within p.
func inPhase(os []outcome, p phase) []outcome {
	var out []outcome
	for _, o := range os {
		if !o.start.Before(p.from) && o.start.Before(p.to) {
			out = append(out, o)
		}
	}
	return out
}

// firstAcceptedAfter is how long after t the first request started at or
// after t was answered 202 (-1: none was).
func firstAcceptedAfter(os []outcome, t time.Time) time.Duration {
	best := time.Duration(-1)
	for _, o := range os {
		if o.status == http.StatusAccepted && !o.start.Before(t) {
			if d := o.end.Sub(t); best < 0 || d < best {
				best = d
			}
		}
	}
	return best
}

// describeErrors lists the first forbidden answers with their time in the run.
func describeErrors(os []outcome, began time.Time, deadline time.Duration, n int) []string {
	var out []string
	for _, o := range os {
		bad := ""
		switch {
		case o.status == 0:
			bad = "no answer: " + o.err
		case o.status == http.StatusAccepted && o.err != "":
			bad = o.err
		case o.status == http.StatusAccepted:
		case o.status == http.StatusServiceUnavailable && o.retryAfter != "":
		case o.status == http.StatusServiceUnavailable:
			bad = "503 without Retry-After: " + o.err
		default:
			bad = fmt.Sprintf("%d %s", o.status, o.err)
		}
		if bad == "" && o.latency() > deadline {
			bad = fmt.Sprintf("answered %d only after %s", o.status, o.latency().Round(time.Millisecond))
		}
		if bad != "" {
			out = append(out, fmt.Sprintf("request %d sent at +%.1fs, %s later: %s", o.req, o.start.Sub(began).Seconds(), o.latency().Round(time.Millisecond), bad))
			if len(out) == n {
				break
			}
		}
	}
	return out
}
