// Package chaos is Pulse's reliability suite (issue 11): real pulse-api and
// pulse-worker processes on private MariaDB and Redis instances that the
// tests start themselves, on free ports, and then kill, stop and restart.
//
// The tests carry the build tag "chaos", so `go test ./...` does not run
// them; run `make chaos` (see README.md in this directory).
package chaos
