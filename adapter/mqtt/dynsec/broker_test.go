package dynsec_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// broker is a Mosquitto started by one test from the shipped configuration,
// on its own port with its own dynsec file and persistence directory.
type broker = testservice.Mosquitto

// startBroker starts a private broker and stops it when the test ends.
func startBroker(t *testing.T) *broker {
	t.Helper()
	return testservice.PrivateMosquitto(t, testservice.MosquittoOptions{})
}
