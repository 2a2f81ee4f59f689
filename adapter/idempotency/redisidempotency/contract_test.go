package redisidempotency_test

import (
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/idempotency/idempotencytest"
	"github.com/pulsemetrics/pulse/adapter/idempotency/redisidempotency"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Redis expires keys on its own clock, so the suite's clock is ignored:
// the suite waits out idempotencytest.ShortTTL as well.
func TestContract(t *testing.T) {
	client, prefix := testservice.Redis(t)
	idempotencytest.Run(t, func(t *testing.T, _ func() time.Time) ingest.IdempotencyStore {
		return redisidempotency.New(client, prefix+t.Name()+":") // same t, same keys: a second replica
	})
}
