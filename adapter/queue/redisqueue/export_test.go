package redisqueue

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// EnqueuePayload adds payload as an entry as it is (no encoding), as
// another build or a hand-written XADD would.
func (q *Queue) EnqueuePayload(ctx context.Context, payload []byte) error {
	return q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.opts.Stream, Values: []any{payloadField, payload}}).Err()
}

// DeadPayloads returns the payloads in the dead stream, oldest first.
func (q *Queue) DeadPayloads(ctx context.Context) ([][]byte, error) {
	msgs, err := q.rdb.XRange(ctx, q.dead, "-", "+").Result()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		p, _ := m.Values[payloadField].(string)
		out[i] = []byte(p)
	}
	return out, nil
}

// SweepConsumers runs the dead-consumer sweep now.
func (q *Queue) SweepConsumers(ctx context.Context) ([]string, error) { return q.sweepConsumers(ctx) }
