package features_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

// rollupState is what rollups.feature remembers within a scenario.
type rollupState struct {
	posted map[string]int         // raw samples posted per metric name
	kept   map[string]queryAnswer // answers kept for comparison
}

func (s *scenario) registerRollups(sc *godog.ScenarioContext) {
	sc.Step(`^I post (\d+) samples of "([^"]*)" every (\d+) seconds from minute (\d+)$`, s.iPostSamplesFromMinute)
	sc.Step(`^I post a sample of "([^"]*)" valued (\S+) at minute (\d+) and (\d+) seconds$`, s.iPostLateSample)
	sc.Step(`^the rollup job has run over "([^"]*)"$`, s.theRollupJobHasRun)
	sc.Step(`^(within a second )?the "([^"]*)" query of "([^"]*)" has (\d+) points(?: of count (\d+))?$`, s.theStepQueryHas)
	sc.Step(`^(within a second )?the "([^"]*)" point of "([^"]*)" at minute (\d+) has count (\d+), min (\S+), max ([^ ]+)(?: and value (\S+))?$`, s.theStepPointHas)
	sc.Step(`^the query of "([^"]*)" with "([^"]*)" answers interval "([^"]*)" with (\d+) points$`, s.theQueryAnswersInterval)
	sc.Step(`^I keep the "([^"]*)" answer for "([^"]*)"$`, s.iKeepTheAnswer)
	sc.Step(`^the "([^"]*)" answer for "([^"]*)" is unchanged$`, s.theAnswerIsUnchanged)
	sc.Step(`^the "([^"]*)" point of "([^"]*)" at minute (\d+) with agg "([^"]*)" has value (\S+)$`, s.thePointWithAggHas)
	sc.Step(`^I query "([^"]*)" with "([^"]*)"$`, s.iQueryWith)
	sc.Step(`^the answer is (\d+) with a JSON error mentioning "([^"]*)"$`, s.theAnswerMentions)
	sc.Step(`^"([^"]*)" sees no "([^"]*)" buckets of "([^"]*)"$`, s.tenantSeesNoBuckets)
}

func (s *scenario) rollups() *rollupState {
	if s.roll == nil {
		s.roll = &rollupState{posted: map[string]int{}, kept: map[string]queryAnswer{}}
	}
	return s.roll
}

// anchor is a whole hour two hours before the scenario's start.
func (s *scenario) anchor() time.Time { return s.start.Truncate(time.Hour).Add(-2 * time.Hour) }

func (s *scenario) minute(m int) time.Time { return s.anchor().Add(time.Duration(m) * time.Minute) }

// iPostSamplesFromMinute posts n samples every step seconds from minute m,
// valued 10 × their minute (since the anchor) + their position in it.
func (s *scenario) iPostSamplesFromMinute(ctx context.Context, n int, name string, every, m int) error {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		ts := s.minute(m).Add(time.Duration(i*every) * time.Second)
		off := ts.Sub(s.anchor())
		value := 10*int(off/time.Minute) + int(off%time.Minute/(time.Duration(every)*time.Second))
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"value":%d,"tags":{"host":"a"},"ts":%d}`, name, value, ts.UnixMilli())
	}
	b.WriteByte(']')
	a, err := s.post(ctx, "", []byte(b.String()))
	if err != nil {
		return err
	}
	if err := expectStatus(a, http.StatusAccepted); err != nil {
		return err
	}
	s.rollups().posted[name] += n
	return nil
}

func (s *scenario) iPostLateSample(ctx context.Context, name, value string, m, sec int) error {
	ts := s.minute(m).Add(time.Duration(sec) * time.Second)
	a, err := s.post(ctx, "", []byte(fmt.Sprintf(`{"name":%q,"value":%s,"tags":{"host":"a"},"ts":%d}`, name, value, ts.UnixMilli())))
	if err != nil {
		return err
	}
	if err := expectStatus(a, http.StatusAccepted); err != nil {
		return err
	}
	s.rollups().posted[name]++
	return nil
}

// rangeQuery asks for name over [anchor, anchor + 3h) with extra params.
func (s *scenario) rangeQuery(ctx context.Context, tenantName, name, params string) (queryAnswer, answer, error) {
	var q queryAnswer
	t, err := s.tenant(tenantName)
	if err != nil {
		return q, answer{}, err
	}
	v := url.Values{}
	v.Set("name", name)
	v.Set("start", strconv.FormatInt(s.anchor().UnixMilli(), 10))
	v.Set("end", strconv.FormatInt(s.anchor().Add(3*time.Hour).UnixMilli(), 10))
	path := "/api/metrics/query?" + v.Encode()
	if params != "" {
		path += "&" + params
	}
	a, err := s.do(ctx, http.MethodGet, path, t.token, nil)
	if err != nil || a.status != http.StatusOK {
		return q, a, err
	}
	if err := json.Unmarshal(a.body, &q); err != nil {
		return q, a, fmt.Errorf("query answer is not JSON: %v: %s", err, truncate(a.body))
	}
	return q, a, nil
}

// stepQuery reads every bucket of one step (max_points large enough).
func (s *scenario) stepQuery(ctx context.Context, tenantName, step, name, extra string) (queryAnswer, error) {
	params := "interval=" + step + "&max_points=10000"
	if extra != "" {
		params += "&" + extra
	}
	q, a, err := s.rangeQuery(ctx, tenantName, name, params)
	if err != nil {
		return q, err
	}
	if err := expectStatus(a, http.StatusOK); err != nil {
		return q, err
	}
	if q.Interval != step {
		return q, fmt.Errorf("answer interval %q, want %q", q.Interval, step)
	}
	return q, nil
}

// theRollupJobHasRun waits until every sample the scenario posted of name
// is stored (the workers flush asynchronously), then runs the rollup job
// to the end (waiting while another scenario holds its lease).
func (s *scenario) theRollupJobHasRun(ctx context.Context, name string) error {
	want := s.rollups().posted[name]
	deadline := time.Now().Add(5 * time.Second)
	for {
		q, err := s.stepQuery(ctx, "", "raw", name, "")
		if err != nil {
			return err
		}
		if q.points() == want {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%q has %d raw points stored after 5s, want %d", name, q.points(), want)
		}
		time.Sleep(pollEvery)
	}
	_, err := wiring.RunRollupOnce(ctx, s.srv.rollup)
	return err
}

// within retries check until it passes or a second passes (when wait).
func within(wait bool, check func() error) error {
	deadline := time.Now().Add(settleBound)
	for {
		err := check()
		if err == nil || !wait || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollEvery)
	}
}

func (s *scenario) theStepQueryHas(ctx context.Context, wait, step, name string, points int, count string) error {
	return within(wait != "", func() error {
		q, err := s.stepQuery(ctx, "", step, name, "")
		if err != nil {
			return err
		}
		if q.points() != points {
			return fmt.Errorf("%s query of %q has %d points, want %d", step, name, q.points(), points)
		}
		seen := map[int64]bool{}
		for _, sr := range q.Series {
			for _, p := range sr.Points {
				if seen[p.TS] {
					return fmt.Errorf("bucket %d answered twice", p.TS)
				}
				seen[p.TS] = true
				if count != "" && strconv.FormatInt(p.Count, 10) != count {
					return fmt.Errorf("bucket at %s has count %d, want %s", time.UnixMilli(p.TS).UTC().Format(time.TimeOnly), p.Count, count)
				}
			}
		}
		return nil
	})
}

// pointAt finds the bucket starting at minute m.
func (s *scenario) pointAt(q queryAnswer, m int) (pointWire, error) {
	at := s.minute(m).UnixMilli()
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			if p.TS == at {
				return pointWire(p), nil
			}
		}
	}
	return pointWire{}, fmt.Errorf("no %s bucket at minute %d", q.Interval, m)
}

type pointWire struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Count int64   `json:"count"`
}

func (s *scenario) theStepPointHas(ctx context.Context, wait, step, name string, m int, count int64, min, max float64, value string) error {
	return within(wait != "", func() error {
		q, err := s.stepQuery(ctx, "", step, name, "")
		if err != nil {
			return err
		}
		p, err := s.pointAt(q, m)
		if err != nil {
			return err
		}
		if p.Count != count || p.Min != min || p.Max != max {
			return fmt.Errorf("%s bucket at minute %d = %+v, want count %d, min %v, max %v", step, m, p, count, min, max)
		}
		if value != "" {
			v, _ := strconv.ParseFloat(value, 64)
			if math.Abs(p.Value-v) > 1e-9 {
				return fmt.Errorf("%s bucket at minute %d has value %v, want %v", step, m, p.Value, v)
			}
		}
		return nil
	})
}

func (s *scenario) theQueryAnswersInterval(ctx context.Context, name, params, interval string, points int) error {
	q, a, err := s.rangeQuery(ctx, "", name, params)
	if err != nil {
		return err
	}
	if err := expectStatus(a, http.StatusOK); err != nil {
		return err
	}
	if q.Interval != interval || q.points() != points {
		return fmt.Errorf("%s: interval %q with %d points, want %q with %d", params, q.Interval, q.points(), interval, points)
	}
	return nil
}

func (s *scenario) iKeepTheAnswer(ctx context.Context, step, name string) error {
	q, err := s.stepQuery(ctx, "", step, name, "")
	s.rollups().kept[step+" "+name] = q
	return err
}

func (s *scenario) theAnswerIsUnchanged(ctx context.Context, step, name string) error {
	q, err := s.stepQuery(ctx, "", step, name, "")
	if err != nil {
		return err
	}
	if before := s.rollups().kept[step+" "+name]; !reflect.DeepEqual(before, q) {
		return fmt.Errorf("the %s answer changed:\nbefore %+v\nafter  %+v", step, before, q)
	}
	return nil
}

func (s *scenario) thePointWithAggHas(ctx context.Context, step, name string, m int, agg string, value float64) error {
	q, err := s.stepQuery(ctx, "", step, name, "agg="+agg)
	if err != nil {
		return err
	}
	p, err := s.pointAt(q, m)
	if err != nil {
		return err
	}
	if math.Abs(p.Value-value) > 1e-9 {
		return fmt.Errorf("agg=%s: value %v, want %v", agg, p.Value, value)
	}
	return nil
}

func (s *scenario) iQueryWith(ctx context.Context, name, params string) error {
	_, a, err := s.rangeQuery(ctx, "", name, params)
	s.last = a
	return err
}

func (s *scenario) theAnswerMentions(want int, hint string) error {
	e, err := s.errorBody(want)
	if err != nil {
		return err
	}
	if !strings.Contains(e.Error, hint) {
		return fmt.Errorf("error %q does not mention %q", e.Error, hint)
	}
	return nil
}

func (s *scenario) tenantSeesNoBuckets(ctx context.Context, tenantName, step, name string) error {
	q, err := s.stepQuery(ctx, tenantName, step, name, "")
	if err != nil {
		return err
	}
	if q.points() != 0 {
		return fmt.Errorf("%q sees %d %s buckets of %q", tenantName, q.points(), step, name)
	}
	return nil
}
