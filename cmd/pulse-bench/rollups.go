package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

// rollupWorkload is the query benchmark's data: one series sampled every
// 10 s for 30 days (259,200 points) among 20 series sharing its name, the
// other 19 holding its last day only.
type rollupWorkload struct {
	days, series, every int // days of the long series, series sharing the name, seconds between samples
	runs                int // timed runs of each query
}

// runRollups measures, on MariaDB: (r) the rollup job's throughput folding
// the raw rows into 1m and 5m buckets; (s) a 30-day query of the long series
// with interval=auto (answered from 5m rollups) beside the same query forced
// to raw; (t) a one-day raw query of one series among the 20. Queries go
// through the HTTP handler in process (routing, auth, JSON included);
// (u) the export job over the same series (export.go).
func runRollups(ctx context.Context, w rollupWorkload) error {
	fmt.Printf("\n== rollups and queries: MariaDB ==\n")
	dsn, dropDB, err := newMariaDB()
	if err != nil {
		return err
	}
	defer dropDB()
	cfg, err := loadConfig(map[string]string{"PULSE_DATABASE_URL": "mysql://" + mysqlURLFromDSN(dsn), "PULSE_DATA_DIR": mustTempDir()})
	if err != nil {
		return err
	}
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "bench")
	if err != nil {
		return err
	}
	defer cleanup()
	ten, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "bench", "Bench", 400)
	if err != nil {
		return err
	}
	issued, err := p.Tenancy.CreateToken(ctx, audit.CLI(), "bench", token.Spec{Name: "bench", Scopes: []token.Scope{token.ScopeRead}})
	if err != nil {
		return err
	}

	end := time.Now().UTC().Truncate(24 * time.Hour)
	start := end.Add(-time.Duration(w.days) * 24 * time.Hour)
	rows, err := writeRollupData(ctx, p, ten.ID, w, start, end)
	if err != nil {
		return err
	}
	rep, err := p.Rollup.Run(ctx)
	if err != nil {
		return fmt.Errorf("rollup: %w", err)
	}
	if rep.RawRows != int64(rows) {
		return fmt.Errorf("rollup folded %d raw rows, %d were written", rep.RawRows, rows)
	}
	fmt.Printf("%d raw samples: one series every %d s for %d days among %d sharing its name (the others: the last day)\n", rows, w.every, w.days, w.series)
	fmt.Printf("(r) rollup job, raw rows folded into 1m, 5m, 1h:%10.0f rows/s (%d rows, %d buckets, %d passes, %s)\n",
		float64(rep.RawRows)/rep.Duration.Seconds(), rep.RawRows, rep.Buckets, rep.Passes, rep.Duration.Round(time.Millisecond))

	long := url.Values{"name": {"bench.cpu"}, "tag.host": {"h-00"},
		"start": {strconv.FormatInt(start.UnixMilli(), 10)}, "end": {strconv.FormatInt(end.UnixMilli(), 10)}}
	day := url.Values{"name": {"bench.cpu"}, "tag.host": {"h-07"}, "interval": {"raw"}, "max_points": {"10000"},
		"start": {strconv.FormatInt(end.Add(-24*time.Hour).UnixMilli(), 10)}, "end": {strconv.FormatInt(end.UnixMilli(), 10)}}
	cases := []struct {
		label  string
		params url.Values
		extra  map[string]string
	}{
		{"(s) 30 days, interval=auto (max_points=1000)", long, map[string]string{"interval": "auto", "max_points": "1000"}},
		{"    30 days, interval=auto, max_points=10000", long, map[string]string{"interval": "auto", "max_points": "10000"}},
		{"    30 days, interval=raw, every page of 100,000", long, map[string]string{"interval": "raw", "max_points": "100000"}},
		{"(t) 1 day raw of one series among 20", day, nil},
	}
	var autoP95, rawP95 time.Duration
	stopProfile := startProfile(*persistProfile) // -persist-cpuprofile: the query phase here
	defer stopProfile()
	for i, c := range cases {
		v := url.Values{}
		for k, vals := range c.params {
			v[k] = vals
		}
		for k, val := range c.extra {
			v.Set(k, val)
		}
		lat, points, interval, err := timeQuery(p.Handler, issued.Plain, v, w.runs)
		if err != nil {
			return fmt.Errorf("%s: %w", c.label, err)
		}
		fmt.Printf("%-56s p50 %6.1f ms  p95 %6.1f ms  (%d points, interval %s)\n", c.label, ms(lat[len(lat)/2]), ms(lat[len(lat)*95/100]), points, interval)
		switch i {
		case 0:
			autoP95 = lat[len(lat)*95/100]
		case 2:
			rawP95 = lat[len(lat)*95/100]
		}
	}
	fmt.Printf("    p95 ratio raw/auto over 30 days:              %10.1f×\n", rawP95.Seconds()/autoP95.Seconds())
	return timeExports(ctx, p, ten.ID, start, end)
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// writeRollupData writes the samples through the store in batches of one
// series' hour (as the workers would) and returns how many it wrote.
func writeRollupData(ctx context.Context, p *wiring.Pipeline, tenantID int64, w rollupWorkload, start, end time.Time) (int, error) {
	total := 0
	step := time.Duration(w.every) * time.Second
	for s := 0; s < w.series; s++ {
		from := start
		if s > 0 {
			from = end.Add(-24 * time.Hour)
		}
		tags := metric.SortedTags(map[string]string{"host": fmt.Sprintf("h-%02d", s), "dc": "eu-1"})
		var batch []metric.Sample
		for ts := from; ts.Before(end); ts = ts.Add(step) {
			v := 50 + 40*float64((ts.Unix()/60+int64(s))%97)/97
			batch = append(batch, metric.Rehydrate("bench.cpu", v, tags, ts.UnixMilli(), ""))
			if len(batch) == 10000 || !ts.Add(step).Before(end) {
				if _, err := p.Samples.WriteBatches(ctx, []metric.Batch{{ID: "bench", TenantID: tenantID, AcceptedAt: time.Now(), Samples: batch}}); err != nil {
					return total, err
				}
				total += len(batch)
				batch = batch[:0]
			}
		}
	}
	return total, nil
}

// timeQuery runs the query runs times (after one warm-up), following every
// page, and returns the sorted latencies, the points and the interval.
func timeQuery(h http.Handler, tok string, v url.Values, runs int) ([]time.Duration, int, string, error) {
	var lat []time.Duration
	points, interval := 0, ""
	for r := -1; r < runs; r++ {
		began := time.Now()
		n, iv, err := queryAllPages(h, tok, v)
		if err != nil {
			return nil, 0, "", err
		}
		if r >= 0 {
			lat = append(lat, time.Since(began))
		}
		points, interval = n, iv
	}
	slices.Sort(lat)
	return lat, points, interval, nil
}

// queryAllPages follows next_cursor unless max_points was left at its
// default (then it reads the first page, as a chart asking for 1,000 does).
func queryAllPages(h http.Handler, tok string, v url.Values) (int, string, error) {
	q := url.Values{}
	for k, vals := range v {
		q[k] = vals
	}
	n := 0
	for {
		req := httptest.NewRequest(http.MethodGet, "/api/metrics/query?"+q.Encode(), nil)
		req.Header.Set("X-API-Token", tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return 0, "", fmt.Errorf("status %d: %s", rec.Code, rec.Body.String())
		}
		// Read what the loop needs without decoding the whole answer: the
		// client's JSON decoding is not the server's latency.
		body := rec.Body.Bytes()
		n += bytes.Count(body, []byte(`"ts":`))
		interval := jsonField(body, `"interval":"`)
		next := lastJSONField(body, `"next_cursor":"`) // the answer's last field
		if next == "" || q.Get("max_points") == "" {
			return n, interval, nil
		}
		q.Set("cursor", next)
	}
}

// lastJSONField is jsonField searching from the end of the body.
func lastJSONField(body []byte, key string) string {
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return ""
	}
	return jsonField(body[i:], key)
}

// jsonField returns the string value after key (which ends with its opening quote).
func jsonField(body []byte, key string) string {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func mustTempDir() string {
	d, err := os.MkdirTemp("", "pulse-bench-")
	if err != nil {
		panic(err)
	}
	return d
}
