// Package features_test runs the Gherkin feature files of this directory
// (the living documentation of the HTTP contract) against a real in-process
// Pulse, once in embedded mode (SQLite + embedded queue) and once in
// distributed mode (MariaDB + Redis Streams).
package features_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cucumber/godog"
)

// httpClient is shared by every scenario; it holds no scenario state.
var httpClient = &http.Client{Timeout: 30 * time.Second}

func TestFeatures(t *testing.T) {
	modes := []struct {
		name string
		env  func(*testing.T) map[string]string
	}{
		{"embedded", embeddedEnv},
		{"distributed", distributedEnv},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			// live.feature opens one stream more than this cap; no other
			// feature opens streams, and scenarios use tenants of their own.
			srv := startServer(t, m.name, withEnv(m.env(t), "PULSE_LIVE_MAX_STREAMS_PER_TENANT", "3"))
			suite := godog.TestSuite{
				Name: "pulse-" + m.name,
				ScenarioInitializer: func(sc *godog.ScenarioContext) {
					s := newScenario(srv)
					s.register(sc)
					a := newAlertSteps(s)
					a.register(sc)
					newNotifySteps(a).register(sc)
					newLiveSteps(s).register(sc)
				},
				Options: &godog.Options{
					Format:      "progress",
					Paths:       []string{"ingest.feature", "auth.feature", "limits.feature", "rollups.feature", "retention.feature", "nothing_lost.feature", "alerting.feature", "notifications.feature", "live.feature"},
					Strict:      true, // an undefined or pending step fails the run
					Concurrency: 4,
					TestingT:    t,
				},
			}
			if status := suite.Run(); status != 0 {
				t.Fatalf("%s: godog finished with status %d (failed, undefined or pending steps above)", m.name, status)
			}
		})
	}
}
