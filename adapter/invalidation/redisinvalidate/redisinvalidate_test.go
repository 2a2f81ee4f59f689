package redisinvalidate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/invalidation/redisinvalidate"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// Two processes on one channel: what one publishes, both receive, in order;
// another channel hears nothing (tests and deployments keep apart).
func TestPublishReachesEverySubscriber(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: testservice.RedisAddr()})
	t.Cleanup(func() { _ = client.Close() })
	channel := testservice.UniqueName("pulse-test-inval:")
	a, b := redisinvalidate.New(client, channel), redisinvalidate.New(client, channel)
	other := redisinvalidate.New(client, channel+"-other")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	got := make(chan tenancy.Invalidation, 10)
	strays := make(chan tenancy.Invalidation, 10)
	for _, bus := range []*redisinvalidate.Bus{a, b} {
		go func() {
			_ = bus.Subscribe(ctx, func(inv tenancy.Invalidation) { got <- inv }, func() {})
		}()
	}
	go func() { _ = other.Subscribe(ctx, func(inv tenancy.Invalidation) { strays <- inv }, func() {}) }()
	// Subscriptions are asynchronous: publish until both have heard a probe.
	waitSubscribers(t, ctx, client, channel, 2)
	waitSubscribers(t, ctx, client, channel+"-other", 1)

	sent := []tenancy.Invalidation{{TokenID: "abcdefgh12"}, {TenantID: 42}}
	for _, inv := range sent {
		if err := a.Publish(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[tenancy.Invalidation]int{}
	for range 2 * len(sent) {
		select {
		case inv := <-got:
			counts[inv]++
		case <-ctx.Done():
			t.Fatalf("received %v, want each of %v twice", counts, sent)
		}
	}
	for _, inv := range sent {
		if counts[inv] != 2 {
			t.Errorf("%+v received %d times, want 2", inv, counts[inv])
		}
	}
	select {
	case inv := <-strays:
		t.Errorf("another channel received %+v", inv)
	case <-time.After(200 * time.Millisecond):
	}
}

func waitSubscribers(t *testing.T, ctx context.Context, client *redis.Client, channel string, want int64) {
	t.Helper()
	for {
		n, err := client.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[channel] >= want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d subscribers on %s, want %d", n[channel], channel, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A lost connection tells the subscriber to reset: it may have missed
// messages while away.
func TestLostConnectionResets(t *testing.T) {
	channel := testservice.UniqueName("pulse-test-inval:")
	name := testservice.UniqueName("pulse-test-sub-") // to kill this connection only
	subClient := redis.NewClient(&redis.Options{Addr: testservice.RedisAddr(), ClientName: name})
	client := redis.NewClient(&redis.Options{Addr: testservice.RedisAddr()})
	t.Cleanup(func() { _ = client.Close(); _ = subClient.Close() })
	bus := redisinvalidate.New(subClient, channel)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resets := make(chan struct{}, 10)
	go func() { _ = bus.Subscribe(ctx, func(tenancy.Invalidation) {}, func() { resets <- struct{}{} }) }()
	waitSubscribers(t, ctx, client, channel, 1)
	// Kill the subscriber's connection from the server side.
	list, err := client.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") || !strings.Contains(line, "sub=1") {
			continue
		}
		id := strings.TrimPrefix(strings.Fields(line)[0], "id=")
		if err := client.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatal(err)
		}
		killed++
	}
	if killed != 1 {
		t.Fatalf("found %d subscriber connections named %s, want 1", killed, name)
	}
	select {
	case <-resets:
	case <-ctx.Done():
		t.Fatal("no reset after the connection was killed")
	}
	waitSubscribers(t, ctx, client, channel, 1) // and it subscribes again
}

// Subscribe returns promptly when its context ends, message or not (a
// role's shutdown waits for it).
func TestSubscribeStopsWithItsContext(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: testservice.RedisAddr()})
	t.Cleanup(func() { _ = client.Close() })
	channel := testservice.UniqueName("pulse-test-inval:")
	bus := redisinvalidate.New(client, channel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Subscribe(ctx, func(tenancy.Invalidation) {}, func() {}) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	waitSubscribers(t, wctx, client, channel, 1)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Subscribe still running 2 s after its context ended")
	}
}
