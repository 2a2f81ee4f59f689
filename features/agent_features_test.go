package features_test

import (
	"testing"

	"github.com/cucumber/godog"
)

// TestAgentFeatures runs agent.feature: the pulse-agent binary (built
// here) against an in-process Pulse whose MQTT door runs the embedded
// broker on a free local port.
func TestAgentFeatures(t *testing.T) {
	bin := buildAgent(t)
	tmp := t.TempDir()
	env := embeddedEnv(t)
	env["PULSE_MQTT_LISTEN"] = "127.0.0.1:0"
	srv := startServerWith(t, "agent", env, launchOptions{mqtt: true})
	suite := godog.TestSuite{
		Name: "pulse-agent",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			s := newScenario(srv)
			s.register(sc)
			newAgentSteps(s, bin, tmp).register(sc)
		},
		Options: &godog.Options{
			Format:      "progress",
			Paths:       []string{"agent.feature"},
			Strict:      true,
			Concurrency: 2,
			TestingT:    t,
		},
	}
	if status := suite.Run(); status != 0 {
		t.Fatalf("godog finished with status %d (failed, undefined or pending steps above)", status)
	}
}
