package features_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// What live streams carry: single points and exact sets of values (the
// dense post is live_dense_test.go).

func (l *liveSteps) registerPoints(sc *godog.ScenarioContext) {
	sc.Step(`^within (\d+) seconds the live stream has a point of query (\d+) at (\{\{[^}]*\}\}) with value (\S+) and tags "([^"]*)"$`, l.hasPoint)
	sc.Step(`^the live stream has no point with value (\S+)$`, l.hasNoValue)
	sc.Step(`^I post the values ([\d.,]+) of "([^"]*)", one request each$`, l.postValues)
	sc.Step(`^within (\d+) seconds the live stream has received exactly the values ([\d.,]+)$`, func(secs int, values string) error {
		return l.receivedExactly(secs, "", values)
	})
	sc.Step(`^within (\d+) seconds the live stream of "([^"]*)" has received exactly the values ([\d.,]+)$`, l.receivedExactly)
	sc.Step(`^I post (\d+) samples of "([^"]*)", one request each (\d+) ms apart, out of order, some without ts, then resend one$`, l.postDense)
	sc.Step(`^within (\d+) seconds the live stream has every point accepted for "([^"]*)", once each, with the sum of their values$`, l.hasEveryAccepted)
	sc.Step(`^those are the points the query API returns for "([^"]*)"$`, l.matchesQuery)
}

func (l *liveSteps) hasPoint(secs, q int, at, value, tags string) error {
	ls, err := l.stream("")
	if err != nil {
		return err
	}
	at, err = l.s.expand(at)
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
	want := parseTags(tags)
	what := fmt.Sprintf("point q=%d ts=%d value=%g tags=%v", q, ts, v, want)
	return ls.waitFor(time.Duration(secs)*time.Second, what, func() error {
		ps, err := ls.points()
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.q == q && p.ts == ts && p.value == v && sameTags(p.tags, want) {
				return nil
			}
		}
		return errNotYet
	})
}

func parseTags(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

func (l *liveSteps) hasNoValue(value string) error {
	ls, err := l.stream("")
	if err != nil {
		return err
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return fmt.Errorf("value %q is not a number", value)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ps, err := ls.points()
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.value == v {
			return fmt.Errorf("the stream carried a point it does not select: %+v", p)
		}
	}
	return nil
}

func parseValues(list string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("value %q is not a number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// postValues posts each value as its own request, one second apart in ts
// so that every one is a point of its own.
func (l *liveSteps) postValues(ctx context.Context, values, metric string) error {
	vs, err := parseValues(values)
	if err != nil {
		return err
	}
	for _, v := range vs {
		ts := l.s.start.Add(-time.Duration(100-v) * time.Second).UnixMilli()
		a, err := l.s.post(ctx, "", []byte(fmt.Sprintf(`{"name":%q,"value":%g,"ts":%d}`, metric, v, ts)))
		if err != nil {
			return err
		}
		if err := expectStatus(a, http.StatusAccepted); err != nil {
			return err
		}
	}
	return nil
}

// receivedExactly waits for every value, then one coalesce interval and
// more, and wants each exactly once and nothing else.
func (l *liveSteps) receivedExactly(secs int, tenant, values string) error {
	ls, err := l.stream(tenant)
	if err != nil {
		return err
	}
	want, err := parseValues(values)
	if err != nil {
		return err
	}
	slices.Sort(want)
	got := func() ([]float64, error) {
		ps, err := ls.points()
		var vs []float64
		for _, p := range ps {
			vs = append(vs, p.value)
		}
		slices.Sort(vs)
		return vs, err
	}
	err = ls.waitFor(time.Duration(secs)*time.Second, fmt.Sprintf("the values %v", want), func() error {
		vs, err := got()
		if err != nil {
			return err
		}
		for _, w := range want {
			if !slices.Contains(vs, w) {
				return errNotYet
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	time.Sleep(600 * time.Millisecond) // more than the 250 ms coalescing: a duplicate would be here by now
	ls.mu.Lock()
	defer ls.mu.Unlock()
	vs, err := got()
	if err != nil {
		return err
	}
	if !slices.Equal(vs, want) {
		return fmt.Errorf("the stream carried the values %v, want exactly %v (events:%s)", vs, want, ls.describe())
	}
	return nil
}
