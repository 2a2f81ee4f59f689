// Package frontend holds the dashboard's built assets for the Go binary.
package frontend

import "embed"

// Dist is the frontend/dist directory: dist/app/ holds the Vite build (with
// dist/app/.vite/manifest.json) once `make frontend` has run; before that only
// dist/README.txt is there and the root template says the UI is not built.
//
//go:embed all:dist
var Dist embed.FS
