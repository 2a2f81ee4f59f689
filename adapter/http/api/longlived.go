package api

import "strings"

// longLived reports the routes whose answers last longer than a request
// timeout by design: the live streams (open for hours) and the export
// downloads (any length). The deadlines middleware leaves them alone; each
// bounds its own writes instead.
func longLived(path string) bool {
	switch path {
	case "/api/metrics/stream", "/ui/api/metrics/stream", "/ui/api/health/stream":
		return true
	}
	return strings.HasPrefix(path, "/exports/")
}
