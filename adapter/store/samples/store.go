// Package samples stores series and samples and everything derived from
// them: the write path of the workers (flush.Store, with dedupe ids), raw
// and rollup reads (query.Reader), the rollup job's pending work, the
// metric catalogue, retention and MariaDB's daily partitions, and the
// ingest use case's series cap (ingest.SeriesGate). It shares the database
// of adapter/store/sqldb. A Store is safe for concurrent use.
package samples

import (
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
)

// DefaultSeriesCacheSize bounds the series-id cache (entries).
const DefaultSeriesCacheSize = 1 << 20

// Store is the SQL store of the samples aggregate.
type Store struct {
	db     *sqldb.DB
	series *seriesCache
	// sampleRows is the number of rows per multi-row samples INSERT.
	sampleRows int
	// The zero values of these are the defaults (see dedupe.go, gate.go).
	dedupeWindow time.Duration
	seriesCounts tenantCounts
	prepared     preparedReads
}

// New returns the samples store on db.
func New(db *sqldb.DB) *Store {
	return &Store{db: db, series: newSeriesCache(DefaultSeriesCacheSize), sampleRows: 5000}
}

// SetSampleRowsPerInsert sets how many rows each multi-row samples INSERT
// holds (default 5000). For benchmarks and tuning.
func (s *Store) SetSampleRowsPerInsert(n int) {
	if n > 0 {
		s.sampleRows = n
	}
}

// Close closes the prepared read statements (not the database).
func (s *Store) Close() error { return s.closePrepared() }
