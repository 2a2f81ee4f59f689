package samples

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// On MariaDB the samples table is RANGE-partitioned on ts by UTC day
// (migration 00006): partition pYYYYMMDD holds [day, day+1) in Unix ms and
// pmax (VALUES LESS THAN MAXVALUE) everything after the last day. The first
// partition also holds whatever is older than its day. SQLite has no
// partitions: there the methods of this file do nothing.

const dayMs = int64(24 * time.Hour / time.Millisecond)

// maxNewPartitions bounds the days one EnsurePartitions call creates (more
// than the longest retention tenant.Tenant allows). After a longer gap the
// first new partition spans the older days too.
const maxNewPartitions = 3700

// ddlWaitSeconds bounds how long a partition change waits for the table's
// metadata lock (ALTER TABLE … WAIT n) instead of the server's default (a
// day): while it waits, new reads and writes of samples queue behind it, so
// it gives up soon (a long query holds the table) and tries again.
const ddlWaitSeconds = 3

// ddlAttempts bounds the attempts of one partition change; each one reads
// the partitions again, so a change made meanwhile by another process (the
// CLI beside the scheduler) is taken into account.
const ddlAttempts = 3

// errNotPartitioned means the samples table has no partitions on MariaDB
// (migration 00006 not applied).
var errNotPartitioned = errors.New("samples table is not partitioned (run the migrations)")

// partition is one partition of samples: it holds ts < bound (maxValue:
// no bound).
type partition struct {
	name     string
	bound    int64
	maxValue bool
}

// Partitioned reports whether the samples table is partitioned by day
// (MariaDB), so that retention can drop whole days with
// DropPartitionsBefore. On SQLite it is false: old rows are deleted in
// chunks (DeleteSamplesBefore) for every tenant.
func (s *Store) Partitioned() bool { return s.db.Dialect.Name == "mysql" }

// EnsurePartitions makes sure daily partitions of samples exist for the
// UTC days of now up to daysAhead days later, splitting pmax with
// REORGANIZE PARTITION (rows already in pmax move to their day). Missing
// days between the last partition and today are created too, so every
// partition stays one day. It returns the names of the partitions it
// created, none if they all exist (it is idempotent). On SQLite it does
// nothing and returns nil.
func (s *Store) EnsurePartitions(ctx context.Context, now time.Time, daysAhead int) ([]string, error) {
	if !s.Partitioned() {
		return nil, nil
	}
	if daysAhead < 0 {
		return nil, fmt.Errorf("ensure partitions: days ahead %d < 0", daysAhead)
	}
	today := floorDiv(now.UnixMilli(), dayMs)
	want := (today + int64(daysAhead) + 1) * dayMs // bound of the last day wanted
	return s.alterPartitions(ctx, "ensure partitions", func(parts []partition) (string, []string, error) {
		maxName, last, hasDay := "", today*dayMs, false
		for _, p := range parts {
			switch {
			case p.maxValue:
				maxName = p.name
			case !hasDay || p.bound > last:
				last, hasDay = p.bound, true
			}
		}
		if maxName == "" {
			return "", nil, errors.New("samples has no MAXVALUE partition")
		}
		if last >= want {
			return "", nil, nil
		}
		last = max(last, want-maxNewPartitions*dayMs)
		var names []string
		var b strings.Builder
		fmt.Fprintf(&b, "ALTER TABLE samples WAIT %d REORGANIZE PARTITION `%s` INTO (", ddlWaitSeconds, maxName)
		for bound := floorDiv(last, dayMs)*dayMs + dayMs; bound <= want; bound += dayMs {
			name := partitionName(bound)
			names = append(names, name)
			fmt.Fprintf(&b, "PARTITION %s VALUES LESS THAN (%d), ", name, bound)
		}
		fmt.Fprintf(&b, "PARTITION `%s` VALUES LESS THAN MAXVALUE)", maxName)
		return b.String(), names, nil
	})
}

// DropPartitionsBefore drops the daily partitions of samples whose whole
// range lies before cutoff (their bound is at or before it), rows and all,
// and returns their names. pmax is never dropped. On SQLite it does nothing
// and returns nil.
func (s *Store) DropPartitionsBefore(ctx context.Context, cutoff time.Time) ([]string, error) {
	if !s.Partitioned() {
		return nil, nil
	}
	cutoffMs := cutoff.UnixMilli()
	return s.alterPartitions(ctx, "drop partitions", func(parts []partition) (string, []string, error) {
		var names []string
		for _, p := range parts {
			if !p.maxValue && p.bound <= cutoffMs {
				names = append(names, p.name)
			}
		}
		if len(names) == 0 {
			return "", nil, nil
		}
		return fmt.Sprintf("ALTER TABLE samples WAIT %d DROP PARTITION `%s`", ddlWaitSeconds, strings.Join(names, "`, `")), names, nil
	})
}

// alterPartitions reads the partitions, asks plan for the statement that
// changes them (none: nothing to do) and runs it; on failure it tries again
// from a fresh read, up to ddlAttempts times.
func (s *Store) alterPartitions(ctx context.Context, op string, plan func([]partition) (string, []string, error)) ([]string, error) {
	for attempt := 1; ; attempt++ {
		parts, err := s.samplePartitions(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		stmt, names, err := plan(parts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if stmt == "" {
			return nil, nil
		}
		_, err = s.db.Write.ExecContext(ctx, stmt)
		if err == nil {
			return names, nil
		}
		if attempt == ddlAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s (attempt %d): %w", op, strings.Join(names, ","), attempt, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w (retry stopped: %v)", op, err, ctx.Err())
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// samplePartitions lists the partitions of samples in order.
func (s *Store) samplePartitions(ctx context.Context) ([]partition, error) {
	rows, err := s.db.Write.QueryContext(ctx, `SELECT PARTITION_NAME, PARTITION_DESCRIPTION
FROM information_schema.PARTITIONS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'samples'
ORDER BY PARTITION_ORDINAL_POSITION`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	defer rows.Close()
	var out []partition
	for rows.Next() {
		var name, desc sql.NullString
		if err := rows.Scan(&name, &desc); err != nil {
			return nil, fmt.Errorf("list partitions: %w", err)
		}
		if !name.Valid {
			return nil, errNotPartitioned
		}
		p := partition{name: name.String, maxValue: desc.String == "MAXVALUE"}
		if !p.maxValue {
			if p.bound, err = strconv.ParseInt(desc.String, 10, 64); err != nil {
				return nil, fmt.Errorf("partition %s: bound %q: %w", p.name, desc.String, err)
			}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("list partitions: table samples not found")
	}
	return out, nil
}

// partitionName names the daily partition whose bound is bound: p and the
// UTC day before the bound.
func partitionName(bound int64) string {
	return "p" + time.UnixMilli(bound-dayMs).UTC().Format("20060102")
}

// floorDiv is a / b rounded down (b > 0), for times before 1970 too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
