// Package redisinvalidate carries the tenancy cache's invalidations between
// Pulse processes over Redis pub/sub (tenancy.Invalidations): a revocation
// or a tenant change made by one API replica, the CLI or the scheduler
// reaches every other process at once instead of after the cache's TTL.
//
// Pub/sub keeps nothing for a subscriber that is away, so every time the
// subscription is (re)established after a loss, the subscriber is told to
// reset: it may have missed messages.
package redisinvalidate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// DefaultChannel is the pub/sub channel when none is given.
const DefaultChannel = "pulse:invalidate"

// Bus is tenancy.Invalidations over one Redis channel.
type Bus struct {
	rdb     *redis.Client
	channel string
}

var _ tenancy.Invalidations = (*Bus)(nil)

// New returns a Bus on channel ("" = DefaultChannel).
func New(client *redis.Client, channel string) *Bus {
	if channel == "" {
		channel = DefaultChannel
	}
	return &Bus{rdb: client, channel: channel}
}

// Publish sends inv to every subscribed process.
func (b *Bus) Publish(ctx context.Context, inv tenancy.Invalidation) error {
	if err := b.rdb.Publish(ctx, b.channel, encode(inv)).Err(); err != nil {
		return fmt.Errorf("publish invalidation on %s: %w", b.channel, err)
	}
	return nil
}

// Subscribe delivers invalidations to fn until ctx ends. reset is called
// whenever messages may have been lost: after a connection failure and on
// each re-subscription after the first.
func (b *Bus) Subscribe(ctx context.Context, fn func(tenancy.Invalidation), reset func()) error {
	ps := b.rdb.Subscribe(ctx, b.channel)
	defer ps.Close()
	// Receive waits on the socket, not on ctx: closing ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	subscribed := false
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			reset() // the next Receive reconnects and subscribes again
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if subscribed {
					reset()
				}
				subscribed = true
			}
		case *redis.Message:
			if inv, err := decode(m.Payload); err == nil {
				fn(inv)
			} else {
				reset() // a message this build cannot read: drop everything rather than guess
			}
		}
	}
}

// Wire format: "token:<id>" or "tenant:<id>".
func encode(inv tenancy.Invalidation) string {
	if inv.TokenID != "" {
		return "token:" + inv.TokenID
	}
	return "tenant:" + strconv.FormatInt(inv.TenantID, 10)
}

func decode(s string) (tenancy.Invalidation, error) {
	kind, v, ok := strings.Cut(s, ":")
	switch {
	case ok && kind == "token" && v != "":
		return tenancy.Invalidation{TokenID: v}, nil
	case ok && kind == "tenant":
		id, err := strconv.ParseInt(v, 10, 64)
		if err == nil && id > 0 {
			return tenancy.Invalidation{TenantID: id}, nil
		}
	}
	return tenancy.Invalidation{}, errors.New("unknown invalidation " + strconv.Quote(s))
}
