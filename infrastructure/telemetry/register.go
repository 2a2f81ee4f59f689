package telemetry

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// registerShared registers c, or returns the collector already registered
// under the same descriptions, so that every caller of a group (two doors,
// several workers) shares one set of series without a sync.Once field.
func registerShared[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Sprintf("telemetry: register metrics: %v", err)) // a name clash: a programming error
}
