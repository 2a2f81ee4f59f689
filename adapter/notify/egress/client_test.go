package egress

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server is an httptest receiver on 127.0.0.1 counting its requests, and
// a policy allowing exactly its host:port.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32, Policy) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv, &hits, Policy{AllowHosts: []string{u.Host}}
}

func do(t *testing.T, c *Client, method, url, body string) (Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func TestAllowedHostIsReached(t *testing.T) {
	srv, hits, p := server(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-UA", r.UserAgent())
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(b)
	})
	resp, err := do(t, NewClient(p), http.MethodPost, srv.URL+"/hook", `{"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusAccepted || string(resp.Body) != `{"a":1}` || resp.Truncated {
		t.Errorf("got %d %q truncated=%v", resp.Status, resp.Body, resp.Truncated)
	}
	if ua := resp.Header.Get("X-Echo-UA"); ua != UserAgent {
		t.Errorf("User-Agent %q, want %q", ua, UserAgent)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests, want 1", hits.Load())
	}
}

// The exemption is for the exact host:port: the same server under
// another allowed pair's host, or on loopback without any, gets nothing.
func TestOnlyTheAllowedPairIsExempt(t *testing.T) {
	srv, hits, _ := server(t, func(http.ResponseWriter, *http.Request) {})
	u, _ := url.Parse(srv.URL)
	for name, p := range map[string]Policy{
		"none":       {},
		"other port": {AllowHosts: []string{"127.0.0.1:1"}},
		"other name": {AllowHosts: []string{"localhost:" + u.Port()}},
	} {
		if _, err := do(t, NewClient(p), http.MethodGet, srv.URL, ""); !isRefused(err) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	// The name form works when the name is the allowed one.
	c := NewClient(Policy{AllowHosts: []string{"localhost:" + u.Port()}})
	if resp, err := do(t, c, http.MethodGet, "http://localhost:"+u.Port()+"/", ""); err != nil || resp.Status != 200 {
		t.Errorf("allowed localhost: %v %v", resp.Status, err)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests, want only the allowed one", hits.Load())
	}
}

// A 302 is the answer: neither its Location on the same server nor one on
// another (allowed) server is fetched.
func TestRedirectIsNotFollowed(t *testing.T) {
	other, otherHits, otherPolicy := server(t, func(http.ResponseWriter, *http.Request) {})
	var elsewhere atomic.Int32
	srv, hits, p := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/elsewhere":
			elsewhere.Add(1)
		case "/away":
			http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
		default:
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}
	})
	p.AllowHosts = append(p.AllowHosts, otherPolicy.AllowHosts...)
	c := NewClient(p)

	resp, err := do(t, c, http.MethodPost, srv.URL+"/hook", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("got %d Location %q, want the 302 itself", resp.Status, resp.Header.Get("Location"))
	}
	resp, err = do(t, c, http.MethodPost, srv.URL+"/away", "{}")
	if err != nil || resp.Status != http.StatusTemporaryRedirect {
		t.Errorf("got %d %v, want the 307 itself", resp.Status, err)
	}
	if hits.Load() != 2 || elsewhere.Load() != 0 || otherHits.Load() != 0 {
		t.Errorf("hits %d, Location fetched %d and %d times", hits.Load(), elsewhere.Load(), otherHits.Load())
	}
}

func TestBodyIsCapped(t *testing.T) {
	srv, _, p := server(t, func(w http.ResponseWriter, r *http.Request) {
		n := 100_000
		if r.URL.Path == "/exact" {
			n = 1000
		}
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	})
	p.MaxBody = 1000
	c := NewClient(p)
	resp, err := do(t, c, http.MethodGet, srv.URL+"/big", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) != 1000 || !resp.Truncated {
		t.Errorf("read %d bytes truncated=%v, want 1000 and truncated", len(resp.Body), resp.Truncated)
	}
	resp, err = do(t, c, http.MethodGet, srv.URL+"/exact", "")
	if err != nil || len(resp.Body) != 1000 || resp.Truncated {
		t.Errorf("exact: %d bytes truncated=%v %v, want 1000, not truncated", len(resp.Body), resp.Truncated, err)
	}
	if (Policy{}).maxBody() != DefaultMaxBody || (Policy{}).timeout() != DefaultTimeout {
		t.Error("a zero policy does not take the defaults")
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _, p := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release) // before srv.Close (registered earlier) waits for the handlers
	p.Timeout = 200 * time.Millisecond
	c := NewClient(p)

	start := time.Now()
	_, err := do(t, c, http.MethodPost, srv.URL+"/hang", "{}")
	if !IsTimeout(err) {
		t.Errorf("hanging receiver: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v, want about the 200ms timeout", d)
	}

	resp, err := do(t, c, http.MethodGet, srv.URL+"/slow-body", "")
	if !IsTimeout(err) || resp.Status != http.StatusOK || string(resp.Body) != "partial" {
		t.Errorf("stalled body: %d %q %v, want the status, the partial body and a timeout", resp.Status, resp.Body, err)
	}
}

// Errors other than refusals name the URL without its path either.
func TestNetworkErrorHidesThePath(t *testing.T) {
	srv, _, p := server(t, func(http.ResponseWriter, *http.Request) {})
	target := srv.URL + "/services/s3cret"
	srv.Close() // nothing listens there any more
	_, err := do(t, NewClient(p), http.MethodPost, target, "{}")
	if err == nil || isRefused(err) {
		t.Fatalf("got %v, want a network error", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the path", err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		t.Errorf("error is still a *url.Error quoting the URL: %v", ue)
	}
}
