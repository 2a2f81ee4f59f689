package webui

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
)

// The Vite build (docs/dashboard.md, Assets).
const (
	distDir      = "dist/app"
	manifestPath = ".vite/manifest.json"
	entry        = "src/main.ts"
	devBase      = "/build/" // Vite's base, also in dev mode
	assetPrefix  = "/build/"
	// NotBuilt is what pages say when there is no build.
	NotBuilt = "the UI is not built: run make frontend"
)

// manifestChunk is one entry of Vite's manifest.json.
type manifestChunk struct {
	File    string   `json:"file"`
	CSS     []string `json:"css"`
	Imports []string `json:"imports"`
	IsEntry bool     `json:"isEntry"`
}

// assetSet is what the root page loads, computed once at start (the build
// is embedded, so it cannot change while the process runs).
type assetSet struct {
	files   fs.FS // dist/app, nil when not built
	ver     string
	assets  inertia.Assets
	devMode bool
}

func loadAssets(dist fs.FS, devURL string, log *slog.Logger) *assetSet {
	if devURL != "" {
		// Vite serves everything under its base (vite.config.ts: base '/build/').
		return &assetSet{ver: "dev", devMode: true, assets: inertia.Assets{Scripts: []string{devURL + devBase + "@vite/client", devURL + devBase + entry}}}
	}
	notBuilt := &assetSet{assets: inertia.Assets{Unavailable: NotBuilt}}
	if dist == nil {
		return notBuilt
	}
	app, err := fs.Sub(dist, distDir)
	if err != nil {
		return notBuilt
	}
	raw, err := fs.ReadFile(app, manifestPath)
	if errors.Is(err, fs.ErrNotExist) {
		log.Warn("web UI: no Vite manifest in the embedded build: pages answer 503", "path", distDir+"/"+manifestPath)
		return notBuilt
	}
	if err != nil {
		log.Error("web UI: read the Vite manifest", "err", err)
		return notBuilt
	}
	var m map[string]manifestChunk
	if err := json.Unmarshal(raw, &m); err != nil {
		log.Error("web UI: the Vite manifest is not valid JSON", "err", err)
		return notBuilt
	}
	main, ok := m[entry]
	if !ok || main.File == "" {
		log.Error("web UI: the Vite manifest has no entry " + entry)
		return notBuilt
	}
	sum := sha256.Sum256(raw)
	return &assetSet{files: app, ver: hex.EncodeToString(sum[:8]),
		assets: inertia.Assets{Scripts: []string{assetPrefix + main.File}, Styles: cssOf(m, entry)}}
}

// cssOf lists the stylesheets of a chunk and of every chunk it imports,
// each once, in import order.
func cssOf(m map[string]manifestChunk, key string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(k string)
	walk = func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		c := m[k]
		for _, imp := range c.Imports {
			walk(imp)
		}
		for _, css := range c.CSS {
			if href := assetPrefix + css; !seen["css:"+href] {
				seen["css:"+href] = true
				out = append(out, href)
			}
		}
	}
	walk(key)
	return out
}

func (a *assetSet) version() string      { return a.ver }
func (a *assetSet) tags() inertia.Assets { return a.assets }
func (a *assetSet) fileServer() http.Handler {
	if a.files == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSONError(w, http.StatusNotFound, NotBuilt)
		})
	}
	files := http.StripPrefix(strings.TrimSuffix(assetPrefix, "/"), http.FileServerFS(a.files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// fs.Sub answers an invalid name (e.g. not UTF-8: /build/%ff) with
		// fs.ErrInvalid, which http.FileServerFS turns into a 500.
		name := strings.TrimPrefix(r.URL.Path, assetPrefix)
		if strings.HasPrefix(name, ".vite/") || strings.HasSuffix(name, "/") || !fs.ValidPath(name) {
			writeJSONError(w, http.StatusNotFound, "no such asset")
			return
		}
		if strings.HasPrefix(r.URL.Path, assetPrefix+"assets/") { // content-hashed names
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}
