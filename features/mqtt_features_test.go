package features_test

import (
	"testing"

	"github.com/cucumber/godog"
)

// TestMQTTFeatures runs mqtt.feature against an in-process Pulse whose MQTT
// door runs the embedded broker on a free local port, once over SQLite and
// the embedded queue and once over MariaDB and Redis Streams.
func TestMQTTFeatures(t *testing.T) {
	modes := []struct {
		name string
		env  func(*testing.T) map[string]string
	}{
		{"embedded", embeddedEnv},
		{"distributed", distributedEnv},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			env := m.env(t)
			env["PULSE_MQTT_LISTEN"] = "127.0.0.1:0"
			srv := startServerWith(t, m.name, env, launchOptions{mqtt: true})
			suite := godog.TestSuite{
				Name: "pulse-mqtt-" + m.name,
				ScenarioInitializer: func(sc *godog.ScenarioContext) {
					newScenario(srv).register(sc)
				},
				Options: &godog.Options{
					Format:      "progress",
					Paths:       []string{"mqtt.feature"},
					Strict:      true,
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
