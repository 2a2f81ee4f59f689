package features_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Counters of the server's GET /metrics, read by the MQTT steps.

// ---- /metrics ----

// metricSum is the sum of the samples of the counter whose labels include
// every label="value" of want, read from the server's GET /metrics.
func (s *scenario) metricSum(ctx context.Context, name string, want ...string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.baseURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	tok, err := s.srv.platformToken(ctx) // per-tenant series are a platform admin's
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics answered %d", resp.StatusCode)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return 0, err
	}
	sum := 0.0
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		labels, value, ok := strings.Cut(line, "} ")
		if !ok {
			labels, value, _ = strings.Cut(line, " ")
		}
		for _, w := range want {
			if !strings.Contains(labels, w) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("/metrics line %q: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

func (s *scenario) waitMetric(ctx context.Context, secs int, want float64, name string, labels ...string) error {
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for {
		got, err := s.metricSum(ctx, name, labels...)
		if err != nil {
			return err
		}
		switch {
		case got == want:
			return nil
		case got > want:
			return fmt.Errorf("%s%v = %g, want %g", name, labels, got, want)
		case time.Now().After(deadline):
			return fmt.Errorf("%s%v = %g after %d s, want %g", name, labels, got, secs, want)
		}
		time.Sleep(pollEvery)
	}
}

func (s *scenario) metricsCountRejected(ctx context.Context, secs, want int) error {
	t, err := s.tenant("")
	if err != nil {
		return err
	}
	return s.waitMetric(ctx, secs, float64(want), "pulse_mqtt_rejected_total", `tenant="`+t.slug+`"`)
}

func (s *scenario) metricsCountRefused(ctx context.Context, secs, want int, reason string) error {
	return s.waitMetric(ctx, secs, float64(want), "pulse_mqtt_publishes_refused_total", `reason="`+reason+`"`)
}
