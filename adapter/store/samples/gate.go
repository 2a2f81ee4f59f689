package samples

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// The store enforces the per-tenant series cap for the ingest use case.
var _ ingest.SeriesGate = (*Store)(nil)

// countTTL is how long a tenant's cached series count is trusted.
const countTTL = 2 * time.Second

// tenantCounts caches each tenant's series count. Its zero value is ready.
type tenantCounts struct {
	mu sync.Mutex
	m  map[int64]*tenantCount
}

// tenantCount is one tenant's count; mu serialises the admission of new
// series of the tenant within this process.
type tenantCount struct {
	mu sync.Mutex
	n  int64
	at time.Time // when n was read from the database; zero = never
}

func (c *tenantCounts) get(tenantID int64) *tenantCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int64]*tenantCount{}
	}
	tc, ok := c.m[tenantID]
	if !ok {
		tc = &tenantCount{}
		c.m[tenantID] = tc
	}
	return tc
}

// Admit applies the cap of maxSeries series to tenantID's samples and returns the
// indexes of the samples whose series were refused (every sample of such a
// series), in ascending order.
//
// A series in the id cache passes without a database round trip. The others
// are looked up in the series table; those that exist pass (and are
// cached). The truly new ones are admitted in sample order while the
// tenant's count stays <= maxSeries, and are created right away, so the count is
// real and the workers find them.
//
// The count is read with COUNT(*) and cached for countTTL, counting the
// series this process creates. New series of one tenant are admitted one
// request at a time per process, so a process never overshoots on its own.
// A cached count is trusted to refuse (counts only grow) and to admit while
// the result stays at or below maxSeries/2; an admission into the upper half
// re-reads the count. So the cap is exceeded only by what other replicas are
// creating at that moment: at most one request's new series per other API
// replica (assuming no replica creates maxSeries/2 series within countTTL).
//
// A missing tenant (tenantID <= 0) is sqldb.ErrTenantRequired.
func (s *Store) Admit(ctx context.Context, tenantID int64, samples []metric.Sample, maxSeries int) ([]int, error) {
	if err := sqldb.RequireTenant("admit series", tenantID); err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		return nil, nil
	}
	keys := make([]seriesKey, len(samples))
	for i, smp := range samples {
		keys[i] = seriesKey{tenant: tenantID, hash: smp.Series()}
	}
	ids := make([]int64, len(samples))
	missing := s.series.lookup(keys, ids)
	if len(missing) == 0 {
		return nil, nil
	}
	// Distinct unknown series, in sample order.
	var want []newSeries
	queued := make(map[seriesKey]bool, len(missing))
	for _, i := range missing {
		if k := keys[i]; !queued[k] {
			queued[k] = true
			want = append(want, newSeries{key: k, name: samples[i].Name(), tags: samples[i].Tags()})
		}
	}
	found := make(map[seriesKey]int64, len(want))
	for start := 0; start < len(want); start += seriesBatchRows {
		if err := s.selectSeries(ctx, want[start:min(start+seriesBatchRows, len(want))], found); err != nil {
			return nil, err
		}
	}
	if len(found) > 0 {
		s.series.putAll(found)
	}
	var fresh []newSeries
	for _, ns := range want {
		if _, ok := found[ns.key]; !ok {
			fresh = append(fresh, ns)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}

	tc := s.seriesCounts.get(tenantID)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	now := s.db.Now()
	fits := func() int64 { return min(int64(len(fresh)), max(int64(maxSeries)-tc.n, 0)) }
	stale := tc.at.IsZero() || now.Sub(tc.at) >= countTTL || now.Before(tc.at)
	if stale || (fits() > 0 && tc.n+fits() > int64(maxSeries)/2) {
		n, err := s.countSeries(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		tc.n, tc.at = n, now
	}
	admit := fits()
	if admit > 0 {
		if _, err := s.resolveSeries(ctx, fresh[:admit], now); err != nil {
			tc.at = time.Time{} // some may exist: re-count next time
			return nil, err
		}
		tc.n += admit
	}
	if admit == int64(len(fresh)) {
		return nil, nil
	}
	refusedKeys := make(map[seriesKey]bool, len(fresh)-int(admit))
	for _, ns := range fresh[admit:] {
		refusedKeys[ns.key] = true
	}
	var refused []int
	for _, i := range missing {
		if refusedKeys[keys[i]] {
			refused = append(refused, i)
		}
	}
	return refused, nil
}

// countSeries counts the tenant's series.
func (s *Store) countSeries(ctx context.Context, tenantID int64) (int64, error) {
	var n int64
	err := s.db.SB.Select("COUNT(*)").From("series").Where("tenant_id = ?", tenantID).
		RunWith(s.db.Read).QueryRowContext(ctx).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count series of tenant %d: %w", tenantID, err)
	}
	return n, nil
}
