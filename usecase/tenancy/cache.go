package tenancy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Every request looks its token and tenant up. Reading them from the
// database each time would make ingest fail whenever the database is away,
// although the queue in front of it exists to buffer exactly that. So both
// are cached for CacheTTL; a change made through this Service drops its
// entries at once here and, through Invalidations, in every other process;
// a change made elsewhere without Invalidations (the CLI on the embedded
// database) is seen within CacheTTL. While the store fails, an entry past
// its TTL keeps serving (stale-if-error): revoking or disabling needs the
// database, so nothing can have been revoked meanwhile that the other
// processes did not hear of.

// CacheTTL bounds how long a token or tenant read from the store is reused.
const CacheTTL = 2 * time.Second

// maxCached bounds each cache; past it an arbitrary entry makes room (a
// flood of unknown token ids must not grow memory).
const maxCached = 100_000

// Invalidation names what changed: a token by id, a tenant by id.
type Invalidation struct {
	TokenID  string
	TenantID int64
}

// Invalidations carries cache invalidations between processes (Redis
// pub/sub in distributed mode). Publish returns once the message is sent;
// Subscribe delivers every message published by any process (this one
// included) to fn, and calls reset when messages may have been missed (a
// reconnect), until ctx ends. Safe for concurrent use.
type Invalidations interface {
	Publish(ctx context.Context, inv Invalidation) error
	Subscribe(ctx context.Context, fn func(Invalidation), reset func()) error
}

// WithInvalidations makes this Service tell other processes of its changes
// (and hear of theirs, once ListenForChanges runs).
func (s *Service) WithInvalidations(inv Invalidations) *Service {
	s.inval = inv
	return s
}

// ListenForChanges applies the other processes' invalidations until ctx
// ends (a role's background loop). Without Invalidations it only waits.
func (s *Service) ListenForChanges(ctx context.Context) error {
	if s.inval == nil {
		<-ctx.Done()
		return nil
	}
	for ctx.Err() == nil {
		_ = s.inval.Subscribe(ctx, s.forget, s.forgetAll) // returns when the connection is lost
		// Messages may have been missed: trust nothing older than now.
		s.forgetAll()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// changed drops the entries of what this Service just changed, here and
// (best effort: the TTL is the floor) in every other process.
func (s *Service) changed(ctx context.Context, inv Invalidation) {
	s.forget(inv)
	if s.inval != nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.inval.Publish(pctx, inv)
	}
}

func (s *Service) forget(inv Invalidation) {
	if inv.TokenID != "" {
		s.tokenCache.drop(inv.TokenID)
	}
	if inv.TenantID != 0 {
		s.tenantCache.drop(inv.TenantID)
	}
}

func (s *Service) forgetAll() {
	s.tokenCache.clear()
	s.tenantCache.clear()
}

// cachedToken returns the token with the id; token.ErrNotFound is cached
// like a token (unknown ids are what a scanner sends).
func (s *Service) cachedToken(ctx context.Context, id string) (token.Token, error) {
	return s.tokenCache.lookup(ctx, id, s.now, func(ctx context.Context) (token.Token, error) {
		return s.tokens.TokenByID(ctx, id)
	}, func(err error) bool { return errors.Is(err, token.ErrNotFound) })
}

// tenant returns the tenant with the id (tenant.ErrNotFound is cached too).
func (s *Service) tenant(ctx context.Context, id int64) (tenant.Tenant, error) {
	return s.tenantCache.lookup(ctx, id, s.now, func(ctx context.Context) (tenant.Tenant, error) {
		return s.tenants.TenantByID(ctx, id)
	}, func(err error) bool { return errors.Is(err, tenant.ErrNotFound) })
}

// Refreshing an entry: the store is asked by one caller at a time per key,
// for at most refreshTimeout. A caller holding a stale entry waits for the
// answer at most staleWait, then goes on with the stale entry while the
// refresh finishes beside it; a failed refresh keeps the stale entry and
// the store is not asked again for that key before retryAfterFailure. So a
// database that hangs (SIGSTOP) delays a request by staleWait at most,
// once per key and second, and never by a request deadline.
const (
	refreshTimeout    = time.Second
	staleWait         = 100 * time.Millisecond
	retryAfterFailure = time.Second
)

// entry is one cached answer and when the store gave it.
type entry[V any] struct {
	val     V
	err     error // a cached failure (keep says which)
	fetched time.Time
	retryAt time.Time // after a failed refresh: serve stale until then
}

// boundedCache is a map of at most maxCached entries, safe for concurrent
// use. Its zero value is ready.
type boundedCache[K comparable, V any] struct {
	mu         sync.RWMutex
	m          map[K]entry[V]
	flight     singleflight.Group
	refreshing sync.Map // key → true while its refresh runs
}

// lookup answers k from the cache while fresh, else from fetch (keep tells
// the errors that are answers to cache, like "not found"); when fetch fails
// or is slow, from the stale entry if there is one.
func (c *boundedCache[K, V]) lookup(ctx context.Context, k K, clock func() time.Time, fetch func(context.Context) (V, error), keep func(error) bool) (V, error) {
	now := clock()
	e, ok := c.get(k)
	switch {
	case ok && now.Sub(e.fetched) < CacheTTL:
		return e.val, e.err
	case ok && e.err == nil && now.Before(e.retryAt):
		return e.val, nil
	}
	stale := ok && e.err == nil
	key := fmt.Sprint(k)
	if _, busy := c.refreshing.Load(key); busy && stale {
		return e.val, nil // a refresh is already out: do not queue behind it
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		c.refreshing.Store(key, true)
		defer c.refreshing.Delete(key)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		v, err := fetch(fctx)
		at := clock()
		if err == nil || keep(err) {
			c.put(k, entry[V]{val: v, err: err, fetched: at})
		} else if old, ok := c.get(k); ok && old.err == nil {
			old.retryAt = at.Add(retryAfterFailure)
			c.put(k, old)
		}
		return v, err
	})
	wait := refreshTimeout
	if stale {
		wait = staleWait
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var err error
	select {
	case res := <-ch:
		if res.Err == nil || keep(res.Err) {
			v, _ := res.Val.(V)
			return v, res.Err
		}
		err = res.Err
	case <-timer.C:
		err = fmt.Errorf("no answer within %s: %w", wait, context.DeadlineExceeded)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if stale {
		return e.val, nil // stale-if-error
	}
	var zero V
	return zero, outage.Unavailable("database", err)
}

func (c *boundedCache[K, V]) get(k K) (entry[V], bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *boundedCache[K, V]) put(k K, e entry[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[K]entry[V]{}
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= maxCached {
		for old := range c.m { // map order is random: an arbitrary victim
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
}

func (c *boundedCache[K, V]) drop(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

func (c *boundedCache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
