package redisqueue_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/queue/queuetest"
	"github.com/pulsemetrics/pulse/adapter/queue/redisqueue"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

func TestContract(t *testing.T) {
	client, prefix := testservice.Redis(t)
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		q, err := redisqueue.New(client, redisqueue.Options{
			Stream:        prefix + t.Name(), // same t, same stream: a second worker
			LeaseTimeout:  queuetest.LeaseTimeout,
			MaxDeliveries: queuetest.MaxDeliveries,
		})
		if err != nil {
			t.Fatalf("new queue: %v", err)
		}
		t.Cleanup(func() { _ = q.Close() })
		return q
	})
}
