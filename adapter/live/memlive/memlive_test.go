package memlive_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/live/livetest"
	"github.com/pulsemetrics/pulse/adapter/live/memlive"
)

func TestContract(t *testing.T) {
	livetest.Run(t, func(*testing.T) livetest.Feed { return memlive.New() })
}
