package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// The rule of the contract (docs/architecture.md), as a client sends it.
const contractRule = `{"name":"High load","metric":"cpu.load","matchers":[{"tag":"host","op":"=","value":"a"}],"agg":"avg","window":"5m","op":">","threshold":0.9,"cadence":"1m","for":"2m","keep_firing_for":"0s","no_data":"nodata","group_by":["host"],"severity":"warning","labels":{},"annotations":{"summary":"{{.Labels.host}} at {{.Value}}"},"channels":[],"paused":false}`

// alertEnv is the admin router with the real alerting use case on a SQLite
// alert store.
func alertEnv(t *testing.T) (*adminEnv, token.Issued) {
	t.Helper()
	tg := sqldbtest.SQLite(t)
	svc := alerting.New(tg.Store.Alerts, tg.Store.Alerts, tg.Store.Alerts, tg.Store.Samples, func() time.Time { return testNow },
		alerting.Options{MinCadence: time.Second})
	a := newAdminEnv(t, func(d *api.Deps) { d.Alerts = svc })
	reader, err := a.svc.CreateToken(context.Background(), audit.CLI(), "acme", token.Spec{Name: "viewer", Scopes: []token.Scope{token.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	return a, reader
}

func TestAlertRuleContractRoundTrips(t *testing.T) {
	a, _ := alertEnv(t)
	created := a.call(t, http.MethodPost, "/api/alert-rules", a.acmeAdmin, contractRule)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	var sent, got map[string]any
	if err := json.Unmarshal([]byte(contractRule), &sent); err != nil {
		t.Fatal(err)
	}
	got = created.json(t)
	for k, v := range sent {
		if gb, _ := json.Marshal(got[k]); string(gb) != mustJSON(t, v) {
			t.Errorf("%s: sent %s, answered %s", k, mustJSON(t, v), gb)
		}
	}
	for _, k := range []string{"id", "state", "last_evaluated_at", "firing", "next_evaluation_at"} {
		if _, ok := got[k]; !ok {
			t.Errorf("answer lacks %q: %s", k, created.body)
		}
	}
	if got["state"] != "normal" || got["last_evaluated_at"] != nil {
		t.Errorf("a new rule: state %v, last evaluated %v", got["state"], got["last_evaluated_at"])
	}
	if loc := created.header.Get("Location"); !strings.HasPrefix(loc, "/api/alert-rules/") {
		t.Errorf("Location %q", loc)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAnInvalidRuleListsEveryBadField(t *testing.T) {
	a, _ := alertEnv(t)
	bad := `{"name":"","metric":"cpu load","matchers":[{"tag":"host","op":"=~","value":"(a"}],"agg":"median","window":"5x",
		"op":">>","cadence":"1m","annotations":{"summary":"{{.Value"}}`
	ans := a.call(t, http.MethodPost, "/api/alert-rules", a.acmeAdmin, bad)
	if ans.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d %s", ans.status, ans.body)
	}
	var body struct {
		Errors []struct{ Field, Message string }
	}
	if err := json.Unmarshal(ans.body, &body); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, e := range body.Errors {
		fields = append(fields, e.Field)
	}
	want := []string{"agg", "annotations.summary", "matchers[0]", "metric", "name", "op", "threshold", "window"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}
	if list := a.call(t, http.MethodGet, "/api/alert-rules", a.acmeAdmin, ""); !strings.Contains(string(list.body), `"total":0`) {
		t.Errorf("an invalid rule was stored: %s", list.body)
	}
}

func TestAlertRulesScopesAndTenants(t *testing.T) {
	a, reader := alertEnv(t)
	created := a.call(t, http.MethodPost, "/api/alert-rules", a.acmeAdmin, contractRule)
	id := mustJSON(t, created.json(t)["id"])
	one := "/api/alert-rules/" + id
	for _, c := range []struct {
		name, method, target string
		tok                  token.Issued
		body                 string
		want                 int
	}{
		{"a read token lists", http.MethodGet, "/api/alert-rules", reader, "", http.StatusOK},
		{"an admin token reads", http.MethodGet, one, a.acmeAdmin, "", http.StatusOK},
		{"a read token may not create", http.MethodPost, "/api/alert-rules", reader, contractRule, http.StatusForbidden},
		{"a read token may not pause", http.MethodPost, one + "/pause", reader, "", http.StatusForbidden},
		{"an ingest-and-read token may not delete", http.MethodDelete, one, a.acmeIngest, "", http.StatusForbidden},
		{"a platform token has no tenant", http.MethodGet, "/api/alert-rules", a.platform, "", http.StatusForbidden},
		{"no token", http.MethodGet, "/api/alerts", token.Issued{}, "", http.StatusUnauthorized},
		{"another tenant's rule is not found", http.MethodGet, one, a.otherAdmin, "", http.StatusNotFound},
		{"nor its history", http.MethodGet, one + "/history", a.otherAdmin, "", http.StatusNotFound},
		{"nor can it be changed", http.MethodPut, one, a.otherAdmin, contractRule, http.StatusNotFound},
		{"or paused", http.MethodPost, one + "/pause", a.otherAdmin, "", http.StatusNotFound},
		{"or deleted", http.MethodDelete, one, a.otherAdmin, "", http.StatusNotFound},
		{"the owner pauses", http.MethodPost, one + "/pause", a.acmeAdmin, "", http.StatusOK},
		{"a bad state filter", http.MethodGet, "/api/alerts?state=burning", reader, "", http.StatusUnprocessableEntity},
		{"a bad cursor", http.MethodGet, one + "/history?cursor=x", reader, "", http.StatusUnprocessableEntity},
	} {
		if ans := a.call(t, c.method, c.target, c.tok, c.body); ans.status != c.want {
			t.Errorf("%s: %s %s → %d %s, want %d", c.name, c.method, c.target, ans.status, ans.body, c.want)
		}
	}
	if list := a.call(t, http.MethodGet, "/api/alert-rules", a.otherAdmin, ""); !strings.Contains(string(list.body), `"total":0`) {
		t.Errorf("another tenant lists: %s", list.body)
	}
	if got := a.call(t, http.MethodGet, one, a.acmeAdmin, "").json(t); got["paused"] != true || got["next_evaluation_at"] != nil {
		t.Errorf("paused rule: %v", got)
	}
}

func TestAPreviewThatIsTooLongNamesItsLimit(t *testing.T) {
	a, reader := alertEnv(t)
	body := `{"rule":` + contractRule + `,"start":"2026-11-01T00:00:00Z","end":"2026-11-20T00:00:00Z"}`
	ans := a.call(t, http.MethodPost, "/api/alert-rules/preview", reader, body)
	if ans.status != http.StatusUnprocessableEntity || !strings.Contains(string(ans.body), "max_preview_range") {
		t.Errorf("19 days: %d %s", ans.status, ans.body)
	}
	ok := a.call(t, http.MethodPost, "/api/alert-rules/preview", reader, `{"rule":`+contractRule+`}`)
	if ok.status != http.StatusOK || ok.json(t)["evaluations"] != float64(1441) {
		t.Errorf("the default 24 h: %d %s", ok.status, ok.body)
	}
}

// failingAlerts is an alerting use case whose database is down.
type failingAlerts struct{ api.Alerts }

func (failingAlerts) Policy() alert.Policy { return alert.Policy{} }
func (failingAlerts) List(context.Context, alerting.Actor, int, int) (alerting.RulePage, error) {
	return alerting.RulePage{}, errOutage
}

var errOutage = fmt.Errorf("list alert rules: %w", outage.Unavailable("database", errors.New("connection refused")))

func TestAnAlertStoreOutageIs503(t *testing.T) {
	a := newAdminEnv(t, func(d *api.Deps) { d.Alerts = failingAlerts{} })
	ans := a.call(t, http.MethodGet, "/api/alert-rules", a.acmeAdmin, "")
	if ans.status != http.StatusServiceUnavailable || ans.header.Get("Retry-After") == "" {
		t.Errorf("outage: %d %s (Retry-After %q)", ans.status, ans.body, ans.header.Get("Retry-After"))
	}
}
