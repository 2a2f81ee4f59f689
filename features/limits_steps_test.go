package features_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
)

// Steps of limits.feature: servers of a scenario's own, the fake clock,
// quotas, safe retries, the series cap, back-pressure and the named limits.

// drainBoundFeature bounds the wait for a scenario's own queue to empty.
const drainBoundFeature = 5 * time.Second

func (s *scenario) registerLimits(sc *godog.ScenarioContext) {
	// Servers and the clock.
	sc.Step(`^a server with settings:$`, s.aServerWithSettings)
	sc.Step(`^a server with its workers held back and settings:$`, s.aServerWithWorkersHeldBack)
	sc.Step(`^a server of its own$`, s.aServerOfItsOwn)
	sc.Step(`^a server of its own on the wall clock$`, s.aServerOfItsOwnOnTheWallClock)
	sc.Step(`^the clock advances (\d+) (seconds?|minutes?)$`, s.theClockAdvances)
	sc.Step(`^the workers start$`, s.theWorkersStart)

	// Tenants.
	sc.Step(`^tenant "([^"]*)" with a token scoped "([^"]*)" and its own quota of (\d+) samples per minute$`, s.tenantWithOwnQuota)
	sc.Step(`^a tenant with a retention of (\d+) days? and a token scoped "([^"]*)"$`, s.aTenantWithRetention)

	// Requests.
	sc.Step(`^I post (\d+) samples? of "([^"]*)" numbered from (\d+)$`, s.iPostNumbered)
	sc.Step(`^"([^"]*)" posts (\d+) samples? of "([^"]*)" numbered from (\d+)$`, s.tenantPostsNumbered)
	sc.Step(`^I post (\d+) requests of one sample of "([^"]*)", each answered 202$`, s.iPostRequests)
	sc.Step(`^I post to /api/metrics with Idempotency-Key "([^"]*)":$`, s.iPostWithIdempotencyKey)
	sc.Step(`^"([^"]*)" posts with Idempotency-Key "([^"]*)" (\{.*\})$`, s.tenantPostsWithIdempotencyKey)
	sc.Step(`^"([^"]*)" tries to post (.+)$`, s.tenantTriesToPost)
	sc.Step(`^(\d+) clients post at once a sample of "([^"]*)" with the dedupe_id "([^"]*)", each with its own value and time$`, s.clientsPostSameDedupeID)
	sc.Step(`^I post a sample of "([^"]*)" with `+limitCase+`$`, s.iPostASampleWith)
	sc.Step(`^I post a valid sample of "([^"]*)" and one with `+limitCase+`$`, s.iPostAValidSampleAndOneWith)
	sc.Step(`^I post gzipped to /api/metrics:$`, s.iPostGzipped)
	sc.Step(`^I post a gzip body that decodes to (\d+) MiB of zeros$`, s.iPostAGzipBomb)

	// Answers.
	sc.Step(`^the answer is (\d+) with a JSON error naming the limit "([^"]*)" of (\d+)$`, s.theAnswerNamesLimitOf)
	sc.Step(`^the answer carries X-RateLimit-Limit (\d+) and X-RateLimit-Remaining (\d+)$`, s.theAnswerCarriesRateHeaders)
	sc.Step(`^the answer carries a Retry-After of (\d+) to (\d+) seconds$`, s.theAnswerCarriesRetryAfter)
	sc.Step(`^the answer replays the first request, with the header Idempotent-Replayed "true"$`, s.theAnswerReplaysTheFirst)
	sc.Step(`^the answer has a new request_id and no header Idempotent-Replayed$`, s.theAnswerHasANewRequestID)
	sc.Step(`^the errors list index (\d+) field "([^"]*)" with a message containing "([^"]*)"$`, s.theErrorsListWithMessage)

	// Queries.
	sc.Step(`^within (\d+) seconds "([^"]*)" has (\d+) points?$`, s.withinSecondsHasPoints)
	sc.Step(`^once the queue is drained "([^"]*)" still has (\d+) points?$`, s.onceDrainedStillHas)
	sc.Step(`^once the queue is drained "([^"]*)" still has (\d+) points?, with one of the values sent$`, s.onceDrainedStillHasOneOfTheValues)
	sc.Step(`^"([^"]*)" sees no series of "([^"]*)" with "([^"]*)"$`, s.tenantSeesNoSeriesWith)

	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		if s.own == nil {
			return ctx, nil
		}
		err := s.own.stop()
		s.own = nil
		if err != nil {
			return ctx, fmt.Errorf("stopping the scenario's server: %w", err)
		}
		return ctx, nil
	})
}

// ---- servers and the clock ----

// launchOwn starts a server for this scenario alone, on a fake clock, with
// the mode's settings plus extra: in embedded mode its own data directory,
// in distributed mode the mode's database but its own queue stream (so its
// backlog is its own) and quota keys.
func (s *scenario) launchOwn(extra map[string]string, hold bool) error {
	return s.launchOwnClock(extra, hold, newFakeClock())
}

// launchOwnClock is launchOwn on clock (nil: the wall clock, for samples
// that take the server's time and must not all get one instant).
func (s *scenario) launchOwnClock(extra map[string]string, hold bool, clock *fakeClock) error {
	if s.own != nil {
		return errors.New("this scenario already started its own server")
	}
	if len(s.tenants) > 0 {
		return errors.New("start the scenario's server before creating tenants (they live in its database)")
	}
	env := maps.Clone(s.srv.env)
	var dataDir string
	if env["PULSE_DATABASE_URL"] == "" {
		dir, err := os.MkdirTemp("", "pulse-features-")
		if err != nil {
			return err
		}
		dataDir, env["PULSE_DATA_DIR"] = dir, dir
	} else {
		own := uniqueSlug("own")
		env["PULSE_QUEUE_STREAM"] += ":" + own // still under the test's Redis prefix
		env["PULSE_RATE_LIMIT_PREFIX"] += own + ":"
		env["PULSE_LIVE_STREAM"] += ":" + own
	}
	maps.Copy(env, extra)
	srv, err := launch(s.srv.mode, env, launchOptions{clock: clock, holdWorkers: hold, mqtt: s.srv.mqttAddr != ""})
	if err != nil {
		if dataDir != "" {
			_ = os.RemoveAll(dataDir)
		}
		return err
	}
	if dataDir != "" {
		stop := srv.stop
		srv.stop = func() error { err := stop(); _ = os.RemoveAll(dataDir); return err }
	}
	s.own, s.srv = srv, srv
	if clock != nil {
		s.start = clock.Now()
	}
	return nil
}

func settingsTable(t *godog.Table) (map[string]string, error) {
	out := map[string]string{}
	for _, row := range t.Rows {
		if len(row.Cells) != 2 || !strings.HasPrefix(row.Cells[0].Value, "PULSE_") {
			return nil, errors.New("settings table rows are | PULSE_NAME | value |")
		}
		out[row.Cells[0].Value] = row.Cells[1].Value
	}
	return out, nil
}

func (s *scenario) aServerWithSettings(t *godog.Table) error {
	env, err := settingsTable(t)
	if err != nil {
		return err
	}
	return s.launchOwn(env, false)
}

func (s *scenario) aServerWithWorkersHeldBack(t *godog.Table) error {
	env, err := settingsTable(t)
	if err != nil {
		return err
	}
	return s.launchOwn(env, true)
}

func (s *scenario) aServerOfItsOwn() error { return s.launchOwn(nil, false) }

func (s *scenario) aServerOfItsOwnOnTheWallClock() error { return s.launchOwnClock(nil, false, nil) }

func (s *scenario) theClockAdvances(n int, unit string) error {
	if s.srv.clock == nil {
		return errors.New("this scenario's server reads the wall clock: start one with \"a server with settings:\"")
	}
	d := time.Duration(n) * time.Second
	if strings.HasPrefix(unit, "minute") {
		d = time.Duration(n) * time.Minute
	}
	s.srv.clock.Advance(d)
	return nil
}

func (s *scenario) theWorkersStart() error {
	if s.srv.startWorkers == nil {
		return errors.New("this scenario's server was not started with its workers held back")
	}
	s.srv.startWorkers()
	return nil
}

// ---- tenants ----

func (s *scenario) tenantWithOwnQuota(ctx context.Context, name, scopes string, perMinute int64) error {
	_, err := s.createTenantWith(ctx, name, scopes, 0, perMinute)
	return err
}

func (s *scenario) aTenantWithRetention(ctx context.Context, days int, scopes string) error {
	_, err := s.createTenantWith(ctx, "", scopes, days, 0)
	return err
}

// ---- requests ----

// numbered is n samples of name, sample k (k = from…from+n-1) with the
// value k at the scenario's start - 20 min + k×100 ms: distinct points.
func (s *scenario) numbered(name string, n, from int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	base := s.start.Add(-20 * time.Minute).UnixMilli()
	for k := from; k < from+n; k++ {
		if k > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"value":%d,"ts":%d}`, name, k, base+int64(k)*100)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func (s *scenario) iPostNumbered(ctx context.Context, n int, name string, from int) error {
	_, err := s.post(ctx, "", s.numbered(name, n, from))
	return err
}

func (s *scenario) tenantPostsNumbered(ctx context.Context, tenantName string, n int, name string, from int) error {
	_, err := s.post(ctx, tenantName, s.numbered(name, n, from))
	return err
}

func (s *scenario) iPostRequests(ctx context.Context, n int, name string) error {
	for k := 0; k < n; k++ {
		a, err := s.post(ctx, "", s.numbered(name, 1, k))
		if err != nil {
			return err
		}
		if err := expectStatus(a, http.StatusAccepted); err != nil {
			return fmt.Errorf("request %d of %d: %w", k+1, n, err)
		}
	}
	return nil
}

func (s *scenario) postWithKey(ctx context.Context, tenantName, key string, body []byte) error {
	t, err := s.tenant(tenantName)
	if err != nil {
		return err
	}
	// The key is made unique to the scenario: keys are per tenant, but a
	// tenant id can repeat across test databases sharing one Redis.
	_, err = s.do(ctx, http.MethodPost, "/api/metrics", t.token, body, "Idempotency-Key", key+"-"+s.keySuffix())
	return err
}

func (s *scenario) iPostWithIdempotencyKey(ctx context.Context, key string, doc *godog.DocString) error {
	body, err := s.expand(doc.Content)
	if err != nil {
		return err
	}
	return s.postWithKey(ctx, "", key, []byte(body))
}

func (s *scenario) tenantPostsWithIdempotencyKey(ctx context.Context, tenantName, key, body string) error {
	return s.postWithKey(ctx, tenantName, key, []byte(body))
}

func (s *scenario) tenantTriesToPost(ctx context.Context, tenantName, body string) error {
	_, err := s.post(ctx, tenantName, []byte(body))
	return err
}

// clientsPostSameDedupeID sends n requests at once, each one sample of name
// with the same dedupe_id, value k+1 and its own ts; all must answer 202.
func (s *scenario) clientsPostSameDedupeID(ctx context.Context, n int, name, dedupeID string) error {
	t, err := s.tenant("")
	if err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for k := 0; k < n; k++ {
		body := fmt.Sprintf(`{"name":%q,"value":%d,"dedupe_id":%q,"ts":%d}`,
			name, k+1, dedupeID, s.start.Add(-time.Duration(k+1)*time.Second).UnixMilli())
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, b, err := rawPost(ctx, s.srv.baseURL+"/api/metrics", t.token, []byte(body), nil)
			if err == nil && status != http.StatusAccepted {
				err = fmt.Errorf("answered %d: %s", status, truncate(b))
			}
			errs[k] = err
		}()
	}
	close(start)
	wg.Wait()
	return errors.Join(errs...)
}

// rawPost posts without touching the scenario (safe from several goroutines).
func rawPost(ctx context.Context, url, tok string, body []byte, hdr http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	maps.Copy(req.Header, hdr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Token", tok)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// limitCase is the sample a limit step builds.
const limitCase = `(\d+ tags|a tag key of \d+ bytes|a tag value of \d+ bytes|a name of \d+ bytes)`

var limitCaseRe = regexp.MustCompile(`^(?:(\d+) tags|a tag key of (\d+) bytes|a tag value of (\d+) bytes|a name of (\d+) bytes)$`)

// limitSample is one sample of name shaped by what: tags t00…, a key
// kkk…k, a value vvv…v, or a name that is name padded with x.
func (s *scenario) limitSample(name, what string) (string, error) {
	m := limitCaseRe.FindStringSubmatch(what)
	if m == nil {
		return "", fmt.Errorf("unknown limit case %q", what)
	}
	tags := map[string]string{}
	switch {
	case m[1] != "":
		n, _ := strconv.Atoi(m[1])
		for i := 0; i < n; i++ {
			tags[fmt.Sprintf("t%02d", i)] = "v"
		}
	case m[2] != "":
		n, _ := strconv.Atoi(m[2])
		tags[strings.Repeat("k", n)] = "v"
	case m[3] != "":
		n, _ := strconv.Atoi(m[3])
		tags["k"] = strings.Repeat("v", n)
	default:
		n, _ := strconv.Atoi(m[4])
		if n < len(name) {
			return "", fmt.Errorf("a name of %d bytes cannot start with %q", n, name)
		}
		name += strings.Repeat("x", n-len(name))
	}
	b, err := json.Marshal(map[string]any{"name": name, "value": 1, "tags": tags, "ts": s.start.Add(-time.Minute).Unix()})
	return string(b), err
}

func (s *scenario) iPostASampleWith(ctx context.Context, name, what string) error {
	smp, err := s.limitSample(name, what)
	if err != nil {
		return err
	}
	_, err = s.post(ctx, "", []byte(smp))
	return err
}

func (s *scenario) iPostAValidSampleAndOneWith(ctx context.Context, name, what string) error {
	smp, err := s.limitSample(name, what)
	if err != nil {
		return err
	}
	valid := fmt.Sprintf(`{"name":%q,"value":1,"ts":%d}`, name, s.start.Add(-time.Minute).Unix())
	_, err = s.post(ctx, "", []byte("["+valid+","+smp+"]"))
	return err
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func (s *scenario) postGzip(ctx context.Context, body []byte) error {
	t, err := s.tenant("")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.baseURL+"/api/metrics", bytes.NewReader(gzipped(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	_, err = s.send(req, t.token)
	return err
}

func (s *scenario) iPostGzipped(ctx context.Context, doc *godog.DocString) error {
	body, err := s.expand(doc.Content)
	if err != nil {
		return err
	}
	return s.postGzip(ctx, []byte(body))
}

func (s *scenario) iPostAGzipBomb(ctx context.Context, mib int) error {
	return s.postGzip(ctx, make([]byte, mib<<20))
}

// ---- answers ----

func (s *scenario) theAnswerNamesLimitOf(want int, limit string, max int64) error {
	if err := s.theAnswerNamesLimit(want, limit); err != nil {
		return err
	}
	e, _ := s.errorBody(want)
	if e.Max != max || !strings.Contains(e.Error, strconv.FormatInt(max, 10)) {
		return fmt.Errorf("answer does not name the limit %s=%d: %s", limit, max, truncate(s.last.body))
	}
	return nil
}

func headerInt(a answer, name string) (int64, error) {
	v := a.header.Get(name)
	if v == "" {
		return 0, fmt.Errorf("the %d answer has no %s header (headers: %v)", a.status, name, a.header)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an integer", name, v)
	}
	return n, nil
}

func (s *scenario) theAnswerCarriesRateHeaders(limit, remaining int64) error {
	gotLimit, err := headerInt(s.last, "X-RateLimit-Limit")
	if err != nil {
		return err
	}
	gotRemaining, err := headerInt(s.last, "X-RateLimit-Remaining")
	if err != nil {
		return err
	}
	reset, err := headerInt(s.last, "X-RateLimit-Reset")
	if err != nil {
		return err
	}
	if gotLimit != limit || gotRemaining != remaining {
		return fmt.Errorf("X-RateLimit-Limit %d, X-RateLimit-Remaining %d; want %d, %d", gotLimit, gotRemaining, limit, remaining)
	}
	if reset < 0 || reset > 60 {
		return fmt.Errorf("X-RateLimit-Reset %d is not within a minute (seconds until the whole quota is back)", reset)
	}
	return nil
}

func (s *scenario) theAnswerCarriesRetryAfter(lo, hi int64) error {
	n, err := headerInt(s.last, "Retry-After")
	if err != nil {
		return err
	}
	if n < lo || n > hi {
		return fmt.Errorf("Retry-After %d, want %d to %d seconds", n, lo, hi)
	}
	return nil
}

func requestID(a answer) string {
	var body struct {
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(a.body, &body)
	return body.RequestID
}

func (s *scenario) theAnswerReplaysTheFirst() error {
	if len(s.history) < 2 {
		return errors.New("the scenario has fewer than two answers")
	}
	first, last := requestID(s.history[0]), requestID(s.last)
	if first == "" || first != last {
		return fmt.Errorf("request_id %q, want the first request's %q", last, first)
	}
	if got := s.last.header.Get("Idempotent-Replayed"); got != "true" {
		return fmt.Errorf("header Idempotent-Replayed is %q, want \"true\"", got)
	}
	return nil
}

func (s *scenario) theAnswerHasANewRequestID() error {
	last := requestID(s.last)
	for _, a := range s.history[:len(s.history)-1] {
		if id := requestID(a); id != "" && id == last {
			return fmt.Errorf("request_id %q was already answered earlier in the scenario", last)
		}
	}
	if got := s.last.header.Get("Idempotent-Replayed"); got != "" {
		return fmt.Errorf("header Idempotent-Replayed is %q, want none", got)
	}
	return nil
}

func (s *scenario) theErrorsListWithMessage(index int, field, message string) error {
	e, err := s.errorBody(http.StatusUnprocessableEntity)
	if err != nil {
		return err
	}
	for _, fe := range e.Errors {
		if fe.Index != nil && *fe.Index == index && fe.Field == field && strings.Contains(fe.Message, message) {
			return nil
		}
	}
	return fmt.Errorf("errors do not list index %d field %q with a message containing %q: %s", index, field, message, truncate(s.last.body))
}

// ---- queries ----

func (s *scenario) withinSecondsHasPoints(ctx context.Context, secs int, name string, want int) error {
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for {
		q, err := s.query(ctx, "", name, "")
		if err != nil {
			return err
		}
		got := q.points()
		switch {
		case got == want:
			return nil
		case got > want:
			return fmt.Errorf("%q has %d points, want %d", name, got, want)
		case time.Now().After(deadline):
			return fmt.Errorf("%q has %d points after %d s, want %d", name, got, secs, want)
		}
		time.Sleep(pollEvery)
	}
}

// waitDrained waits until the scenario's own queue is empty: every accepted
// batch has been committed and acknowledged.
func (s *scenario) waitDrained(ctx context.Context) error {
	if s.own == nil {
		return errors.New("\"once the queue is drained\" needs a server of the scenario's own (other scenarios share the mode's queue)")
	}
	deadline := time.Now().Add(drainBoundFeature)
	for {
		n, err := s.srv.queue.Backlog(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the queue still holds %d entries after %s", n, drainBoundFeature)
		}
		time.Sleep(pollEvery)
	}
}

func (s *scenario) onceDrainedStillHas(ctx context.Context, name string, want int) error {
	if err := s.waitDrained(ctx); err != nil {
		return err
	}
	q, err := s.query(ctx, "", name, "")
	if err != nil {
		return err
	}
	if got := q.points(); got != want {
		return fmt.Errorf("%q has %d points once the queue is drained, want %d: %s", name, got, want, truncate(s.last.body))
	}
	return nil
}

func (s *scenario) onceDrainedStillHasOneOfTheValues(ctx context.Context, name string, want int) error {
	if err := s.onceDrainedStillHas(ctx, name, want); err != nil {
		return err
	}
	q, err := s.query(ctx, "", name, "")
	if err != nil {
		return err
	}
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			if p.Value != 1 && p.Value != 2 && p.Value != 3 {
				return fmt.Errorf("stored value %g is none of the values sent (1, 2, 3)", p.Value)
			}
		}
	}
	return nil
}

func (s *scenario) tenantSeesNoSeriesWith(ctx context.Context, tenantName, name, filter string) error {
	q, err := s.query(ctx, tenantName, name, filter)
	if err != nil {
		return err
	}
	if len(q.Series) != 0 {
		return fmt.Errorf("tenant %q sees %d series of %q with %s: %s", tenantName, len(q.Series), name, filter, truncate(s.last.body))
	}
	return nil
}

// keySuffix makes the scenario's Idempotency-Keys its own.
func (s *scenario) keySuffix() string {
	if s.idemSuffix == "" {
		s.idemSuffix = uniqueSlug("k")
	}
	return s.idemSuffix
}
