package features_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// startMosquitto starts a private Mosquitto from the shipped configuration
// with dynamic security and stops it when t ends.
func startMosquitto(t *testing.T) *testservice.Mosquitto {
	t.Helper()
	return testservice.PrivateMosquitto(t, testservice.MosquittoOptions{})
}
