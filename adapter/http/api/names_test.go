package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
)

// fakeLister is the catalogue's store: it records the calls and answers a
// canned list (the real use case runs in front of it, with its validation).
type fakeLister struct {
	mu    sync.Mutex
	calls []listCall
	names []metric.NameInfo
	more  bool
	err   error
}

type listCall struct {
	tenantID            int64
	prefix              string
	limit, valuesPerKey int
}

func (f *fakeLister) MetricNames(_ context.Context, tenantID int64, prefix string, limit, valuesPerKey int) ([]metric.NameInfo, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, listCall{tenantID, prefix, limit, valuesPerKey})
	return f.names, f.more, f.err
}

func (f *fakeLister) last(t *testing.T) listCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the store was not asked")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeLister) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func newNamesEnv(t *testing.T) (*env, *fakeLister) {
	t.Helper()
	l := &fakeLister{}
	e := newEnv(t, func(d *api.Deps) { d.Catalogue = catalogue.NewService(l) })
	return e, l
}

func TestNamesAnswer(t *testing.T) {
	e, l := newNamesEnv(t)
	l.names = []metric.NameInfo{
		{Name: "cpu.load", Tags: []metric.TagKeyInfo{
			{Key: "dc", Values: []string{"eu"}},
			{Key: "host", Values: []string{"a", "b"}, MoreValues: true},
		}},
		{Name: "uptime", Tags: []metric.TagKeyInfo{}},
		{Name: "nil.tags"}, // nil slices are written as []
		{Name: "zero.values", Tags: []metric.TagKeyInfo{{Key: "k", MoreValues: true}}},
	}
	l.more = true
	a := e.do(http.MethodGet, "/api/metrics/names?prefix=cpu&limit=50", readToken, nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	want := `{"names":[{"name":"cpu.load","tags":[{"key":"dc","values":["eu"],"more_values":false},` +
		`{"key":"host","values":["a","b"],"more_values":true}]},{"name":"uptime","tags":[]},{"name":"nil.tags","tags":[]},` +
		`{"name":"zero.values","tags":[{"key":"k","values":[],"more_values":true}]}],"more":true}` + "\n"
	if string(a.body) != want {
		t.Errorf("body\n%s\nwant\n%s", a.body, want)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if got := l.last(t); got != (listCall{tenantID, "cpu", 50, catalogue.ValuesPerKey}) {
		t.Errorf("store asked %+v", got)
	}
}

func TestNamesDefaultsAndEmpty(t *testing.T) {
	e, l := newNamesEnv(t)
	a := e.do(http.MethodGet, "/api/metrics/names", readToken, nil)
	if a.status != http.StatusOK || string(a.body) != `{"names":[],"more":false}`+"\n" {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if got := l.last(t); got != (listCall{tenantID, "", catalogue.DefaultLimit, catalogue.ValuesPerKey}) {
		t.Errorf("store asked %+v", got)
	}
}

func TestNamesAuth(t *testing.T) {
	e, l := newNamesEnv(t)
	for _, c := range []struct {
		tok  string
		want int
	}{
		{"", http.StatusUnauthorized},
		{revokedToken, http.StatusUnauthorized},
		{"garbage", http.StatusUnauthorized},
		{ingestToken, http.StatusForbidden}, // read scope needed
		{brokenToken, http.StatusInternalServerError},
	} {
		a := e.do(http.MethodGet, "/api/metrics/names", c.tok, nil)
		if a.status != c.want {
			t.Errorf("token %q: status %d, want %d: %s", c.tok, a.status, c.want, a.body)
		}
	}
	if n := l.count(); n != 0 {
		t.Errorf("the store was asked %d times without a valid read token", n)
	}
	if a := e.do(http.MethodPost, "/api/metrics/names", readToken, nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", a.status)
	}
}

// Hostile and malformed parameters: a clear 422 or a literal match, never a 500.
func TestNamesHostileParameters(t *testing.T) {
	e, l := newNamesEnv(t)
	huge := strings.Repeat("a", 1<<20)
	for _, c := range []struct {
		name, query string
		want        int
		msg         string // part of the error message (422)
	}{
		{"huge prefix", "prefix=" + huge, 422, "prefix is longer than 200 bytes"},
		{"prefix of 201 bytes", "prefix=" + strings.Repeat("b", 201), 422, "prefix is longer than 200 bytes"},
		{"limit -1", "limit=-1", 422, "limit must be an integer between 1 and 1000"},
		{"limit 0", "limit=0", 422, "limit must be an integer"},
		{"limit abc", "limit=abc", 422, "limit must be an integer"},
		{"limit 1001", "limit=1001", 422, "limit must be an integer"},
		{"limit overflow", "limit=99999999999999999999999", 422, "limit must be an integer"},
		{"limit float", "limit=1.5", 422, "limit must be an integer"},
		{"limit empty", "limit=", 200, ""},
		{"prefix not UTF-8", "prefix=%FF%FE", 422, "prefix is not valid UTF-8"},
		{"broken escape", "prefix=%zz", 422, "not valid URL encoding"},
		{"semicolon", "prefix=a;b", 422, "not valid URL encoding"},
		{"NUL in prefix", "prefix=a%00b", 200, ""},
		{"SQL in prefix", "prefix=" + url.QueryEscape(`x' OR 1=1 --`), 200, ""},
		{"wildcards", "prefix=" + url.QueryEscape(`a%_!\`), 200, ""},
		{"only %", "prefix=%25", 200, ""},
		{"unknown parameter", "name=x&tag.host=a", 200, ""},
		{"repeated prefix", "prefix=a&prefix=b", 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := l.count()
			a := e.do(http.MethodGet, "/api/metrics/names?"+c.query, readToken, nil)
			if a.status != c.want {
				t.Fatalf("status %d, want %d: %.300s", a.status, c.want, a.body)
			}
			if c.want == 422 {
				if msg, _ := a.json(t)["error"].(string); !strings.Contains(msg, c.msg) {
					t.Errorf("error %q, want it to say %q", msg, c.msg)
				}
				if l.count() != before {
					t.Error("the store was asked for an invalid request")
				}
			}
		})
	}
	// What reaches the store is the decoded prefix, wildcards unchanged:
	// the store matches them literally (its contract test proves it).
	for raw, want := range map[string]string{
		url.QueryEscape(`a%_!\`): `a%_!\`,
		"%25":                    "%",
		"_":                      "_",
		"a%00b":                  "a\x00b",
		"a&prefix=b":             "a",
		"c%2Bd+e":                "c+d e",
	} {
		if a := e.do(http.MethodGet, "/api/metrics/names?prefix="+raw, readToken, nil); a.status != http.StatusOK {
			t.Fatalf("prefix=%s: %d %s", raw, a.status, a.body)
		}
		if got := l.last(t).prefix; got != want {
			t.Errorf("prefix=%s reached the store as %q, want %q", raw, got, want)
		}
	}
}

func TestNamesStoreFailureIsNotLeaked(t *testing.T) {
	e, l := newNamesEnv(t)
	l.err = fmt.Errorf("metric names: %w", errSecretDB)
	a := e.do(http.MethodGet, "/api/metrics/names", readToken, nil)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || strings.Contains(string(a.body), "secret") {
		t.Fatalf("%d %v %s; want 503 + Retry-After without the detail", a.status, a.header, a.body)
	}
}

func TestNamesWithoutCatalogueIs501(t *testing.T) {
	e := newEnv(t)
	a := e.do(http.MethodGet, "/api/metrics/names", readToken, nil)
	if a.status != http.StatusNotImplemented {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if a := e.do(http.MethodGet, "/api/metrics/names", "", nil); a.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d (auth comes first)", a.status)
	}
}
