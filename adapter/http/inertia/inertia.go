// Package inertia is the server side of the Inertia protocol
// (https://inertiajs.com/the-protocol) for net/http, as the @inertiajs/vue3
// v3 client expects it:
//
//   - A first visit gets the root HTML page: <div id="app"></div> and the
//     page object in <script data-page="app" type="application/json">,
//     plus the asset tags. A request with X-Inertia: true gets the page
//     object as JSON with X-Inertia: true. Both carry Vary: X-Inertia.
//   - A GET whose X-Inertia-Version differs from the current asset version
//     is answered 409 with X-Inertia-Location (the client reloads fully).
//   - Partial reloads (X-Inertia-Partial-Component naming the rendered
//     component, with X-Inertia-Partial-Data and/or
//     X-Inertia-Partial-Except) get only the props asked for. Optional props
//     are evaluated only when a partial reload names them; "errors" is
//     always sent.
//   - Redirects are 303 See Other (required after PUT/PATCH/DELETE, and
//     what browsers do anyway after POST); Location answers an Inertia
//     request with 409 + X-Inertia-Location for a full-page visit.
//   - Shared props are added to every page; the validation error bag and
//     flash messages are kept for exactly one following page (FlashStore).
//
// A Renderer is safe for concurrent use: its configuration is read-only
// after New, and per-request state lives in the request.
package inertia

import (
	"bytes"
	"context"
	_ "embed" // the root template
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// Protocol headers.
const (
	HeaderInertia          = "X-Inertia"
	HeaderVersion          = "X-Inertia-Version"
	HeaderLocation         = "X-Inertia-Location"
	HeaderPartialComponent = "X-Inertia-Partial-Component"
	HeaderPartialData      = "X-Inertia-Partial-Data"
	HeaderPartialExcept    = "X-Inertia-Partial-Except"
)

// Props are a page's props by name. A value may be an OptionalProp or a
// LazyProp, resolved at render time.
type Props map[string]any

// Page is the page object of the protocol.
type Page struct {
	Component string         `json:"component"`
	Props     map[string]any `json:"props"`
	URL       string         `json:"url"`
	Version   string         `json:"version"`
}

// LazyProp is evaluated at render time, only if the prop is sent.
type LazyProp func(ctx context.Context) (any, error)

// OptionalProp is left out of every visit except a partial reload that
// names it in X-Inertia-Partial-Data; only then is it evaluated.
type OptionalProp func(ctx context.Context) (any, error)

// Optional marks a prop as sent only when a partial reload asks for it.
func Optional(fn func(ctx context.Context) (any, error)) OptionalProp { return fn }

// Lazy marks a prop as evaluated only when it is sent.
func Lazy(fn func(ctx context.Context) (any, error)) LazyProp { return fn }

// Assets are the tags of the root page: stylesheets and module scripts.
// A non-empty Unavailable replaces the app with that message (status 503):
// the front end is not built.
type Assets struct {
	Styles      []string
	Scripts     []string
	Unavailable string
}

// Config configures a Renderer. Every field may be nil.
type Config struct {
	// Version returns the current asset version ("" = none).
	Version func() string
	// Assets returns the root page's asset tags.
	Assets func() Assets
	// Shared returns the props added to every page of the request (the
	// page's own props win on a clash).
	Shared func(r *http.Request) (Props, error)
	// Flash keeps errors and messages for the next page. Default:
	// CookieFlash{Name: "inertia_flash"}.
	Flash FlashStore
	// Title is the root page's <title>.
	Title string
}

// Renderer renders Inertia pages and redirects.
type Renderer struct {
	cfg Config
}

// New returns a Renderer.
func New(cfg Config) *Renderer {
	if cfg.Version == nil {
		cfg.Version = func() string { return "" }
	}
	if cfg.Assets == nil {
		cfg.Assets = func() Assets { return Assets{} }
	}
	if cfg.Flash == nil {
		cfg.Flash = CookieFlash{Name: "inertia_flash"}
	}
	if cfg.Title == "" {
		cfg.Title = "Inertia"
	}
	return &Renderer{cfg: cfg}
}

// IsInertia reports whether r was sent by the Inertia client.
func IsInertia(r *http.Request) bool { return r.Header.Get(HeaderInertia) == "true" }

// Middleware answers a GET from an Inertia client holding stale assets
// with 409 + X-Inertia-Location, so that it reloads the page in full, and
// sets Vary: X-Inertia on every answer.
func (i *Renderer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", HeaderInertia)
		if IsInertia(r) && r.Method == http.MethodGet && r.Header.Get(HeaderVersion) != i.cfg.Version() {
			w.Header().Set(HeaderLocation, r.URL.RequestURI())
			w.WriteHeader(http.StatusConflict)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Render answers r with the page component and props: JSON for an
// Inertia request, else the root HTML page. Errors come from the shared
// props, a lazy prop or the flash store; nothing is written then.
func (i *Renderer) Render(w http.ResponseWriter, r *http.Request, component string, props Props) error {
	return i.RenderStatus(w, r, http.StatusOK, component, props)
}

// RenderStatus is Render with another status than 200 (e.g. 429 with the
// login page and its error bag: the client shows an answer carrying
// X-Inertia as a page whatever its status). A props["errors"] of type
// map[string]string is the error bag (it replaces the flashed one).
func (i *Renderer) RenderStatus(w http.ResponseWriter, r *http.Request, status int, component string, props Props) error {
	page, err := i.page(w, r, component, props)
	if err != nil {
		return err
	}
	h := w.Header()
	if h.Get("Vary") == "" {
		h.Add("Vary", HeaderInertia)
	}
	if IsInertia(r) {
		b, err := marshalPage(page)
		if err != nil {
			return err
		}
		h.Set(HeaderInertia, "true")
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(b)
		return nil
	}
	return i.writeRoot(w, status, page)
}

// page builds the page object: shared props, flash, the page's props,
// filtered for a partial reload and resolved.
func (i *Renderer) page(w http.ResponseWriter, r *http.Request, component string, props Props) (Page, error) {
	all := Props{}
	if i.cfg.Shared != nil {
		shared, err := i.cfg.Shared(r)
		if err != nil {
			return Page{}, fmt.Errorf("inertia shared props: %w", err)
		}
		for k, v := range shared {
			all[k] = v
		}
	}
	f, err := i.cfg.Flash.Take(w, r)
	if err != nil {
		return Page{}, fmt.Errorf("inertia flash: %w", err)
	}
	errs := f.Errors
	if own, ok := props["errors"].(map[string]string); ok {
		errs = own
	}
	if errs == nil {
		errs = map[string]string{}
	}
	all["flash"] = f.Messages()
	for k, v := range props {
		if k != "errors" {
			all[k] = v
		}
	}
	resolved, err := resolve(r.Context(), selectProps(r, component, all))
	if err != nil {
		return Page{}, err
	}
	resolved["errors"] = errs // always sent, never filtered
	return Page{Component: component, Props: resolved, URL: r.URL.RequestURI(), Version: i.cfg.Version()}, nil
}

// selectProps applies the partial reload headers when they name this
// component, and drops optional props that were not asked for.
func selectProps(r *http.Request, component string, props Props) Props {
	partial := IsInertia(r) && r.Header.Get(HeaderPartialComponent) == component
	only := splitList(r.Header.Get(HeaderPartialData))
	except := splitList(r.Header.Get(HeaderPartialExcept))
	out := Props{}
	for k, v := range props {
		_, optional := v.(OptionalProp)
		switch {
		case partial && len(only) > 0 && !only[k]:
		case partial && except[k]:
		case optional && !(partial && only[k]):
		default:
			out[k] = v
		}
	}
	return out
}

func splitList(s string) map[string]bool {
	if s == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			m[p] = true
		}
	}
	return m
}

func resolve(ctx context.Context, props Props) (map[string]any, error) {
	out := make(map[string]any, len(props)+1)
	for k, v := range props {
		var fn func(context.Context) (any, error)
		switch p := v.(type) {
		case OptionalProp:
			fn = p
		case LazyProp:
			fn = p
		}
		if fn == nil {
			out[k] = v
			continue
		}
		val, err := fn(ctx)
		if err != nil {
			return nil, fmt.Errorf("inertia prop %s: %w", k, err)
		}
		out[k] = val
	}
	return out, nil
}

// marshalPage encodes the page with HTML escaping on: <, > and & become
// \u003c, \u003e and \u0026 (and U+2028/2029 are escaped), so the JSON can
// sit inside a <script> element without ending it or opening a comment.
func marshalPage(p Page) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("inertia page %s: %w", p.Component, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// rootHTML is the root page; html/template escapes the title and asset
// URLs, and the page JSON is escaped by marshalPage.
//
//go:embed root.html
var rootHTML string

var rootTemplate = template.Must(template.New("root").Parse(rootHTML))

func (i *Renderer) writeRoot(w http.ResponseWriter, status int, page Page) error {
	b, err := marshalPage(page)
	if err != nil {
		return err
	}
	assets := i.cfg.Assets()
	data := struct {
		Title  string
		Assets Assets
		Page   template.JS // safe: marshalPage escapes <, >, & and line separators
	}{i.cfg.Title, assets, template.JS(b)} //nolint:gosec // see marshalPage
	var out bytes.Buffer
	if err := rootTemplate.Execute(&out, data); err != nil {
		return fmt.Errorf("inertia root template: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if assets.Unavailable != "" {
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
	return nil
}
