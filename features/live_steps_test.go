package features_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Steps of live.feature: opening, closing and resuming live streams, and
// what they carry (live_points_test.go) or how they end.

// liveSteps is one scenario's streams.
type liveSteps struct {
	s *scenario
	// streams is each tenant's stream the steps speak of ("" = mine).
	streams map[string]*liveStream
	// more are the cap scenario's other streams, oldest first.
	more []*liveStream
	// all is every stream opened, closed when the scenario ends.
	all []*liveStream
	// dense is what the dense post sent.
	dense *denseSent
}

func newLiveSteps(s *scenario) *liveSteps {
	return &liveSteps{s: s, streams: map[string]*liveStream{}}
}

func (l *liveSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^I open a live stream of "([^"]*)"$`, func(metric string) error { return l.openOf("", metric) })
	sc.Step(`^"([^"]*)" opens a live stream of "([^"]*)"$`, l.openOf)
	sc.Step(`^I open a live stream of the queries:$`, l.openQueries)
	sc.Step(`^I open (\d+) live streams of "([^"]*)"$`, l.openMany)
	sc.Step(`^I try to open one more live stream of "([^"]*)"$`, l.tryOneMore)
	sc.Step(`^I close the live stream$`, l.closeMine)
	sc.Step(`^I close one of my live streams$`, l.closeOneMore)
	sc.Step(`^I reopen the live stream with the last event id it received, in (the Last-Event-ID header|the last_event_id parameter)$`, l.reopen)
	sc.Step(`^within (\d+) seconds another live stream of "([^"]*)" opens$`, l.anotherOpens)
	sc.Step(`^the live stream is ready with (\d+) quer(?:y|ies)$`, l.isReady)
	sc.Step(`^my token is revoked by DELETE /api/tokens/\{id\} with an admin token of my tenant$`, l.revokeByAPI)
	sc.Step(`^my tenant is disabled by PATCH /api/admin/tenants/\{slug\} with a platform token$`, l.disableByAPI)
	sc.Step(`^within (\d+) seconds the live stream ends with an "end" event and its connection closes$`, l.ends)
	l.registerPoints(sc)

	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		for _, ls := range l.all {
			ls.close()
		}
		return ctx, nil
	})
}

// open opens a stream of tenant's with the query string and keeps it.
func (l *liveSteps) open(tenant, query string, hdr ...string) (*liveStream, *answer, error) {
	t, err := l.s.tenant(tenant)
	if err != nil {
		return nil, nil, err
	}
	ls, a, err := openLive(l.s.srv.baseURL, t.token, query, hdr...)
	if err != nil {
		return nil, nil, err
	}
	l.s.last = *a
	if ls != nil {
		ls.tenant = tenant
		l.all = append(l.all, ls)
	}
	return ls, a, nil
}

// mustOpen is open, refusing an answer other than 200.
func (l *liveSteps) mustOpen(tenant, query string, hdr ...string) (*liveStream, error) {
	ls, a, err := l.open(tenant, query, hdr...)
	if err != nil {
		return nil, err
	}
	if ls == nil {
		return nil, fmt.Errorf("stream ?%s answered %d: %s", query, a.status, truncate(a.body))
	}
	return ls, nil
}

func (l *liveSteps) openOf(tenant, metric string) error {
	ls, err := l.mustOpen(tenant, "name="+url.QueryEscape(metric))
	if err == nil {
		l.streams[tenant] = ls
	}
	return err
}

// openQueries opens one stream of several queries, one per line, each in
// the query API's parameters.
func (l *liveSteps) openQueries(doc *godog.DocString) error {
	v := url.Values{}
	for _, line := range strings.Split(doc.Content, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			v.Add("q", line)
		}
	}
	ls, err := l.mustOpen("", v.Encode())
	if err == nil {
		l.streams[""] = ls
	}
	return err
}

func (l *liveSteps) openMany(n int, metric string) error {
	for range n {
		ls, err := l.mustOpen("", "name="+url.QueryEscape(metric))
		if err != nil {
			return err
		}
		l.more = append(l.more, ls)
	}
	return nil
}

// tryOneMore keeps the answer as the scenario's last (a 429 is expected).
func (l *liveSteps) tryOneMore(metric string) error {
	ls, _, err := l.open("", "name="+url.QueryEscape(metric))
	if ls != nil {
		l.more = append(l.more, ls)
	}
	return err
}

func (l *liveSteps) stream(tenant string) (*liveStream, error) {
	ls := l.streams[tenant]
	if ls == nil {
		return nil, fmt.Errorf("no live stream of tenant %q open in this scenario", tenant)
	}
	return ls, nil
}

func (l *liveSteps) closeMine() error {
	ls, err := l.stream("")
	if err != nil {
		return err
	}
	ls.close()
	return nil
}

func (l *liveSteps) closeOneMore() error {
	if len(l.more) == 0 {
		return errors.New("no other live streams open")
	}
	l.more[0].close()
	l.more = l.more[1:]
	return nil
}

// reopen opens my stream again with what it received last, as EventSource
// does (the header) or as the dashboard does when its queries changed (the
// parameter).
func (l *liveSteps) reopen(where string) error {
	old, err := l.stream("")
	if err != nil {
		return err
	}
	old.mu.Lock()
	last, query := old.lastID, old.query
	old.mu.Unlock()
	if last == "" {
		return errors.New("the live stream received no event with an id")
	}
	var ls *liveStream
	if strings.Contains(where, "header") {
		ls, err = l.mustOpen("", query, "Last-Event-ID", last)
	} else {
		ls, err = l.mustOpen("", query+"&last_event_id="+url.QueryEscape(last))
	}
	if err == nil {
		l.streams[""] = ls
	}
	return err
}

// anotherOpens retries: the closed stream's place is freed once the server
// noticed the client left.
func (l *liveSteps) anotherOpens(secs int, metric string) error {
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for {
		ls, a, err := l.open("", "name="+url.QueryEscape(metric))
		if err != nil || ls != nil {
			if ls != nil {
				l.more = append(l.more, ls)
			}
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still refused %d s after one closed: %d %s", secs, a.status, truncate(a.body))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (l *liveSteps) isReady(queries int) error {
	ls, err := l.stream("")
	if err != nil {
		return err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var r struct {
		Stream     string `json:"stream"`
		Queries    int    `json:"queries"`
		CoalesceMS int64  `json:"coalesce_ms"`
		HeartbeatS int64  `json:"heartbeat_s"`
		ReplayS    int64  `json:"replay_s"`
	}
	if err := json.Unmarshal([]byte(ls.events[0].Data), &r); err != nil {
		return fmt.Errorf("ready data is not JSON: %v: %s", err, ls.events[0].Data)
	}
	if r.Stream == "" || r.Queries != queries || r.CoalesceMS <= 0 || r.HeartbeatS <= 0 || r.ReplayS <= 0 {
		return fmt.Errorf("ready data %s: want a stream id, %d queries and positive coalesce_ms, heartbeat_s, replay_s", ls.events[0].Data, queries)
	}
	return nil
}

// ---- how streams end ----

func (l *liveSteps) revokeByAPI(ctx context.Context) error {
	t, err := l.s.tenant("")
	if err != nil {
		return err
	}
	admin, err := l.s.srv.tenancy.CreateToken(ctx, audit.CLI(), t.slug, token.Spec{Name: "features admin", Scopes: []token.Scope{token.ScopeAdmin}})
	if err != nil {
		return err
	}
	_, err = l.s.do(ctx, http.MethodDelete, "/api/tokens/"+url.PathEscape(t.tokenID), admin.Plain, nil)
	return err
}

func (l *liveSteps) disableByAPI(ctx context.Context) error {
	t, err := l.s.tenant("")
	if err != nil {
		return err
	}
	platform, err := l.s.srv.platformToken(ctx)
	if err != nil {
		return err
	}
	_, err = l.s.do(ctx, http.MethodPatch, "/api/admin/tenants/"+url.PathEscape(t.slug), platform, []byte(`{"disabled":true}`))
	return err
}

// ends waits for an end event with a reason, then for the server to close
// the connection.
func (l *liveSteps) ends(secs int) error {
	ls, err := l.stream("")
	if err != nil {
		return err
	}
	return ls.waitFor(time.Duration(secs)*time.Second, `an "end" event, then the connection closed`, func() error {
		for _, ev := range ls.events {
			if ev.Name != "end" {
				continue
			}
			var e struct {
				Reason string `json:"reason"`
			}
			if json.Unmarshal([]byte(ev.Data), &e) != nil || e.Reason == "" {
				return fmt.Errorf("end event without a reason: %q", ev.Data)
			}
			if !ls.closed {
				return errNotYet
			}
			return nil
		}
		return errNotYet
	})
}
