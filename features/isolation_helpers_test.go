package features_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/idempotency/redisidempotency"
	alertstore "github.com/pulsemetrics/pulse/adapter/store/alerts"
	"github.com/pulsemetrics/pulse/adapter/store/channels"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/notification"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// The isolation test builds its own in-process servers (rather than the
// godog suite's shared ones) because it needs the assembled http.Handler to
// list the registered routes.

// isoClient is the isolation test's HTTP client; it holds no state.
var isoClient = &http.Client{Timeout: 30 * time.Second}

// isoServer is one in-process Pulse (API and flush workers).
type isoServer struct {
	mode    string
	baseURL string
	handler http.Handler // as assembled: api.Routes reads it
	tenancy *tenancy.Service
	redis   *redis.Client // distributed mode only
	// alerts evaluates the seeded rules on demand (the isolation server
	// runs no scheduler): their history, episodes and outbox hold data.
	alerts *alerting.Service
	// notify is the pipeline's notification use case: the seed runs its
	// planner once (never its senders). db is the store, for the one
	// seeding step the API has no call for (see isoSeedMessages).
	notify *notification.Service
	// exports runs the seeded exports (the isolation server runs no
	// export loop).
	exports *export.Service
	db      *sqldb.DB
}

// isoEnv is the settings of a mode: embedded (SQLite and the embedded queue
// in a temp dir) or distributed (a fresh MariaDB database; Redis with the
// stream and quota keys under a unique prefix that the cleanup drops).
func isoEnv(t *testing.T, mode string) (map[string]string, *redis.Client) {
	env := map[string]string{"PULSE_DATA_DIR": t.TempDir()}
	var client *redis.Client
	if mode == "distributed" {
		var prefix string
		client, prefix = testservice.Redis(t)
		env["PULSE_DATABASE_URL"] = mysqlURL(t, testservice.MariaDB(t))
		env["PULSE_REDIS_URL"] = "redis://" + testservice.RedisAddr() + "/0"
		env["PULSE_QUEUE_STREAM"] = prefix + "ingest"
		env["PULSE_LIVE_STREAM"] = prefix + "live"
		env["PULSE_QUEUE_GROUP"] = "pulse-workers"
		env["PULSE_QUEUE_LEASE"] = "2s"
		env["PULSE_RATE_LIMIT_PREFIX"] = prefix + "rl:"
	}
	return env, client
}

// isoStart assembles Pulse from the Wire providers on a 127.0.0.1:0
// listener and stops it (then its queue and store) when t ends.
func isoStart(t *testing.T, mode string) *isoServer {
	t.Helper()
	env, client := isoEnv(t, mode)
	fs := flag.NewFlagSet("isolation", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--http-addr", "127.0.0.1:0", "--log-level", "error"}); err != nil {
		t.Fatalf("%s: settings: %v", mode, err)
	}
	if err := finish(); err != nil {
		t.Fatalf("%s: settings: %v", mode, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "isolation")
	if err != nil {
		cancel()
		t.Fatalf("%s: assemble: %v", mode, err)
	}
	t.Cleanup(cleanup)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("%s: listen: %v", mode, err)
	}
	a := &app.App{Name: "isolation-" + mode, Handler: p.Handler, Loops: p.Workers, Log: p.Log, ShutdownTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { // runs before the queue and store close
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: server stopped with: %v", mode, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s: server did not stop within 15s", mode)
		}
	})
	s := &isoServer{mode: mode, baseURL: "http://" + ln.Addr().String(), handler: p.Handler, tenancy: p.Tenancy, redis: client,
		alerts: wiring.ProvideAlerting(cfg, alertstore.New(p.DB), p.Samples, channels.New(p.DB), p.Log, time.Now, "isolation"),
		notify: p.Notify, db: p.DB, exports: p.Exports}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ans, err := s.do(http.MethodGet, "/healthz", "", nil); err == nil && ans.status == http.StatusOK {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /healthz not 200 within 10s", mode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isoAnswer is one HTTP answer.
type isoAnswer struct {
	status int
	header http.Header
	body   []byte
}

// text is everything the answer says: status line, headers and body.
func (a isoAnswer) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", a.status)
	keys := make([]string, 0, len(a.header))
	for k := range a.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(a.header[k], ", "))
	}
	b.Write(a.body)
	return b.String()
}

// do sends one request; tok "" sends no X-API-Token header; hdr are
// further header name/value pairs (an empty value sends nothing).
func (s *isoServer) do(method, path, tok string, body []byte, hdr ...string) (isoAnswer, error) {
	req, err := http.NewRequest(method, s.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return isoAnswer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("X-API-Token", tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] != "" {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := isoClient.Do(req)
	if err != nil {
		return isoAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// A live stream never ends by itself: its answer is its first event.
		ev := <-testservice.ReadEvents(resp.Body)
		return isoAnswer{status: resp.StatusCode, header: resp.Header, body: []byte(ev.Name + "\n" + ev.Data)}, nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return isoAnswer{}, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return isoAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// isoToken is one issued token as the test knows it.
type isoToken struct {
	id, plain, name string
}

// isoTenant is one seeded tenant. Every string in markers() is unique to it
// (a random suffix), so finding one in an answer means the answer carries
// its data.
type isoTenant struct {
	label       string // "A" or "B"
	id          int64
	slug        string
	displayName string
	retention   int
	metric      string // a metric name only this tenant has
	tagValue    string // the value of its "owner" tag
	value       string // its sample's value as JSON renders it
	dedupeID    string
	// rule is an alert rule over its metric (evaluated once, so that it
	// fired: it has an instance, history, an episode and an outbox row);
	// victim one that DELETE /api/alert-rules/{id} aims at.
	rule, victim isoRule
	// channel is the webhook channel rule notified when it fired (see
	// isoSeedRules); victimChannel one that DELETE /api/channels/{id} aims
	// at. silence mutes rule (made after the planner's pass); victimSilence
	// is one DELETE /api/silences/{id} ends. message is rule's firing
	// notice to channel, marked dead.
	channel, victimChannel isoChannel
	silence, victimSilence isoSilence
	message                isoMessage
	perMinute              int // its notification budget as the API answers it
	export                 isoExport
	// tokens by role: ingest, read, admin (each one scope), victim (a read
	// token that DELETE /api/tokens/{id} aims at) and revoked (every scope,
	// revoked).
	tokens map[string]isoToken
}

// isoMarker is one piece of a tenant's data.
type isoMarker struct{ what, value string }

func (tn *isoTenant) markers() []isoMarker {
	ms := []isoMarker{
		{"slug", tn.slug}, {"tenant name", tn.displayName}, {"metric name", tn.metric},
		{"tag value", tn.tagValue}, {"sample value", tn.value}, {"dedupe id", tn.dedupeID},
		{"alert rule name", tn.rule.name}, {"victim alert rule name", tn.victim.name},
		{"channel name", tn.channel.name}, {"channel host", tn.channel.host},
		{"victim channel name", tn.victimChannel.name}, {"victim channel host", tn.victimChannel.host},
		{"silence comment", tn.silence.comment}, {"victim silence comment", tn.victimSilence.comment},
		{"notification message's last error", tn.message.lastError},
	}
	for role, tk := range tn.tokens {
		ms = append(ms, isoMarker{role + " token id", tk.id}, isoMarker{role + " token name", tk.name})
	}
	return ms
}

// isoWorld is what one mode's matrix runs against.
type isoWorld struct {
	srv       *isoServer
	a, b      *isoTenant
	platform  isoToken
	malformed string // not a token at all
	unknown   string // well-formed (valid checksum) but never stored
	seededAt  time.Time
}

// secrets are every seeded token in full and every seeded channel's
// signing secret (shown once, when it was made): no answer may ever carry
// one.
func (w *isoWorld) secrets() []isoMarker {
	out := []isoMarker{{"platform token", w.platform.plain}}
	for _, tn := range []*isoTenant{w.a, w.b} {
		for role, tk := range tn.tokens {
			out = append(out, isoMarker{tn.label + " " + role + " token secret", tk.plain})
		}
		out = append(out, isoMarker{tn.label + " channel's webhook secret", tn.channel.secret},
			isoMarker{tn.label + " victim channel's webhook secret", tn.victimChannel.secret})
	}
	return out
}

func isoSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// isoSeed creates tenants A and B with their tokens and one sample each
// (posted over HTTP and waited for until a query sees it), their channels,
// rules (evaluated, then planned into a message), silences and budget, and
// a platform token.
func isoSeed(t *testing.T, srv *isoServer) *isoWorld {
	t.Helper()
	ctx := context.Background()
	w := &isoWorld{srv: srv, malformed: "pulse_not-a-token", seededAt: time.Now().Add(-time.Minute).Truncate(time.Second)}
	for i, label := range []string{"A", "B"} {
		l := strings.ToLower(label)
		sfx := isoSuffix()
		tn := &isoTenant{
			label: label, slug: "iso-" + l + "-" + sfx, displayName: "name-" + l + "-" + sfx,
			metric: "secret-" + l + "-" + sfx, tagValue: "tagval-" + l + "-" + sfx,
			value: []string{"271828.18281", "314159.26535"}[i], dedupeID: "dedupe-" + l + "-" + sfx,
			tokens: map[string]isoToken{},
		}
		created, err := srv.tenancy.CreateTenant(ctx, audit.CLI(), tn.slug, tn.displayName, 0)
		if err != nil {
			t.Fatalf("create tenant %s: %v", label, err)
		}
		tn.id, tn.retention = created.ID, created.RetentionDays
		for role, scopes := range map[string][]token.Scope{
			"ingest": {token.ScopeIngest}, "read": {token.ScopeRead}, "admin": {token.ScopeAdmin},
			"victim":  {token.ScopeRead},
			"revoked": {token.ScopeIngest, token.ScopeRead, token.ScopeAdmin},
		} {
			tn.tokens[role] = isoIssue(t, srv, tn, role, scopes)
		}
		if err := srv.tenancy.RevokeToken(ctx, audit.CLI(), tn.tokens["revoked"].id); err != nil {
			t.Fatalf("revoke %s's token: %v", label, err)
		}
		body := fmt.Sprintf(`{"name":%q,"value":%s,"tags":{"owner":%q},"ts":%d,"dedupe_id":%q}`,
			tn.metric, tn.value, tn.tagValue, w.seededAt.Unix(), tn.dedupeID)
		ans, err := srv.do(http.MethodPost, "/api/metrics", tn.tokens["ingest"].plain, []byte(body))
		if err != nil || ans.status != http.StatusAccepted {
			t.Fatalf("seed %s's sample: %v %s", label, err, ans.text())
		}
		if i == 0 {
			w.a = tn
		} else {
			w.b = tn
		}
	}
	for _, tn := range []*isoTenant{w.a, w.b} {
		isoWaitStored(t, w, tn)
		isoSeedChannels(t, w, tn) // before the rules: the rule names its channel
		isoSeedRules(t, w, tn)
	}
	isoSeedMessages(t, w)
	for _, tn := range []*isoTenant{w.a, w.b} {
		isoSeedSilences(t, w, tn)
		isoSeedSettings(t, w, tn)
		isoSeedExport(t, w, tn)
	}
	pl, err := srv.tenancy.CreatePlatformToken(ctx, audit.CLI(), "iso-platform")
	if err != nil {
		t.Fatalf("platform token: %v", err)
	}
	w.platform = isoToken{id: pl.Token.ID, plain: pl.Plain, name: "iso-platform"}
	unknown, err := token.Issue(rand.Reader, w.a.id, "never stored", []token.Scope{token.ScopeRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w.unknown = unknown.Plain
	return w
}

// idemKey is a fresh Idempotency-Key. Distributed mode keeps these keys in
// Redis under the default prefix (not configurable), as
// prefix + tenant id + ":" + key: the cleanup deletes the seeded tenants'.
func (w *isoWorld) idemKey(t *testing.T) string {
	key := "iso-idem-" + isoSuffix()
	if c := w.srv.redis; c != nil {
		t.Cleanup(func() {
			for _, tn := range []*isoTenant{w.a, w.b} {
				c.Del(context.Background(), fmt.Sprintf("%s%d:%s", redisidempotency.DefaultPrefix, tn.id, key))
			}
		})
	}
	return key
}

// isoAbsentID is a well-formed token id that no token has.
func isoAbsentID(t *testing.T) string {
	t.Helper()
	iss, err := token.Issue(rand.Reader, 1, "never stored", []token.Scope{token.ScopeRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return iss.Token.ID
}

func isoIssue(t *testing.T, srv *isoServer, tn *isoTenant, role string, scopes []token.Scope) isoToken {
	t.Helper()
	name := "tokname-" + strings.ToLower(tn.label) + "-" + role + "-" + isoSuffix()
	iss, err := srv.tenancy.CreateToken(context.Background(), audit.CLI(), tn.slug, token.Spec{Name: name, Scopes: scopes})
	if err != nil {
		t.Fatalf("issue %s token of %s: %v", role, tn.label, err)
	}
	return isoToken{id: iss.Token.ID, plain: iss.Plain, name: name}
}

// isoQueryPath asks for tn's metric around the seeded time. Only the name
// is in the request, so the tag value and the value in an answer can come
// only from the store.
func (w *isoWorld) isoQueryPath(tn *isoTenant) string {
	v := url.Values{}
	v.Set("name", tn.metric)
	v.Set("start", w.seededAt.Add(-time.Hour).Format(time.RFC3339))
	v.Set("end", w.seededAt.Add(time.Hour).Format(time.RFC3339))
	return "/api/metrics/query?" + v.Encode()
}

// isoWaitStored waits until tn's own read token sees its seeded sample.
func isoWaitStored(t *testing.T, w *isoWorld, tn *isoTenant) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ans, err := w.srv.do(http.MethodGet, w.isoQueryPath(tn), tn.tokens["read"].plain, nil)
		if err == nil && ans.status == http.StatusOK && isoSeriesCount(t, ans) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's seeded sample not readable within 20s: %v %s", tn.label, err, ans.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// isoSeriesCount is the number of series in a query answer.
func isoSeriesCount(t *testing.T, ans isoAnswer) int {
	t.Helper()
	var out struct {
		Series []json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(ans.body, &out); err != nil {
		t.Fatalf("query answer is not JSON: %v: %s", err, ans.body)
	}
	return len(out.Series)
}

// isoTokenIDs are the ids listed by a GET /api/tokens answer.
func isoTokenIDs(t *testing.T, ans isoAnswer) map[string]bool {
	t.Helper()
	var out struct {
		Tokens []struct {
			ID        string  `json:"id"`
			RevokedAt *string `json:"revoked_at"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(ans.body, &out); err != nil {
		t.Fatalf("token list is not JSON: %v: %s", err, ans.body)
	}
	ids := map[string]bool{}
	for _, tk := range out.Tokens {
		ids[tk.ID] = tk.RevokedAt != nil
	}
	return ids
}

// isoRule is a seeded alert rule.
type isoRule struct {
	id   int64
	name string
	body []byte // as created (PUT sends it back unchanged)
}

func (r isoRule) path(suffix string) string {
	return fmt.Sprintf("/api/alert-rules/%d%s", r.id, suffix)
}

// isoSeedRules creates tn's alert rules with its admin token and evaluates
// the first one (which then notifies tn's channel) at the seeded sample's
// time: the sample breaches it, so it fires at once (normal → firing),
// leaving an instance, a transition, an episode and a "firing" outbox row
// naming the channel that carry tn's tag value and value.
//
// Then the rule is changed to name no channel (the outbox row keeps the
// channel it named when it fired, so the planner still delivers to it):
// PUT /api/alert-rules/{id} sends the rule's body back unchanged, and with
// the channel's id in it another tenant's PUT would be refused at
// validation (422: no such channel in its tenant) before the rule is
// looked up, so the row would no longer prove the rule's 404.
func isoSeedRules(t *testing.T, w *isoWorld, tn *isoTenant) {
	t.Helper()
	l := strings.ToLower(tn.label)
	body := func(name, channels string) []byte {
		return []byte(fmt.Sprintf(`{"name":%q,"metric":%q,"agg":"max","window":"10m","op":">","threshold":1,"cadence":"1m","for":"0s",`+
			`"channels":[%s],"annotations":{"summary":"{{ .Labels.owner }} at {{ .Value }}"}}`, name, tn.metric, channels))
	}
	create := func(name, channels string) isoRule {
		b := body(name, channels)
		ans, err := w.srv.do(http.MethodPost, "/api/alert-rules", tn.tokens["admin"].plain, b)
		if err != nil || ans.status != http.StatusCreated {
			t.Fatalf("create %s's alert rule: %v\n%s", tn.label, err, ans.text())
		}
		var r struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(ans.body, &r); err != nil || r.ID <= 0 {
			t.Fatalf("create %s's alert rule: %v\n%s", tn.label, err, ans.text())
		}
		return isoRule{id: r.ID, name: name, body: b}
	}
	tn.rule = create("rule-"+l+"-"+isoSuffix(), fmt.Sprint(tn.channel.id))
	tn.victim = create("victim-rule-"+l+"-"+isoSuffix(), "")
	round, err := w.srv.alerts.EvaluateRule(context.Background(), tn.rule.id, w.seededAt.Add(time.Second))
	if err != nil {
		t.Fatalf("evaluate %s's alert rule: %v", tn.label, err)
	}
	if round.Results[alerting.ResultOK] != 1 || round.Transitions != 1 || round.Notified != 1 {
		t.Fatalf("evaluating %s's alert rule over its sample: %+v, want one ok evaluation that fires and notifies", tn.label, round)
	}
	tn.rule.body = body(tn.rule.name, "")
	ans, err := w.srv.do(http.MethodPut, tn.rule.path(""), tn.tokens["admin"].plain, tn.rule.body)
	if err != nil || ans.status != http.StatusOK || !strings.Contains(string(ans.body), `"channels":[]`) {
		t.Fatalf("make %s's alert rule name no channel: %v\n%s", tn.label, err, ans.text())
	}
}
