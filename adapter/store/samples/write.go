package samples

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

// sampleRow is one row of the samples table.
type sampleRow struct {
	tenant   int64 // not stored: statements are per tenant, to count per tenant
	seriesID int64
	ts       int64
	value    float64
	ingested int64 // Unix ms: the batch's AcceptedAt
	seq      int32 // position in the call, to keep the first of equal keys
}

// dedupeKey is a client's idempotency id within a tenant.
type dedupeKey struct {
	tenant int64
	id     string
}

// WriteBatches stores the batches' samples in one transaction and returns
// only after it commits. It is idempotent: a sample whose (series, ts) is
// already stored is ignored (the first write wins), and a sample whose
// non-empty dedupe id was already seen for its tenant (in an earlier call or
// earlier in this one) within the dedupe window is skipped (see
// SetDedupeWindow). Deadlocks and lock-wait timeouts are
// retried a few times. A batch without a tenant fails the whole call with
// sqldb.ErrTenantRequired and writes nothing. It reports per tenant how many
// samples were stored, repeats, and deduplicated. Safe for concurrent use.
func (s *Store) WriteBatches(ctx context.Context, batches []metric.Batch) (flush.Written, error) {
	total := 0
	for i, b := range batches {
		if b.TenantID <= 0 { // checked first: no formatting on the hot path
			return nil, sqldb.RequireTenant(fmt.Sprintf("write batch %d of %d", i, len(batches)), b.TenantID)
		}
		total += len(b.Samples)
	}
	if total == 0 {
		return flush.Written{}, nil
	}
	now := s.db.Now()
	keys := make([]seriesKey, 0, total)
	for _, b := range batches {
		for _, smp := range b.Samples {
			keys = append(keys, seriesKey{tenant: b.TenantID, hash: smp.Series()})
		}
	}
	ids := make([]int64, total)
	if missing := s.series.lookup(keys, ids); len(missing) > 0 {
		if err := s.resolveMissing(ctx, batches, keys, ids, missing, now); err != nil {
			return nil, err
		}
	}

	rows := make([]sampleRow, 0, total)
	var dedupe []dedupeKey
	var dedupeRow []int // index into rows of each dedupe key
	seen := map[dedupeKey]bool{}
	inCall := flush.Written{} // dedupe ids repeated within this call
	i := 0
	for _, b := range batches {
		ingested := b.AcceptedAt.UnixMilli()
		if b.AcceptedAt.IsZero() {
			ingested = now.UnixMilli()
		}
		for _, smp := range b.Samples {
			id := ids[i]
			i++
			if d := smp.DedupeID(); d != "" {
				k := dedupeKey{tenant: b.TenantID, id: d}
				if seen[k] {
					c := inCall[b.TenantID]
					c.Deduped++
					inCall[b.TenantID] = c
					continue // a duplicate within this call
				}
				seen[k] = true
				dedupe = append(dedupe, k)
				dedupeRow = append(dedupeRow, len(rows))
			}
			rows = append(rows, sampleRow{tenant: b.TenantID, seriesID: id, ts: smp.TimestampMillis(), value: smp.Value(), ingested: ingested, seq: int32(len(rows))})
		}
	}

	var written flush.Written
	err := s.db.Retry(ctx, func() error {
		var err error
		written, err = s.writeTx(ctx, rows, dedupe, dedupeRow, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("write %d batches (%d samples): %w", len(batches), total, err)
	}
	written.Add(inCall)
	return written, nil
}

// resolveMissing finds or creates the series of the samples at the missing indexes.
func (s *Store) resolveMissing(ctx context.Context, batches []metric.Batch, keys []seriesKey, ids []int64, missing []int, now time.Time) error {
	want := make([]newSeries, 0, len(missing))
	queued := make(map[seriesKey]bool, len(missing))
	mi := 0
	i := 0
	for _, b := range batches {
		for _, smp := range b.Samples {
			if mi < len(missing) && missing[mi] == i {
				mi++
				if k := keys[i]; !queued[k] {
					queued[k] = true
					want = append(want, newSeries{key: k, name: smp.Name(), tags: smp.Tags()})
				}
			}
			i++
		}
	}
	found, err := s.resolveSeries(ctx, want, now)
	if err != nil {
		return err
	}
	for _, i := range missing {
		ids[i] = found[keys[i]]
	}
	return nil
}

// writeTx runs one attempt: dedupe check, dedupe rows, sample rows, commit.
func (s *Store) writeTx(ctx context.Context, rows []sampleRow, dedupe []dedupeKey, dedupeRow []int, now time.Time) (flush.Written, error) {
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit

	written := flush.Written{}
	keep := rows
	if len(dedupe) > 0 {
		known, err := s.knownDedupe(ctx, tx, dedupe, now)
		if err != nil {
			return nil, err
		}
		var fresh, renew []dedupeKey
		skip := make(map[int]bool, len(known))
		for j, k := range dedupe {
			switch live, found := known[k]; {
			case live:
				skip[dedupeRow[j]] = true
				c := written[k.tenant]
				c.Deduped++
				written[k.tenant] = c
			case found:
				renew = append(renew, k) // seen before the window: store again
			default:
				fresh = append(fresh, k)
			}
		}
		if err := s.insertDedupe(ctx, tx, fresh, now); err != nil {
			return nil, err
		}
		if err := s.renewDedupe(ctx, tx, renew, now); err != nil {
			return nil, err
		}
		if len(skip) > 0 {
			keep = make([]sampleRow, 0, len(rows)-len(skip))
			for j, r := range rows {
				if !skip[j] {
					keep = append(keep, r)
				}
			}
		} else {
			keep = slices.Clone(rows) // rows keep their order for a retry
		}
	}
	// Key order: fewer deadlocks between concurrent writers and sequential
	// B-tree inserts. Ties keep call order (seq), so the first of two equal
	// keys wins. Tenant first: a statement holds one tenant's rows, so its
	// affected-row count tells that tenant's stored samples from its repeats.
	slices.SortFunc(keep, func(a, b sampleRow) int {
		if a.tenant != b.tenant {
			return cmpInt(a.tenant, b.tenant)
		}
		if a.seriesID != b.seriesID {
			return cmpInt(a.seriesID, b.seriesID)
		}
		if a.ts != b.ts {
			return cmpInt(a.ts, b.ts)
		}
		return int(a.seq) - int(b.seq)
	})
	buf := make([]byte, 0, 64+min(len(keep), s.sampleRows)*48)
	for start := 0; start < len(keep); {
		end := min(start+s.sampleRows, len(keep))
		tenant := keep[start].tenant
		if keep[end-1].tenant != tenant {
			end = start + sort.Search(end-start, func(i int) bool { return keep[start+i].tenant != tenant })
		}
		buf = s.appendSamplesInsert(buf[:0], keep[start:end])
		res, err := tx.ExecContext(ctx, string(buf))
		if err != nil {
			return nil, fmt.Errorf("insert samples: %w", err)
		}
		stored, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("insert samples: rows affected: %w", err)
		}
		c := written[tenant]
		c.Stored += int(stored)
		c.Repeated += end - start - int(stored)
		written[tenant] = c
		start = end
	}
	if err := s.insertPending(ctx, tx, keep, buf); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return written, nil
}

// appendSamplesInsert renders one multi-row INSERT with literal values:
// measured faster than placeholders (one round trip, no parameter
// conversion). Every value is a number, so nothing needs escaping.
func (s *Store) appendSamplesInsert(buf []byte, rows []sampleRow) []byte {
	buf = append(buf, "INSERT "...)
	buf = append(buf, s.db.Dialect.InsertIgnore...)
	buf = append(buf, " INTO samples (series_id, ts, value, ingested_at) VALUES "...)
	for i, r := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '(')
		buf = strconv.AppendInt(buf, r.seriesID, 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, r.ts, 10)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, r.value, 'g', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, r.ingested, 10)
		buf = append(buf, ')')
	}
	return buf
}

// dedupeChunk bounds the ids of one dedupe statement.
const dedupeChunk = 1000

// knownDedupe returns which keys are already stored: true if seen within
// the dedupe window at now, false if only longer ago (expired).
func (s *Store) knownDedupe(ctx context.Context, tx *sql.Tx, keys []dedupeKey, now time.Time) (map[dedupeKey]bool, error) {
	cutoff := s.dedupeCutoff(now)
	byTenant := map[int64][]any{}
	for _, k := range keys {
		byTenant[k.tenant] = append(byTenant[k.tenant], k.id)
	}
	known := map[dedupeKey]bool{}
	for tenantID, all := range byTenant {
		for start := 0; start < len(all); start += dedupeChunk {
			chunk := all[start:min(start+dedupeChunk, len(all))]
			rows, err := s.db.SB.Select("dedupe_id", "created_at").From("sample_dedupe").
				Where(sq.Eq{"tenant_id": tenantID}).Where(sq.Eq{"dedupe_id": chunk}).
				RunWith(tx).QueryContext(ctx)
			if err != nil {
				return nil, fmt.Errorf("check dedupe ids of tenant %d: %w", tenantID, err)
			}
			for rows.Next() {
				var id string
				var created int64
				if err := rows.Scan(&id, &created); err != nil {
					rows.Close()
					return nil, fmt.Errorf("check dedupe ids of tenant %d: %w", tenantID, err)
				}
				known[dedupeKey{tenant: tenantID, id: id}] = created > cutoff
			}
			if err := rows.Close(); err != nil {
				return nil, err
			}
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("check dedupe ids of tenant %d: %w", tenantID, err)
			}
		}
	}
	return known, nil
}

// insertDedupe records new dedupe ids. A plain INSERT (not IGNORE): if a
// concurrent transaction stored the same id first, this one fails with a
// duplicate key and is retried, and the retry then skips the sample.
func (s *Store) insertDedupe(ctx context.Context, tx *sql.Tx, keys []dedupeKey, now time.Time) error {
	for start := 0; start < len(keys); start += dedupeChunk {
		b := s.db.SB.Insert("sample_dedupe").Columns("tenant_id", "dedupe_id", "created_at")
		for _, k := range keys[start:min(start+dedupeChunk, len(keys))] {
			b = b.Values(k.tenant, k.id, sqldb.Millis(now))
		}
		if _, err := b.RunWith(tx).ExecContext(ctx); err != nil {
			return fmt.Errorf("insert dedupe ids: %w", err)
		}
	}
	return nil
}

// renewDedupe starts a new window for expired dedupe ids that are used
// again. The UPDATE only matches rows still expired: if a concurrent writer
// renewed one first (MariaDB re-reads the latest row version for an UPDATE),
// fewer rows change and the transaction is retried, then skipping the id.
func (s *Store) renewDedupe(ctx context.Context, tx *sql.Tx, keys []dedupeKey, now time.Time) error {
	cutoff := s.dedupeCutoff(now)
	byTenant := map[int64][]any{}
	for _, k := range keys {
		byTenant[k.tenant] = append(byTenant[k.tenant], k.id)
	}
	for tenantID, all := range byTenant {
		for start := 0; start < len(all); start += dedupeChunk {
			chunk := all[start:min(start+dedupeChunk, len(all))]
			res, err := s.db.SB.Update("sample_dedupe").Set("created_at", sqldb.Millis(now)).
				Where(sq.Eq{"tenant_id": tenantID}).Where(sq.Eq{"dedupe_id": chunk}).
				Where(sq.LtOrEq{"created_at": cutoff}).
				RunWith(tx).ExecContext(ctx)
			if err != nil {
				return fmt.Errorf("renew dedupe ids of tenant %d: %w", tenantID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("renew dedupe ids of tenant %d: %w", tenantID, err)
			}
			if n != int64(len(chunk)) {
				return fmt.Errorf("renew dedupe ids of tenant %d: %w", tenantID, sqldb.ErrRace)
			}
		}
	}
	return nil
}
