package features_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
)

// settleBound is how long a step waits for accepted samples to become
// queryable ("within a second" in the feature files).
const settleBound = time.Second

// pollEvery is the polling period of the waiting steps.
const pollEvery = 20 * time.Millisecond

// tenantRef is a tenant a scenario created, with its one token.
type tenantRef struct {
	slug    string
	id      int64
	token   string // the plain token, as a client holds it
	tokenID string
}

// answer is the last HTTP answer a scenario received.
type answer struct {
	status int
	body   []byte
	header http.Header
}

// scenario is the state of one scenario; ScenarioInitializer makes a new one
// for every scenario, so scenarios share nothing but the server.
type scenario struct {
	srv     *server
	start   time.Time             // the scenario's "now", whole seconds
	tenants map[string]*tenantRef // by the name the feature uses; "" = the Background tenant
	last    answer
	history []answer // every answer, in order
	barrier int
	// own is the server this scenario started for itself (srv then points
	// to it); the scenario stops it when it ends.
	own *server
	// idemSuffix makes the scenario's Idempotency-Keys its own.
	idemSuffix string
	// mq is the scenario's MQTT clients and outcomes (mqtt.feature), made on first use.
	mq *mqttState
	// roll is what rollups.feature remembers, made on first use.
	roll *rollupState
	// burst is what nothing_lost.feature's burst sent.
	burst *burstState
}

func newScenario(srv *server) *scenario {
	return &scenario{srv: srv, start: time.Now().UTC().Truncate(time.Second), tenants: map[string]*tenantRef{}}
}

func (s *scenario) register(sc *godog.ScenarioContext) {
	// Tenants and tokens.
	sc.Step(`^a tenant with a token scoped "([^"]*)"$`, s.aTenantWithToken)
	sc.Step(`^tenants "([^"]*)" and "([^"]*)", each with a token scoped "([^"]*)"$`, s.twoTenants)
	sc.Step(`^the token is revoked$`, s.theTokenIsRevoked)

	// Requests.
	sc.Step(`^I post to /api/metrics:$`, s.iPostDocString)
	sc.Step(`^I post a body of (\d+) MiB to /api/metrics$`, s.iPostABodyOfMiB)
	sc.Step(`^I post (\d+) samples of "([^"]*)" in one request$`, s.iPostNSamples)
	sc.Step(`^I post a sample of "([^"]*)" and the answer is 202$`, s.iPostASampleAccepted)
	sc.Step(`^I call (POST|GET) (\S+) with (no|an unknown|a malformed|a "Bearer"|a truncated|a tampered|my) token$`, s.iCallWithToken)
	sc.Step(`^"([^"]*)" posts (\{.*\})$`, s.tenantPosts)
	sc.Step(`^"([^"]*)" posts a sample of "([^"]*)" naming "([^"]*)" as its tenant$`, s.tenantPostsNamingOther)

	// Answers.
	sc.Step(`^the answer is (\d+)$`, s.theAnswerIs)
	sc.Step(`^the answer is (\d+) with a request_id and accepted (\d+)$`, s.theAnswerIsAccepted)
	sc.Step(`^the answer is (\d+) with a JSON error$`, s.theAnswerIsJSONError)
	sc.Step(`^the answer is (\d+) with a JSON error naming the limit "([^"]*)"$`, s.theAnswerNamesLimit)
	sc.Step(`^the errors list index (\d+) field "([^"]*)"$`, s.theErrorsList)

	// Queries.
	sc.Step(`^within a second "([^"]*)" has (\d+) points?$`, s.withinASecondHasPoints)
	sc.Step(`^the query of "([^"]*)" shows a point at (\{\{[^}]*\}\}|\d+) with value (\S+) and tags "([^"]*)"$`, s.theQueryShowsPoint)
	sc.Step(`^the point of "([^"]*)" is no more than a minute away from the scenario's start$`, s.thePointIsNearStart)
	sc.Step(`^the query of "([^"]*)" has (\d+) series$`, s.theQueryHasSeries)
	sc.Step(`^the query of "([^"]*)" with "([^"]*)" has (\d+) series with (\d+) points?$`, s.theFilteredQueryHas)
	sc.Step(`^nothing is stored for "([^"]*)"$`, s.nothingIsStoredFor)
	sc.Step(`^within a second "([^"]*)" sees (\d+) points? of "([^"]*)"$`, s.tenantSeesPoints)
	sc.Step(`^"([^"]*)" sees no series of "([^"]*)"$`, s.tenantSeesNoSeries)
	sc.Step(`^"([^"]*)" sees only the value (\S+) in "([^"]*)"$`, s.tenantSeesOnlyValue)

	s.registerLimits(sc)
	s.registerMQTT(sc)
	s.registerNothingLost(sc)
	s.registerRollups(sc)
	s.registerRetention(sc)
}

// ---- tenants and tokens ----

func uniqueSlug(name string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	if name == "" {
		name = "t"
	}
	return name + "-" + hex.EncodeToString(b)
}

func (s *scenario) createTenant(ctx context.Context, name, scopes string) (*tenantRef, error) {
	return s.createTenantWith(ctx, name, scopes, 0, 0)
}

// createTenantWith creates a tenant with a retention (0 = the default) and
// one token with its own quota in samples per minute (0 = the default).
func (s *scenario) createTenantWith(ctx context.Context, name, scopes string, retentionDays int, rateLimit int64) (*tenantRef, error) {
	sc, err := token.ParseScopes(scopes)
	if err != nil {
		return nil, err
	}
	slug := uniqueSlug(name)
	t, err := s.srv.tenancy.CreateTenant(ctx, audit.CLI(), slug, "", retentionDays)
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	issued, err := s.srv.tenancy.CreateToken(ctx, audit.CLI(), slug, token.Spec{Name: "features", Scopes: sc, RateLimit: rateLimit})
	if err != nil {
		return nil, fmt.Errorf("create token for %s: %w", slug, err)
	}
	ref := &tenantRef{slug: slug, id: t.ID, token: issued.Plain, tokenID: issued.Token.ID}
	s.tenants[name] = ref
	return ref, nil
}

func (s *scenario) aTenantWithToken(ctx context.Context, scopes string) error {
	_, err := s.createTenant(ctx, "", scopes)
	return err
}

func (s *scenario) twoTenants(ctx context.Context, a, b, scopes string) error {
	for _, name := range []string{a, b} {
		if _, err := s.createTenant(ctx, name, scopes); err != nil {
			return err
		}
	}
	return nil
}

func (s *scenario) tenant(name string) (*tenantRef, error) {
	t, ok := s.tenants[name]
	if !ok {
		return nil, fmt.Errorf("no tenant %q in this scenario (create it in a Given step)", name)
	}
	return t, nil
}

func (s *scenario) theTokenIsRevoked(ctx context.Context) error {
	t, err := s.tenant("")
	if err != nil {
		return err
	}
	return s.srv.tenancy.RevokeToken(ctx, audit.CLI(), t.tokenID)
}

// ---- placeholders ----

var placeholder = regexp.MustCompile(`\{\{(rfc3339|unix|unixms) ([+-]\d+[smh])\}\}`)

// expand replaces {{rfc3339 -5m}}, {{unix -5m}} and {{unixms -5m}} with the
// scenario's start shifted by the offset, in the named format.
func (s *scenario) expand(text string) (string, error) {
	var bad error
	out := placeholder.ReplaceAllStringFunc(text, func(m string) string {
		parts := placeholder.FindStringSubmatch(m)
		d, err := time.ParseDuration(parts[2])
		if err != nil {
			bad = fmt.Errorf("placeholder %s: %w", m, err)
			return m
		}
		at := s.start.Add(d)
		switch parts[1] {
		case "rfc3339":
			return at.Format(time.RFC3339)
		case "unix":
			return strconv.FormatInt(at.Unix(), 10)
		default:
			return strconv.FormatInt(at.UnixMilli(), 10)
		}
	})
	if bad == nil && strings.Contains(out, "{{") {
		bad = fmt.Errorf("unknown placeholder in %q (want {{rfc3339|unix|unixms ±N[smh]}})", out)
	}
	return out, bad
}

// ---- requests ----

// do sends one request and keeps the answer as the scenario's last.
func (s *scenario) do(ctx context.Context, method, path, tok string, body []byte, hdr ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.srv.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.send(req, tok, hdr...)
}

// send sends a prepared request with the token and extra headers (name,
// value pairs) and keeps the answer as the scenario's last.
func (s *scenario) send(req *http.Request, tok string, hdr ...string) (answer, error) {
	method, path := req.Method, req.URL.Path
	if tok != "" {
		req.Header.Set("X-API-Token", tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	a := answer{status: resp.StatusCode, body: b, header: resp.Header}
	s.last = a
	s.history = append(s.history, a)
	return a, nil
}

func (s *scenario) post(ctx context.Context, tenantName string, body []byte) (answer, error) {
	t, err := s.tenant(tenantName)
	if err != nil {
		return answer{}, err
	}
	return s.do(ctx, http.MethodPost, "/api/metrics", t.token, body)
}

func (s *scenario) iPostDocString(ctx context.Context, doc *godog.DocString) error {
	body, err := s.expand(doc.Content)
	if err != nil {
		return err
	}
	_, err = s.post(ctx, "", []byte(body))
	return err
}

func (s *scenario) iPostABodyOfMiB(ctx context.Context, mib int) error {
	sample := fmt.Sprintf(`{"name":"cpu.load","value":1,"ts":%d}`, s.start.Add(-time.Minute).Unix())
	var b bytes.Buffer
	b.WriteByte('[')
	for b.Len() < mib<<20 {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(sample)
	}
	b.WriteByte(']')
	_, err := s.post(ctx, "", b.Bytes())
	return err
}

func (s *scenario) iPostNSamples(ctx context.Context, n int, name string) error {
	var b bytes.Buffer
	b.WriteByte('[')
	base := s.start.Add(-30 * time.Minute).UnixMilli()
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"value":%d,"ts":%d}`, name, i, base+int64(i))
	}
	b.WriteByte(']')
	_, err := s.post(ctx, "", b.Bytes())
	return err
}

func (s *scenario) iPostASampleAccepted(ctx context.Context, name string) error {
	a, err := s.post(ctx, "", []byte(fmt.Sprintf(`{"name":%q,"value":1}`, name)))
	if err != nil {
		return err
	}
	return expectStatus(a, http.StatusAccepted)
}

// presentedToken is the X-API-Token value a step asks for.
func (s *scenario) presentedToken(which string) (string, error) {
	t, err := s.tenant("")
	if err != nil {
		return "", err
	}
	switch which {
	case "no":
		return "", nil
	case "my":
		return t.token, nil
	case "an unknown": // well formed, valid checksum, never stored
		issued, err := token.Issue(rand.Reader, t.id, "unknown", []token.Scope{token.ScopeIngest, token.ScopeRead}, s.start)
		if err != nil {
			return "", err
		}
		return issued.Plain, nil
	case "a malformed":
		return "not-a-pulse-token", nil
	case `a "Bearer"`:
		return "Bearer " + t.token, nil
	case "a truncated":
		return t.token[:len(t.token)-1], nil
	case "a tampered": // same id, one secret character changed: the checksum no longer matches
		b := []byte(t.token)
		i := len("pulse_") + 12
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b), nil
	}
	return "", fmt.Errorf("unknown token kind %q", which)
}

func (s *scenario) iCallWithToken(ctx context.Context, method, path, which string) error {
	tok, err := s.presentedToken(which)
	if err != nil {
		return err
	}
	if method == http.MethodPost {
		_, err = s.do(ctx, method, path, tok, []byte(`{"name":"auth.check","value":1}`))
		return err
	}
	_, err = s.do(ctx, method, path+"?name=auth.check", tok, nil)
	return err
}

func (s *scenario) tenantPosts(ctx context.Context, name, body string) error {
	a, err := s.post(ctx, name, []byte(body))
	if err != nil {
		return err
	}
	return expectStatus(a, http.StatusAccepted)
}

func (s *scenario) tenantPostsNamingOther(ctx context.Context, name, metric, other string) error {
	o, err := s.tenant(other)
	if err != nil {
		return err
	}
	body := fmt.Sprintf(`[{"name":%q,"value":1,"tenant":%q,"tenant_id":%d,"tenant_slug":%q}]`, metric, o.slug, o.id, o.slug)
	a, err := s.post(ctx, name, []byte(body))
	if err != nil {
		return err
	}
	return expectStatus(a, http.StatusAccepted)
}

// ---- answers ----

func expectStatus(a answer, want int) error {
	if a.status != want {
		return fmt.Errorf("answer is %d, want %d; body: %s", a.status, want, truncate(a.body))
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

func (s *scenario) theAnswerIs(want int) error { return expectStatus(s.last, want) }

func (s *scenario) theAnswerIsAccepted(want, accepted int) error {
	if err := expectStatus(s.last, want); err != nil {
		return err
	}
	var body struct {
		RequestID *string `json:"request_id"`
		Accepted  *int    `json:"accepted"`
	}
	if err := json.Unmarshal(s.last.body, &body); err != nil {
		return fmt.Errorf("202 body is not JSON: %v: %s", err, truncate(s.last.body))
	}
	if body.RequestID == nil || *body.RequestID == "" {
		return fmt.Errorf("202 body has no request_id: %s", truncate(s.last.body))
	}
	if body.Accepted == nil || *body.Accepted != accepted {
		return fmt.Errorf("202 body accepted is not %d: %s", accepted, truncate(s.last.body))
	}
	return nil
}

// errorAnswer is the JSON of every error answer.
type errorAnswer struct {
	Error  string `json:"error"`
	Errors []struct {
		Index   *int   `json:"index"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Limit string `json:"limit"`
	Max   int64  `json:"max"`
}

func (s *scenario) errorBody(want int) (errorAnswer, error) {
	var e errorAnswer
	if err := expectStatus(s.last, want); err != nil {
		return e, err
	}
	if err := json.Unmarshal(s.last.body, &e); err != nil {
		return e, fmt.Errorf("%d body is not JSON: %v: %s", want, err, truncate(s.last.body))
	}
	if e.Error == "" {
		return e, fmt.Errorf(`%d body has no "error" message: %s`, want, truncate(s.last.body))
	}
	return e, nil
}

func (s *scenario) theAnswerIsJSONError(want int) error {
	_, err := s.errorBody(want)
	return err
}

func (s *scenario) theAnswerNamesLimit(want int, limit string) error {
	e, err := s.errorBody(want)
	if err != nil {
		return err
	}
	if e.Limit != limit || e.Max <= 0 || !strings.Contains(e.Error, limit) {
		return fmt.Errorf("answer does not name the limit %s with its value: %s", limit, truncate(s.last.body))
	}
	return nil
}

func (s *scenario) theErrorsList(index int, field string) error {
	e, err := s.errorBody(http.StatusUnprocessableEntity)
	if err != nil {
		return err
	}
	for _, fe := range e.Errors {
		if fe.Index != nil && *fe.Index == index && fe.Field == field && fe.Message != "" {
			return nil
		}
	}
	return fmt.Errorf("errors do not list index %d field %q with a message: %s", index, field, truncate(s.last.body))
}
