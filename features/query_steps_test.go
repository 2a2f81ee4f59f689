package features_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- queries ----

type queryAnswer struct {
	Name     string `json:"name"`
	Interval string `json:"interval"`
	Series   []struct {
		Tags   map[string]string `json:"tags"`
		Points []struct {
			TS    int64   `json:"ts"`
			Value float64 `json:"value"`
			Min   float64 `json:"min"`
			Max   float64 `json:"max"`
			Count int64   `json:"count"`
		} `json:"points"`
	} `json:"series"`
}

func (q queryAnswer) points() int {
	n := 0
	for _, sr := range q.Series {
		n += len(sr.Points)
	}
	return n
}

// query asks for name as tenant over a window around the scenario's start
// wide enough for every timestamp the features use; filter is extra query
// string such as "tag.host=a".
func (s *scenario) query(ctx context.Context, tenantName, name, filter string) (queryAnswer, error) {
	var q queryAnswer
	t, err := s.tenant(tenantName)
	if err != nil {
		return q, err
	}
	v := url.Values{}
	v.Set("name", name)
	v.Set("start", strconv.FormatInt(s.start.Add(-30*time.Minute).UnixMilli(), 10))
	v.Set("end", strconv.FormatInt(s.start.Add(30*time.Minute).UnixMilli(), 10))
	path := "/api/metrics/query?" + v.Encode()
	if filter != "" {
		path += "&" + filter
	}
	a, err := s.do(ctx, http.MethodGet, path, t.token, nil)
	if err != nil {
		return q, err
	}
	if err := expectStatus(a, http.StatusOK); err != nil {
		return q, fmt.Errorf("query %s: %w", name, err)
	}
	if err := json.Unmarshal(a.body, &q); err != nil {
		return q, fmt.Errorf("query answer is not JSON: %v: %s", err, truncate(a.body))
	}
	if q.Name != name {
		return q, fmt.Errorf("query answer names %q, want %q", q.Name, name)
	}
	return q, nil
}

// eventually polls the query until it has want points or settleBound passes.
func (s *scenario) eventually(ctx context.Context, tenantName, name string, want int) error {
	deadline := time.Now().Add(settleBound)
	for {
		q, err := s.query(ctx, tenantName, name, "")
		if err != nil {
			return err
		}
		got := q.points()
		if got == want {
			return nil
		}
		if got > want {
			return fmt.Errorf("%q has %d points, want %d", name, got, want)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%q has %d points after %s, want %d", name, got, settleBound, want)
		}
		time.Sleep(pollEvery)
	}
}

func (s *scenario) withinASecondHasPoints(ctx context.Context, name string, want int) error {
	return s.eventually(ctx, "", name, want)
}

func (s *scenario) theQueryShowsPoint(ctx context.Context, name, at, value, tags string) error {
	at, err := s.expand(at)
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return fmt.Errorf("point time %q is not Unix ms", at)
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return fmt.Errorf("value %q is not a number", value)
	}
	wantTags := map[string]string{}
	for _, kv := range strings.Split(tags, ",") {
		if k, val, ok := strings.Cut(kv, "="); ok {
			wantTags[k] = val
		}
	}
	q, err := s.query(ctx, "", name, "")
	if err != nil {
		return err
	}
	for _, sr := range q.Series {
		if !sameTags(sr.Tags, wantTags) {
			continue
		}
		for _, p := range sr.Points {
			if p.TS == ts && p.Value == v && p.Min == v && p.Max == v && p.Count == 1 {
				return nil
			}
		}
	}
	return fmt.Errorf("no point ts=%d value=%g tags=%v in %s", ts, v, wantTags, truncate(s.last.body))
}

func sameTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (s *scenario) thePointIsNearStart(ctx context.Context, name string) error {
	q, err := s.query(ctx, "", name, "")
	if err != nil {
		return err
	}
	if q.points() != 1 {
		return fmt.Errorf("want exactly 1 point of %q, got %d", name, q.points())
	}
	ts := time.UnixMilli(q.Series[0].Points[0].TS)
	if d := ts.Sub(s.start); math.Abs(float64(d)) > float64(time.Minute) {
		return fmt.Errorf("point at %s is %s away from the scenario's start %s", ts.UTC(), d, s.start)
	}
	return nil
}

func (s *scenario) theQueryHasSeries(ctx context.Context, name string, want int) error {
	q, err := s.query(ctx, "", name, "")
	if err != nil {
		return err
	}
	if len(q.Series) != want {
		return fmt.Errorf("%q has %d series, want %d: %s", name, len(q.Series), want, truncate(s.last.body))
	}
	seen := map[string]bool{}
	for _, sr := range q.Series {
		k := tagKey(sr.Tags)
		if seen[k] {
			return fmt.Errorf("two series share the tag set %s: %s", k, truncate(s.last.body))
		}
		seen[k] = true
	}
	return nil
}

func tagKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s,", k, m[k])
	}
	return b.String()
}

func (s *scenario) theFilteredQueryHas(ctx context.Context, name, filter string, series, points int) error {
	q, err := s.query(ctx, "", name, filter)
	if err != nil {
		return err
	}
	if len(q.Series) != series || q.points() != points {
		return fmt.Errorf("%q with %s: %d series, %d points; want %d, %d: %s",
			name, filter, len(q.Series), q.points(), series, points, truncate(s.last.body))
	}
	want, _ := url.ParseQuery(filter)
	for _, sr := range q.Series {
		for k, vs := range want {
			if tag := strings.TrimPrefix(k, "tag."); sr.Tags[tag] != vs[0] {
				return fmt.Errorf("series %v does not match the filter %s", sr.Tags, filter)
			}
		}
	}
	return nil
}

// nothingIsStoredFor proves a refused request left nothing behind: a later
// valid sample (the barrier) becomes queryable, and name still has no points.
func (s *scenario) nothingIsStoredFor(ctx context.Context, name string) error {
	refused := s.last
	s.barrier++
	barrier := fmt.Sprintf("barrier.n%d", s.barrier)
	a, err := s.post(ctx, "", []byte(fmt.Sprintf(`{"name":%q,"value":1}`, barrier)))
	if err != nil {
		return err
	}
	if err := expectStatus(a, http.StatusAccepted); err != nil {
		return fmt.Errorf("barrier sample: %w", err)
	}
	if err := s.eventually(ctx, "", barrier, 1); err != nil {
		return fmt.Errorf("barrier sample: %w", err)
	}
	q, err := s.query(ctx, "", name, "")
	if err != nil {
		return err
	}
	if n := q.points(); n != 0 {
		return fmt.Errorf("%d points of %q were stored from a refused request: %s", n, name, truncate(s.last.body))
	}
	s.last = refused
	return nil
}

func (s *scenario) tenantSeesPoints(ctx context.Context, tenantName string, want int, name string) error {
	return s.eventually(ctx, tenantName, name, want)
}

func (s *scenario) tenantSeesNoSeries(ctx context.Context, tenantName, name string) error {
	q, err := s.query(ctx, tenantName, name, "")
	if err != nil {
		return err
	}
	if len(q.Series) != 0 {
		return fmt.Errorf("tenant %q sees %d series of %q: %s", tenantName, len(q.Series), name, truncate(s.last.body))
	}
	return nil
}

func (s *scenario) tenantSeesOnlyValue(ctx context.Context, tenantName string, value float64, name string) error {
	q, err := s.query(ctx, tenantName, name, "")
	if err != nil {
		return err
	}
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			if p.Value != value {
				return fmt.Errorf("tenant %q sees value %g in %q, want only %g", tenantName, p.Value, name, value)
			}
		}
	}
	if q.points() == 0 {
		return fmt.Errorf("tenant %q sees no points of %q", tenantName, name)
	}
	return nil
}
