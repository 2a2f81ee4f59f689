package samples_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/samples/samplestest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

// The contract suites, on SQLite and on MariaDB.
func TestContract(t *testing.T)     { sqldbtest.Both(t, samplestest.Run) }
func TestCatalogue(t *testing.T)    { sqldbtest.Both(t, samplestest.RunCatalogue) }
func TestDedupeWindow(t *testing.T) { sqldbtest.Both(t, samplestest.RunDedupe) }
func TestGate(t *testing.T)         { sqldbtest.Both(t, samplestest.RunGate) }
func TestRollups(t *testing.T)      { sqldbtest.Both(t, samplestest.RunRollups) }
