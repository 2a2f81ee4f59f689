package features_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// The dense post of live.feature, compared with what the server accepted
// and what it stored.

// denseSent is what postDense sent and what was accepted.
type denseSent struct {
	metric   string
	withTS   map[string]float64 // "host/ts" → value, for samples sent with a ts
	distinct int                // distinct (series, ts) the server was given
	sum      float64            // of those
	accepted int                // sum of the 202 answers' accepted
	resent   int                // samples sent again (the store keeps the first)
}

// postDense posts n samples of three series one request each, every
// `apart` ms: dense ts 10 ms apart in a shuffled order, every eighth
// sample without ts (the server stamps it), and sample 10 sent again.
func (l *liveSteps) postDense(ctx context.Context, n int, metric string, apart int) error {
	d := &denseSent{metric: metric, withTS: map[string]float64{}}
	base := l.s.start.Add(-20 * time.Second).UnixMilli()
	var resend []byte
	send := func(body []byte) error {
		a, err := l.s.post(ctx, "", body)
		if err != nil {
			return err
		}
		if err := expectStatus(a, http.StatusAccepted); err != nil {
			return err
		}
		var acc struct {
			Accepted int `json:"accepted"`
		}
		if err := json.Unmarshal(a.body, &acc); err != nil {
			return fmt.Errorf("202 body: %v", err)
		}
		d.accepted += acc.Accepted
		time.Sleep(time.Duration(apart) * time.Millisecond)
		return nil
	}
	for i := range n {
		host, v := fmt.Sprintf("d%d", i%3), float64(i+1)*1.5
		var body []byte
		if i%8 == 5 {
			body = []byte(fmt.Sprintf(`{"name":%q,"value":%g,"tags":{"host":%q}}`, metric, v, host))
		} else {
			ts := base + int64((i*17)%n)*10 // 17 is prime to 50: a permutation, out of order
			body = []byte(fmt.Sprintf(`{"name":%q,"value":%g,"tags":{"host":%q},"ts":%d}`, metric, v, host, ts))
			d.withTS[fmt.Sprintf("%s/%d", host, ts)] = v
		}
		if i == 10 {
			resend = body
		}
		d.distinct++
		d.sum += v
		if err := send(body); err != nil {
			return err
		}
	}
	if resend != nil {
		d.resent++
		if err := send(resend); err != nil {
			return err
		}
	}
	l.dense = d
	return nil
}

// distinctPoints is the stream's points by "host/ts", the first value kept
// (as the store keeps the first write), and how many there were in all.
func distinctPoints(ps []livePoint) (map[string]float64, int) {
	out := map[string]float64{}
	for _, p := range ps {
		k := fmt.Sprintf("%s/%d", p.tags["host"], p.ts)
		if _, ok := out[k]; !ok {
			out[k] = p.value
		}
	}
	return out, len(ps)
}

func (l *liveSteps) hasEveryAccepted(secs int, metric string) error {
	d := l.dense
	if d == nil || d.metric != metric {
		return fmt.Errorf("no dense post of %q in this scenario", metric)
	}
	if d.accepted != d.distinct+d.resent {
		return fmt.Errorf("the server accepted %d samples, want the %d sent", d.accepted, d.distinct+d.resent)
	}
	ls, err := l.stream("")
	if err != nil {
		return err
	}
	var got map[string]float64
	var all int
	err = ls.waitFor(time.Duration(secs)*time.Second, fmt.Sprintf("%d distinct points", d.distinct), func() error {
		ps, err := ls.points()
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.q != 0 || len(p.tags) != 1 || !strings.HasPrefix(p.tags["host"], "d") {
				return fmt.Errorf("unexpected point %+v", p)
			}
		}
		if got, all = distinctPoints(ps); len(got) < d.distinct {
			return errNotYet
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w (had %d distinct of %d points)", err, len(got), all)
	}
	time.Sleep(600 * time.Millisecond) // anything extra would be here by now
	ls.mu.Lock()
	ps, err := ls.points()
	ls.mu.Unlock()
	if err != nil {
		return err
	}
	got, all = distinctPoints(ps)
	if len(got) != d.distinct {
		return fmt.Errorf("%d distinct (series, ts) received (%d points), want the %d accepted less %d resent", len(got), all, d.distinct, d.resent)
	}
	sum := 0.0
	for _, v := range got {
		sum += v
	}
	if math.Abs(sum-d.sum) > 1e-9 {
		return fmt.Errorf("sum of the values received %g, want %g", sum, d.sum)
	}
	for k, v := range d.withTS {
		if gv, ok := got[k]; !ok || gv != v {
			return fmt.Errorf("point %s: received %g (present %v), want %g", k, gv, ok, v)
		}
	}
	return nil
}

// matchesQuery compares the stream's distinct points with the stored raw
// points, one for one.
func (l *liveSteps) matchesQuery(ctx context.Context, metric string) error {
	q, err := l.s.query(ctx, "", metric, "interval=raw&max_points=100000")
	if err != nil {
		return err
	}
	stored := map[string]float64{}
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			stored[fmt.Sprintf("%s/%d", sr.Tags["host"], p.TS)] = p.Value
		}
	}
	ls, err := l.stream("")
	if err != nil {
		return err
	}
	ls.mu.Lock()
	ps, err := ls.points()
	ls.mu.Unlock()
	if err != nil {
		return err
	}
	got, _ := distinctPoints(ps)
	if len(got) != len(stored) {
		return fmt.Errorf("stream has %d distinct points, the store %d", len(got), len(stored))
	}
	for k, v := range stored {
		if gv, ok := got[k]; !ok || gv != v {
			return fmt.Errorf("stored point %s=%g: the stream has %g (present %v)", k, v, gv, ok)
		}
	}
	return nil
}
