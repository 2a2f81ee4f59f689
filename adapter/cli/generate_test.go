package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// execute runs the command tree with args and returns stdout, stderr and
// the error main would print (and exit 1 for).
func execute(t *testing.T, deps Deps, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRoot(deps, &out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func TestGenerateFlagValidation(t *testing.T) {
	local := func(context.Context, string, synth.Plan, int, int, func(int64)) (int64, error) {
		t.Error("nothing should be written for bad flags")
		return 0, nil
	}
	deps := Deps{WriteLocal: local}
	ok := []string{"generate", "--tenant", "acme", "--name", "cpu", "--duration", "1m"}
	without := func(drop ...string) []string {
		var out []string
		for i := 0; i < len(ok); i++ {
			if i > 0 && contains(drop, ok[i]) {
				i++ // the flag's value
				continue
			}
			out = append(out, ok[i])
		}
		return out
	}
	cases := []struct {
		args []string
		want string
	}{
		{without("--name"), "--name is required"},
		{without("--duration"), "give the range: --duration D, --backfill D, or --from T --to T"},
		{append(ok, "--backfill", "1h"), "--duration and --backfill: give only one"},
		{append(without("--duration"), "--from", "2026-11-25T00:00:00Z"), "--from and --to go together"},
		{append(without("--duration"), "--to", "2026-11-25T00:00:00Z"), "--from and --to go together"},
		{append(without("--duration"), "--from", "yesterday", "--to", "2026-11-25T00:00:00Z"), `--from "yesterday": want an RFC 3339 time`},
		{append(without("--duration"), "--from", "2026-11-25T00:00:00Z", "--to", "2026-11-24T00:00:00Z"), "--to 2026-11-24T00:00:00Z is not after --from"},
		{append(ok, "--from", "2026-11-25T00:00:00Z", "--to", "2026-11-26T00:00:00Z"), "give only one of --duration, --backfill, or --from with --to"},
		{append(without("--duration"), "--duration", "-5m"), "--duration -5m0s: want a positive duration"},
		{append(without("--duration"), "--duration", "soon"), `invalid duration "soon"`},
		{append(ok, "--pattern", "zigzag"), `--pattern "zigzag": want one of`},
		{append(ok, "--every", "0s"), "--every 0s: want at least 1ms"},
		{append(ok, "--period", "0s"), "--period 0s: want"},
		{append(ok, "--amplitude", "-1"), "--amplitude -1: must not be negative"},
		{append(ok, "--tag", "host"), "--tag: tag template \"host\": want key=value"},
		{append(ok, "--tag", "host=web-{1..3"), "a { without its }"},
		{append(ok, "--tag", "host=a", "--tag", "host=b"), "the key host is given twice"},
		{append(without("--name"), "--name", "9lives"), "--name: "},
		{append(ok, "--batch", "0"), "--batch 0: want 1 to 100000"},
		{append(ok, "--concurrency", "0"), "--concurrency 0: want 1 to 64"},
		{append(ok, "--every", "1ms", "--backfill", "0s"), "give only one"},
		{append(without("--tenant"), "--url", "http://x", "--tenant", "acme"), "--tenant is for the local store"},
		{append(without("--tenant"), "--url", "http://x"), "--url needs --token"},
		{append(without("--tenant"), "--url", "localhost:8080", "--token", "t"), `--url "localhost:8080": want http://host:port`},
		{append(without("--tenant"), "--token", "t"), "--token goes with --url"},
		{without("--tenant"), "give a target: --url URL --token TOKEN (a running Pulse) or --tenant SLUG"},
		{append(ok, "extra"), `unexpected argument "extra": pulse generate takes flags only`},
		{append(ok, "--tag", "host=web-1", "host=web-2"), `unexpected argument "host=web-2": quote tag templates`},
		{append(ok, "--nope"), "unknown flag: --nope"},
		// 1e9 samples at most in one run: a year at 1 ms is far more.
		{append(without("--duration"), "--duration", "52w", "--every", "1ms"), "at most 1000000000 in one burst"},
	}
	for _, c := range cases {
		_, _, err := execute(t, deps, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args[1:], err, c.want)
		}
	}
	// Without a local writer, only --url works.
	if _, _, err := execute(t, Deps{}, ok...); err == nil || !strings.Contains(err.Error(), "cannot write into the local store") {
		t.Errorf("no WriteLocal: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestParseDays(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1w2d": 9 * 24 * time.Hour, "1d12h": 36 * time.Hour,
		"90m": 90 * time.Minute, "10s": 10 * time.Second, "168h": 168 * time.Hour,
	} {
		if got, err := parseDays(in); err != nil || got != want {
			t.Errorf("parseDays(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "7", "7x", "1d1d", "w", "-1d"} {
		if got, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) = %v, want an error", bad, got)
		}
	}
}

// The local target gets the plan the flags describe, the batch and the
// concurrency, and the summary line says what was written.
func TestGenerateLocalTarget(t *testing.T) {
	var got synth.Plan
	var gotTenant string
	var gotBatch, gotConc int
	deps := Deps{WriteLocal: func(_ context.Context, slug string, p synth.Plan, batch, conc int, progress func(int64)) (int64, error) {
		got, gotTenant, gotBatch, gotConc = p, slug, batch, conc
		progress(p.Samples())
		return p.Samples(), nil
	}}
	out, _, err := execute(t, deps, "generate", "--tenant", "acme", "--name", "temp", "--pattern", "random-walk", "--offset", "20",
		"--amplitude", "2", "--tag", "room={a,b}", "--tag", "floor={1..3}", "--from", "2026-11-25T00:00:00Z", "--to", "2026-11-25T01:00:00Z",
		"--every", "1m", "--seed", "7", "--batch", "100", "--concurrency", "2")
	if err != nil {
		t.Fatal(err)
	}
	if gotTenant != "acme" || gotBatch != 100 || gotConc != 2 {
		t.Errorf("tenant %q batch %d concurrency %d", gotTenant, gotBatch, gotConc)
	}
	s := got.Spec
	if s.Name != "temp" || s.Pattern != synth.RandomWalk || s.Offset != 20 || s.Amplitude != 2 || s.Seed != 7 || s.Every != time.Minute ||
		len(got.Series) != 6 || got.Samples() != 360 {
		t.Errorf("plan %+v (%d series, %d samples)", s, len(got.Series), got.Samples())
	}
	want := "generated 360 samples in 6 series (2026-11-25T00:00:00Z → 2026-11-25T01:00:00Z) at "
	if !strings.HasPrefix(out, want) || !strings.Contains(out, " samples/s in ") || strings.Count(out, "\n") != 1 {
		t.Errorf("summary %q, want one line starting %q", out, want)
	}

	// --duration and --backfill: the range [now-D, now).
	before := time.Now()
	if _, _, err := execute(t, deps, "generate", "--tenant", "acme", "--name", "temp", "--backfill", "2d", "--every", "1h"); err != nil {
		t.Fatal(err)
	}
	if d := got.Spec.End.Sub(got.Spec.Start); d != 48*time.Hour || got.Spec.End.Before(before.Truncate(time.Millisecond)) || got.Samples() != 48 {
		t.Errorf("--backfill 2d: %s → %s (%d samples)", got.Spec.Start, got.Spec.End, got.Samples())
	}
	// A failure says how far it got, and is an error (exit 1).
	deps.WriteLocal = func(context.Context, string, synth.Plan, int, int, func(int64)) (int64, error) {
		return 5000, fmt.Errorf("no tenant with the slug \"acme\"")
	}
	if _, _, err := execute(t, deps, "generate", "--tenant", "acme", "--name", "temp", "--duration", "1h"); err == nil ||
		!strings.Contains(err.Error(), `no tenant with the slug "acme" (5000 of 360 samples written)`) {
		t.Errorf("failure: %v", err)
	}
}

// fakePulse is POST /api/metrics: it decodes every body with the server's
// own decoder, refuses the first requests as told, and keeps every sample
// by series and ts.
type fakePulse struct {
	t        *testing.T
	mu       sync.Mutex
	refuse   []int // statuses answered to the first requests, in order
	requests int
	accepted map[string]metric.Input // series|ts → sample
	dups     int
	maxBatch int
	tokens   map[string]bool
}

func newFakePulse(t *testing.T, refuse ...int) *fakePulse {
	return &fakePulse{t: t, refuse: refuse, accepted: map[string]metric.Input{}, tokens: map[string]bool{}}
}

func seriesKey(name string, tags map[string]string, ts time.Time) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k+"="+tags[k])
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s{%s}|%d", name, strings.Join(keys, ","), ts.UnixMilli())
}

func (f *fakePulse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/metrics" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.tokens[r.Header.Get("X-API-Token")] = true
	if len(f.refuse) > 0 {
		status := f.refuse[0]
		f.refuse = f.refuse[1:]
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":"refused with %d"}`, status)
		return
	}
	inputs, bad, err := samplejson.Decode(body, 100_000)
	if err != nil || len(bad) > 0 {
		f.t.Errorf("the server's decoder refused the body: %v %v", err, bad)
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	f.maxBatch = max(f.maxBatch, len(inputs))
	for _, in := range inputs {
		if !in.HasTS || !in.HasValue {
			f.t.Errorf("sample without ts or value: %+v", in)
		}
		k := seriesKey(in.Name, in.Tags, in.TS)
		if _, seen := f.accepted[k]; seen {
			f.dups++
		}
		f.accepted[k] = in
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"request_id":"r%d","accepted":%d}`, f.requests, len(inputs))
}

func TestGenerateHTTPTarget(t *testing.T) {
	// Two 503s and a 429 with Retry-After: 1 first, then everything is taken.
	fake := newFakePulse(t, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusServiceUnavailable)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	args := []string{"generate", "--url", srv.URL + "/", "--token", "pulse_tok", "--name", "cpu.load", "--pattern", "sine",
		"--amplitude", "0.4", "--offset", "0.5", "--noise", "0.05", "--period", "10m", "--tag", "host=web-{1..7}", "--tag", "dc={eu,us}",
		"--from", "2026-11-25T00:00:00Z", "--to", "2026-11-25T01:00:00Z", "--every", "10s", "--seed", "3", "--batch", "333", "--concurrency", "3"}
	began := time.Now()
	out, errOut, err := execute(t, Deps{}, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if took := time.Since(began); took < time.Second {
		t.Errorf("took %s: the Retry-After of 1 s was not honoured", took)
	}
	plan, err := synth.NewPlan(synth.Spec{Name: "cpu.load", Pattern: synth.Sine, Amplitude: 0.4, Offset: 0.5, Noise: 0.05, Period: 10 * time.Minute,
		Tags: []string{"host=web-{1..7}", "dc={eu,us}"}, Every: 10 * time.Second, Seed: 3,
		Start: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	// Every sample of the plan, once, with its exact value.
	want := map[string]float64{}
	_ = plan.Generate(1000, func(in []metric.Input) error {
		for _, s := range in {
			want[seriesKey(s.Name, s.Tags, s.TS)] = s.Value
		}
		return nil
	})
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if int64(len(want)) != plan.Samples() || plan.Samples() != 14*360 {
		t.Fatalf("plan: %d distinct samples, %d", len(want), plan.Samples())
	}
	if fake.dups != 0 || len(fake.accepted) != len(want) {
		t.Errorf("server kept %d samples (%d duplicates), want %d", len(fake.accepted), fake.dups, len(want))
	}
	for k, v := range want {
		if got, ok := fake.accepted[k]; !ok || got.Value != v {
			t.Errorf("sample %s: got %+v, want value %v", k, got, v)
			break
		}
	}
	batches := (len(want) + 332) / 333
	if fake.requests != batches+3 || fake.maxBatch != 333 {
		t.Errorf("%d requests (want %d batches + 3 refused), largest %d samples", fake.requests, batches, fake.maxBatch)
	}
	if len(fake.tokens) != 1 || !fake.tokens["pulse_tok"] {
		t.Errorf("tokens sent: %v", fake.tokens)
	}
	if !strings.HasPrefix(out, "generated 5040 samples in 14 series (2026-11-25T00:00:00Z → 2026-11-25T01:00:00Z) at ") {
		t.Errorf("summary %q", out)
	}
	if !strings.Contains(errOut, "generate: server answered ") || !strings.Contains(errOut, ": retrying in 1s (attempt 2)") {
		t.Errorf("stderr does not report the retry: %q", errOut)
	}
}

// A refusal other than 429/503 stops the run with what the server said.
func TestGenerateHTTPRefusals(t *testing.T) {
	for status, want := range map[int]string{
		http.StatusUnprocessableEntity:   `the server refused a batch (422 Unprocessable Entity): {"error":"refused with 422"}`,
		http.StatusUnauthorized:          "the server refused the token (401 Unauthorized): check --token",
		http.StatusForbidden:             "forbidden (403 Forbidden): the token needs the ingest scope",
		http.StatusRequestEntityTooLarge: "lower --batch",
		http.StatusInternalServerError:   "the server refused a batch (500 Internal Server Error)",
	} {
		fake := newFakePulse(t, status, status, status, status)
		srv := httptest.NewServer(fake)
		_, _, err := execute(t, Deps{}, "generate", "--url", srv.URL, "--token", "t", "--name", "m", "--duration", "1h", "--batch", "100", "--concurrency", "1")
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "(0 of 360 samples written)") {
			t.Errorf("%d: %v, want %q", status, err, want)
		}
	}
	// Nothing listens: retried with backoff, then given up (bounded here).
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	plan, _ := synth.NewPlan(synth.Spec{Name: "m", Pattern: synth.Sine, Amplitude: 1, Period: time.Hour, Every: time.Second,
		Start: time.Unix(1.8e9, 0), End: time.Unix(1.8e9+10, 0)})
	var warned atomic.Int64
	s := &httpSink{url: url + "/api/metrics", token: "t", batch: 5, concurrency: 1, client: &http.Client{Transport: newTransport(1)},
		warn: func(string, ...any) { warned.Add(1) }, retryBound: 300 * time.Millisecond}
	n, err := s.send(context.Background(), plan, nil)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "giving up (the batch of 5 samples was not accepted)") || warned.Load() == 0 {
		t.Errorf("unreachable server: %d, %v (%d warnings)", n, err, warned.Load())
	}
}

// The encoder's JSON is what the server's decoder reads back, exactly:
// values of every magnitude, escaped names and tags, old timestamps.
func TestEncoderRoundTrip(t *testing.T) {
	for _, spec := range []synth.Spec{
		{Name: "big", Pattern: synth.Counter, Amplitude: 1e11, Noise: 3e10, Period: time.Hour, Every: time.Minute, Tags: []string{`key=v"a\l<ue>é\u0000`}},
		{Name: "tiny", Pattern: synth.Noise, Amplitude: 1e-9, Offset: -1e-12, Every: time.Second, Tags: []string{"a={1..3}", "b={x,y}"}},
		{Name: "none", Pattern: synth.Step, Amplitude: 5, Offset: -5, Period: time.Minute, Every: 7 * time.Second},
	} {
		for _, start := range []time.Time{time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), time.Date(1972, 6, 1, 0, 0, 0, 123e6, time.UTC)} {
			spec.Start, spec.End = start, start.Add(time.Hour)
			plan, err := synth.NewPlan(spec)
			if err != nil {
				t.Fatal(err)
			}
			enc := newEncoder(plan)
			var first int64
			_ = plan.Generate(250, func(in []metric.Input) error {
				body := enc.encode(nil, first, in)
				first += int64(len(in))
				got, bad, err := samplejson.Decode(body, 1000)
				if err != nil || len(bad) > 0 || len(got) != len(in) {
					t.Fatalf("%s: decode: %v %v (%d of %d)\n%s", spec.Name, err, bad, len(got), len(in), body[:min(len(body), 300)])
				}
				for i := range in {
					g, w := got[i], in[i]
					if g.Name != w.Name || g.Value != w.Value || !g.TS.Equal(w.TS.Truncate(time.Millisecond)) || seriesKey("", g.Tags, g.TS) != seriesKey("", w.Tags, g.TS) {
						t.Fatalf("%s sample %d: got %+v, want %+v", spec.Name, i, g, w)
					}
				}
				return nil
			})
		}
	}
}

// Without a terminal, progress is a line every progressEvery on stderr.
func TestProgressLines(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 20 * time.Millisecond
	var buf testservice.SyncBuffer
	p := newProgress(&buf, 1000, "generate")
	p.Set(250)
	time.Sleep(70 * time.Millisecond)
	p.Warn("server answered %d", 503)
	p.Finish()
	p.Finish()
	out := buf.String()
	if !strings.Contains(out, "generate: 250/1000 samples (25.0%), ") || !strings.Contains(out, "generate: server answered 503\n") {
		t.Errorf("progress lines: %q", out)
	}
}
