package api

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"
)

// readyTimeout bounds all readiness checks together.
const readyTimeout = 2 * time.Second

// ErrDegraded is wrapped by a check's error when the dependency works but
// needs an operator (e.g. the queue holds dead letters): /readyz still
// answers 200, with status "degraded" and the check's message, so that a
// load balancer keeps the process while monitoring raises the alarm.
var ErrDegraded = errors.New("degraded")

// handleHealth is liveness: the process answers.
func (s *server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readyAnswer struct {
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks"`
	Failing  []string          `json:"failing,omitempty"`
	Degraded []string          `json:"degraded,omitempty"`
}

// handleReady runs every named check concurrently under one timeout: 200
// when all pass, 503 naming the failing ones. The checks' error texts are
// logged, not sent (they may hold addresses or credentials).
func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(s.checks))
	var wg sync.WaitGroup
	for name, check := range s.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- result{name, runCheck(ctx, check)}
		}()
	}
	ans := readyAnswer{Status: "ok", Checks: make(map[string]string, len(s.checks))}
	for range s.checks {
		var res result
		select {
		case res = <-results:
		case <-ctx.Done():
			// A check ignoring its context: report the missing ones as timed out.
			for name := range s.checks {
				if _, done := ans.Checks[name]; !done {
					ans.Checks[name] = "timeout"
					ans.Failing = append(ans.Failing, name)
				}
			}
			goto answer
		}
		if res.err == nil {
			ans.Checks[res.name] = "ok"
			continue
		}
		if errors.Is(res.err, ErrDegraded) {
			s.log.Error("readiness check degraded", "check", res.name, "err", res.err)
			ans.Checks[res.name] = res.err.Error()
			ans.Degraded = append(ans.Degraded, res.name)
			continue
		}
		s.log.Warn("readiness check failed", "check", res.name, "err", res.err)
		ans.Checks[res.name] = "failed"
		if errors.Is(res.err, context.DeadlineExceeded) {
			ans.Checks[res.name] = "timeout"
		}
		ans.Failing = append(ans.Failing, res.name)
	}
answer:
	status := http.StatusOK
	if len(ans.Degraded) > 0 {
		sort.Strings(ans.Degraded)
		ans.Status = "degraded"
	}
	if len(ans.Failing) > 0 {
		sort.Strings(ans.Failing)
		ans.Status = "unavailable"
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, ans)
}

// runCheck runs one check, turning a panic into a failure.
func runCheck(ctx context.Context, check Checker) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errors.New("check panicked")
		}
	}()
	return check(ctx)
}
