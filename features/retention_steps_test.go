package features_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

func (s *scenario) registerRetention(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" posts samples of "([^"]*)" (\d+) days ago and (\d+) days? ago$`, s.postsDaysAgo)
	sc.Step(`^"([^"]*)" posts a sample of "([^"]*)" (\d+) days ago$`, s.postsOneDaysAgo)
	sc.Step(`^the retention of "([^"]*)" is changed to (\d+) days$`, s.retentionChanged)
	sc.Step(`^retention runs$`, s.retentionRuns)
	sc.Step(`^the rollup job has run over every posted sample$`, s.rollupOverEverything)
	sc.Step(`^"([^"]*)" has raw samples of "([^"]*)" only from (\d+) days? ago$`, s.hasRawOnlyFrom)
	sc.Step(`^"([^"]*)" has raw samples of "([^"]*)" from (\d+) days ago and (\d+) days? ago$`, s.hasRawFrom)
	sc.Step(`^"([^"]*)" still has a "([^"]*)" bucket of "([^"]*)" from (\d+) days ago$`, s.stillHasBucket)
}

// daysAgo is the scenario's start minus d days, on a whole minute (so each
// sample starts its own 1m and 5m bucket).
func (s *scenario) daysAgo(d int) time.Time {
	return s.start.Truncate(5 * time.Minute).Add(-time.Duration(d) * 24 * time.Hour)
}

func (s *scenario) postDays(ctx context.Context, tenantName, name string, days ...int) (answer, error) {
	var parts []string
	for _, d := range days {
		parts = append(parts, fmt.Sprintf(`{"name":%q,"value":%d,"ts":%d}`, name, d, s.daysAgo(d).UnixMilli()))
	}
	a, err := s.post(ctx, tenantName, []byte("["+strings.Join(parts, ",")+"]"))
	s.last = a
	return a, err
}

func (s *scenario) postsDaysAgo(ctx context.Context, tenantName, name string, d1, d2 int) error {
	a, err := s.postDays(ctx, tenantName, name, d1, d2)
	if err != nil {
		return err
	}
	if err := expectStatus(a, http.StatusAccepted); err != nil {
		return err
	}
	// Wait until both are stored: later steps act on the database.
	return within(true, func() error {
		days, err := s.rawDays(ctx, tenantName, name)
		if err == nil && len(days) != 2 {
			err = fmt.Errorf("%q holds samples from %v days ago, want 2 samples", tenantName, days)
		}
		return err
	})
}

func (s *scenario) postsOneDaysAgo(ctx context.Context, tenantName, name string, d int) error {
	_, err := s.postDays(ctx, tenantName, name, d)
	return err
}

func (s *scenario) retentionChanged(ctx context.Context, tenantName string, days int) error {
	t, err := s.tenant(tenantName)
	if err != nil {
		return err
	}
	_, err = s.srv.tenancy.UpdateTenant(ctx, audit.CLI(), t.slug, &days, nil)
	return err
}

// retentionRuns runs retention once, waiting while another scenario's run
// holds the lease.
func (s *scenario) retentionRuns(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, skipped, err := wiring.RunRetentionOnce(ctx, s.srv.store.Leases, s.srv.retention, "features")
		if err != nil || !skipped {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the retention lease stayed taken for 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *scenario) rollupOverEverything(ctx context.Context) error {
	_, err := wiring.RunRollupOnce(ctx, s.srv.rollup)
	return err
}

// rawDays lists, in days before the scenario's start, the raw samples of
// name the tenant sees over the last 40 days.
func (s *scenario) rawDays(ctx context.Context, tenantName, name string) ([]int, error) {
	t, err := s.tenant(tenantName)
	if err != nil {
		return nil, err
	}
	v := url.Values{"name": {name}, "interval": {"raw"}, "max_points": {"1000"},
		"start": {strconv.FormatInt(s.start.Add(-40*24*time.Hour).UnixMilli(), 10)},
		"end":   {strconv.FormatInt(s.start.Add(time.Hour).UnixMilli(), 10)}}
	a, err := s.do(ctx, http.MethodGet, "/api/metrics/query?"+v.Encode(), t.token, nil)
	if err != nil {
		return nil, err
	}
	if err := expectStatus(a, http.StatusOK); err != nil {
		return nil, err
	}
	var q queryAnswer
	if err := json.Unmarshal(a.body, &q); err != nil {
		return nil, err
	}
	var days []int
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			days = append(days, int(p.Value)) // each sample's value is its days-ago
		}
	}
	return days, nil
}

func (s *scenario) hasRawOnlyFrom(ctx context.Context, tenantName, name string, d int) error {
	days, err := s.rawDays(ctx, tenantName, name)
	if err != nil {
		return err
	}
	if len(days) != 1 || days[0] != d {
		return fmt.Errorf("%q has raw samples from %v days ago, want only %d", tenantName, days, d)
	}
	return nil
}

func (s *scenario) hasRawFrom(ctx context.Context, tenantName, name string, d1, d2 int) error {
	days, err := s.rawDays(ctx, tenantName, name)
	if err != nil {
		return err
	}
	if len(days) != 2 || days[0] != d1 || days[1] != d2 {
		return fmt.Errorf("%q has raw samples from %v days ago, want %d and %d", tenantName, days, d1, d2)
	}
	return nil
}

func (s *scenario) stillHasBucket(ctx context.Context, tenantName, step, name string, d int) error {
	t, err := s.tenant(tenantName)
	if err != nil {
		return err
	}
	at := s.daysAgo(d)
	v := url.Values{"name": {name}, "interval": {step},
		"start": {strconv.FormatInt(at.Add(-time.Hour).UnixMilli(), 10)},
		"end":   {strconv.FormatInt(at.Add(time.Hour).UnixMilli(), 10)}}
	a, err := s.do(ctx, http.MethodGet, "/api/metrics/query?"+v.Encode(), t.token, nil)
	if err != nil {
		return err
	}
	if err := expectStatus(a, http.StatusOK); err != nil {
		return err
	}
	var q queryAnswer
	if err := json.Unmarshal(a.body, &q); err != nil {
		return err
	}
	if q.points() != 1 || q.Series[0].Points[0].TS != at.UnixMilli() || q.Series[0].Points[0].Count != 1 || q.Series[0].Points[0].Value != float64(d) {
		return fmt.Errorf("%q's %s buckets around %d days ago: %s", tenantName, step, d, truncate(a.body))
	}
	return nil
}
