package features_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/cucumber/godog"
)

// Steps of nothing_lost.feature: what was accepted is compared with what
// is stored, by count and by sum.

// burstState is what the burst sent and expects stored.
type burstState struct {
	name     string
	answers  []answer
	keys     map[string]float64 // series|ts → the value first sent
	timeless int                // samples sent without ts (their ts is the server's)
	timeSum  float64
	resent   int // samples sent again with their stored (series, ts)
	accepted int
}

func (s *scenario) registerNothingLost(sc *godog.ScenarioContext) {
	sc.Step(`^I post (\d+) samples of "([^"]*)" (\d+) ms apart in one request$`, s.iPostDense)
	sc.Step(`^I post (\d+) requests of one sample of "([^"]*)" without ts, (\d+) ms apart$`, s.iPostTimeless)
	sc.Step(`^once the queue is drained I post to /api/metrics:$`, s.onceDrainedIPost)
	sc.Step(`^within (\d+) seconds /metrics counts (\d+) duplicate samples? of my tenant$`, s.metricsCountDuplicates)
	sc.Step(`^I post a burst of (\d+) requests of "([^"]*)" mixing dense, out-of-order, resent and timestamp-less samples$`, s.iPostBurst)
	sc.Step(`^every request of the burst is answered 202$`, s.everyBurstRequestAccepted)
	sc.Step(`^once the queue is drained "([^"]*)" holds exactly the samples accepted, by count and by sum$`, s.burstStoredExactly)
	sc.Step(`^within (\d+) seconds /metrics counts the burst's resent samples as duplicates of my tenant$`, s.metricsCountBurstDuplicates)
	sc.Step(`^I publish (\d+) samples of "([^"]*)" (\d+) ms apart in one message to "([^"]*)"$`, s.iPublishDense)
	sc.Step(`^I publish (\d+) messages of one sample of "([^"]*)" without ts to "([^"]*)", one right after the other$`, s.iPublishTimeless)
}

func (s *scenario) iPublishDense(n int, name string, gapMS int, topic string) error {
	return s.publish("", topic, string(s.denseBody(n, name, gapMS)))
}

func (s *scenario) iPublishTimeless(n int, name, topic string) error {
	for k := range n {
		if err := s.publish("", topic, fmt.Sprintf(`{"name":%q,"value":%d}`, name, k)); err != nil {
			return fmt.Errorf("message %d: %w", k, err)
		}
	}
	return nil
}

// denseBody is n samples of one series gapMS apart, valued 0 to n-1.
func (s *scenario) denseBody(n int, name string, gapMS int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	base := s.start.Add(-10 * time.Minute).UnixMilli()
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"value":%d,"ts":%d}`, name, i, base+int64(i*gapMS))
	}
	b.WriteByte(']')
	return b.Bytes()
}

func (s *scenario) iPostDense(ctx context.Context, n int, name string, gapMS int) error {
	_, err := s.post(ctx, "", s.denseBody(n, name, gapMS))
	return err
}

func (s *scenario) iPostTimeless(ctx context.Context, n int, name string, gapMS int) error {
	for k := range n {
		a, err := s.post(ctx, "", []byte(fmt.Sprintf(`{"name":%q,"value":%d}`, name, k)))
		if err != nil {
			return err
		}
		if err := expectStatus(a, http.StatusAccepted); err != nil {
			return fmt.Errorf("request %d: %w", k, err)
		}
		time.Sleep(time.Duration(gapMS) * time.Millisecond)
	}
	return nil
}

func (s *scenario) onceDrainedIPost(ctx context.Context, doc *godog.DocString) error {
	if err := s.waitDrained(ctx); err != nil {
		return err
	}
	return s.iPostDocString(ctx, doc)
}

func (s *scenario) metricsCountDuplicates(ctx context.Context, secs, want int) error {
	t, err := s.tenant("")
	if err != nil {
		return err
	}
	return s.waitMetric(ctx, secs, float64(want), "pulse_samples_duplicate_total", `tenant="`+t.slug+`"`)
}

// iPostBurst sends n requests, sequentially, each with 20 samples of one
// series 10 ms apart, 5 more of it in descending order, and (from the
// second on) 5 exact resends of the previous request's samples; every
// fourth request is followed by a timestamp-less single sample.
func (s *scenario) iPostBurst(ctx context.Context, n int, name string) error {
	st := &burstState{name: name, keys: map[string]float64{}}
	s.burst = st
	base := s.start.Add(-20 * time.Minute).UnixMilli()
	type smp struct {
		host  string
		ts    int64
		value float64
	}
	var prev []smp
	for k := range n {
		host := "h" + strconv.Itoa(k%3)
		var req []smp
		for i := range 20 { // dense
			req = append(req, smp{host, base + int64(k)*1000 + int64(i)*10, float64(k*100+i) + 0.25})
		}
		for j := range 5 { // out of order, between the dense ones
			req = append(req, smp{host, base + int64(k)*1000 + 995 - int64(j)*7, float64(k*100+50+j) + 0.5})
		}
		if k > 0 { // resends: the same (series, ts, value) as already sent
			req = append(req, prev[:5]...)
			st.resent += 5
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for i, p := range req {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":%q,"value":%s,"tags":{"host":%q},"ts":%d}`, name, strconv.FormatFloat(p.value, 'g', -1, 64), p.host, p.ts)
			key := p.host + "|" + strconv.FormatInt(p.ts, 10)
			if _, seen := st.keys[key]; !seen {
				st.keys[key] = p.value
			}
		}
		b.WriteByte(']')
		a, err := s.post(ctx, "", b.Bytes())
		if err != nil {
			return err
		}
		st.answers = append(st.answers, a)
		prev = req
		if k%4 == 3 {
			v := float64(k) + 0.125
			a, err := s.post(ctx, "", []byte(fmt.Sprintf(`{"name":%q,"value":%s,"tags":{"host":"timeless"}}`, name, strconv.FormatFloat(v, 'g', -1, 64))))
			if err != nil {
				return err
			}
			st.answers = append(st.answers, a)
			st.timeless++
			st.timeSum += v
			time.Sleep(3 * time.Millisecond)
		}
	}
	return nil
}

func (s *scenario) everyBurstRequestAccepted(context.Context) error {
	if s.burst == nil {
		return fmt.Errorf("no burst was posted")
	}
	for i, a := range s.burst.answers {
		if err := expectStatus(a, http.StatusAccepted); err != nil {
			return fmt.Errorf("burst request %d: %w", i, err)
		}
		var got struct {
			Accepted int `json:"accepted"`
		}
		if err := json.Unmarshal(a.body, &got); err != nil {
			return fmt.Errorf("burst request %d: %w", i, err)
		}
		s.burst.accepted += got.Accepted
	}
	return nil
}

func (s *scenario) burstStoredExactly(ctx context.Context, name string) error {
	st := s.burst
	if err := s.waitDrained(ctx); err != nil {
		return err
	}
	if want := len(st.keys) + st.resent + st.timeless; st.accepted != want {
		return fmt.Errorf("the answers accepted %d samples, the burst sent %d", st.accepted, want)
	}
	q, err := s.query(ctx, "", name, "interval=raw&max_points=100000")
	if err != nil {
		return err
	}
	wantCount := len(st.keys) + st.timeless
	wantSum := st.timeSum
	for _, v := range st.keys {
		wantSum += v
	}
	gotCount, gotSum := 0, 0.0
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			gotCount++
			gotSum += p.Value
		}
	}
	if gotCount != wantCount || math.Abs(gotSum-wantSum) > 1e-6*math.Abs(wantSum) {
		return fmt.Errorf("stored %d samples summing to %g; accepted %d distinct (series, ts) summing to %g (and %d resends)",
			gotCount, gotSum, wantCount, wantSum, st.resent)
	}
	return nil
}

func (s *scenario) metricsCountBurstDuplicates(ctx context.Context, secs int) error {
	return s.metricsCountDuplicates(ctx, secs, s.burst.resent)
}
