package samples

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// seriesKey identifies a series across tenants (for the cache only).
type seriesKey struct {
	tenant int64
	hash   metric.SeriesHash
}

// seriesCache maps tenant+hash to the series id. It holds committed ids
// only. When it reaches max entries it starts over (series ids never change,
// so a dropped entry only costs one lookup). Safe for concurrent use.
type seriesCache struct {
	mu  sync.RWMutex
	m   map[seriesKey]int64
	max int
}

func newSeriesCache(max int) *seriesCache {
	return &seriesCache{m: make(map[seriesKey]int64), max: max}
}

// lookup fills ids[i] for every key found and returns the indexes it missed.
func (c *seriesCache) lookup(keys []seriesKey, ids []int64) (missing []int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, k := range keys {
		if id, ok := c.m[k]; ok {
			ids[i] = id
		} else {
			missing = append(missing, i)
		}
	}
	return missing
}

func (c *seriesCache) putAll(found map[seriesKey]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(found) > c.max {
		c.m = make(map[seriesKey]int64, len(found))
	}
	for k, id := range found {
		c.m[k] = id
	}
}

// newSeries is a series to create.
type newSeries struct {
	key  seriesKey
	name string
	tags metric.Tags
}

// seriesBatchRows bounds the rows (and placeholders) of one series statement.
const seriesBatchRows = 500

// resolveSeries creates the missing series (INSERT IGNORE, committed on its
// own so that only committed ids are ever cached) and returns the id of each.
func (s *Store) resolveSeries(ctx context.Context, want []newSeries, now time.Time) (map[seriesKey]int64, error) {
	// A stable order makes concurrent writers take locks in the same order.
	slices.SortFunc(want, func(a, b newSeries) int {
		if a.key.tenant != b.key.tenant {
			return cmpInt(a.key.tenant, b.key.tenant)
		}
		return slices.Compare(a.key.hash[:], b.key.hash[:])
	})
	found := make(map[seriesKey]int64, len(want))
	for start := 0; start < len(want); start += seriesBatchRows {
		chunk := want[start:min(start+seriesBatchRows, len(want))]
		err := s.db.Retry(ctx, func() error { return s.insertSeries(ctx, chunk, now) })
		if err != nil {
			return nil, fmt.Errorf("create %d series: %w", len(chunk), err)
		}
		if err := s.selectSeries(ctx, chunk, found); err != nil {
			return nil, err
		}
	}
	for _, ns := range want {
		if _, ok := found[ns.key]; !ok {
			return nil, fmt.Errorf("series %s of tenant %d not found after insert", ns.name, ns.key.tenant)
		}
	}
	s.series.putAll(found)
	return found, nil
}

// insertSeries creates chunk's series and records their names, tag keys
// and values in the catalogue (catalogue.go), in one transaction.
func (s *Store) insertSeries(ctx context.Context, chunk []newSeries, now time.Time) error {
	b := s.db.SB.Insert("series").Options(s.db.Dialect.InsertIgnore).
		Columns("tenant_id", "name", "tags", "hash", "created_at")
	for _, ns := range chunk {
		tags, err := encodeTags(ns.tags)
		if err != nil {
			return err
		}
		b = b.Values(ns.key.tenant, ns.name, tags, ns.key.hash[:], sqldb.Millis(now))
	}
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if _, err := b.RunWith(tx).ExecContext(ctx); err != nil {
		return err
	}
	if err := s.insertCatalogue(ctx, tx, chunk); err != nil {
		return err
	}
	return tx.Commit()
}

// selectSeries reads the ids of chunk's series, one query per tenant.
func (s *Store) selectSeries(ctx context.Context, chunk []newSeries, found map[seriesKey]int64) error {
	for i := 0; i < len(chunk); {
		tenantID := chunk[i].key.tenant
		var hashes []any
		for ; i < len(chunk) && chunk[i].key.tenant == tenantID; i++ {
			hashes = append(hashes, chunk[i].key.hash[:])
		}
		rows, err := s.db.SB.Select("id", "hash").From("series").
			Where(sq.Eq{"tenant_id": tenantID}).Where(sq.Eq{"hash": hashes}).
			RunWith(s.db.Write).QueryContext(ctx)
		if err != nil {
			return fmt.Errorf("look up series of tenant %d: %w", tenantID, err)
		}
		for rows.Next() {
			var id int64
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				rows.Close()
				return fmt.Errorf("look up series of tenant %d: %w", tenantID, err)
			}
			k := seriesKey{tenant: tenantID}
			copy(k.hash[:], raw)
			found[k] = id
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("look up series of tenant %d: %w", tenantID, err)
		}
	}
	return nil
}

// encodeTags renders tags as a JSON object (keys sorted; "{}" when empty).
func encodeTags(t metric.Tags) (string, error) {
	b, err := json.Marshal(t.Map())
	if err != nil {
		return "", fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

func decodeTags(s string) (metric.Tags, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode tags %q: %w", s, err)
	}
	return metric.SortedTags(m), nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
