package ingestor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/tenant"
)

// tenantCache remembers slug → tenant id answers: found ones for ttl,
// unknown ones for ttl/10 (so a new tenant is seen soon, while a flood on an
// unknown topic does not reach the database). Transient errors are not kept.
type tenantCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	id      int64
	unknown bool
	expires time.Time
}

// maxCacheEntries bounds the cache against a flood of made-up slugs.
const maxCacheEntries = 100_000

func newTenantCache(ttl time.Duration) *tenantCache {
	return &tenantCache{ttl: ttl, now: time.Now, entries: map[string]cacheEntry{}}
}

func (c *tenantCache) get(ctx context.Context, slug string, res TenantResolver) (int64, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[slug]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		if e.unknown {
			return 0, tenant.ErrNotFound
		}
		return e.id, nil
	}
	id, err := res.TenantIDBySlug(ctx, slug)
	switch {
	case err == nil:
		e = cacheEntry{id: id, expires: now.Add(c.ttl)}
	case errors.Is(err, tenant.ErrNotFound):
		e = cacheEntry{unknown: true, expires: now.Add(c.ttl / 10)}
	default:
		return 0, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxCacheEntries {
		clear(c.entries)
	}
	c.entries[slug] = e
	c.mu.Unlock()
	return id, err
}
