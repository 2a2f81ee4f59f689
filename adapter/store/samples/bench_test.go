package samples_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// Benchmarks count one op per sample; calls hold benchSamplesPerCall samples
// (50 batches of 100, as the flush worker gathers them) over benchSeries series.
const (
	benchSamplesPerCall = 5000
	benchBatchSize      = 100
	benchSeries         = 1000
)

var benchBase = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).UnixMilli()

// benchCalls returns the WriteBatches arguments covering n samples, starting
// at call number first (so warm-up and timed calls never overlap).
func benchCalls(tenantID int64, n, first int) [][]metric.Batch {
	var calls [][]metric.Batch
	for c := first; n > 0; c++ {
		size := min(n, benchSamplesPerCall)
		n -= size
		var batches []metric.Batch
		for start := 0; start < size; start += benchBatchSize {
			b := metric.Batch{ID: fmt.Sprint(c, "-", start), TenantID: tenantID, AcceptedAt: time.UnixMilli(benchBase)}
			for i := start; i < min(start+benchBatchSize, size); i++ {
				k := i % benchSeries
				ts := benchBase + int64(c*benchSamplesPerCall/benchSeries+i/benchSeries)*1000
				tags := metric.Tags{{Key: "host", Value: "host-" + strconv.Itoa(k%100)}, {Key: "region", Value: "eu-1"}}
				b.Samples = append(b.Samples, metric.Rehydrate("system.metric."+strconv.Itoa(k/100), float64(i)*0.25+0.1, tags, ts, ""))
			}
			batches = append(batches, b)
		}
		calls = append(calls, batches)
	}
	return calls
}

func benchWriteBatches(b *testing.B, s *sqldbtest.Stores) {
	ctx := context.Background()
	tn, err := tenant.New("bench", "", 0, time.UnixMilli(benchBase))
	if err != nil {
		b.Fatal(err)
	}
	created, err := s.CreateTenant(ctx, tn)
	if err != nil {
		b.Fatal(err)
	}
	// Warm-up creates the series (steady state: series are known).
	for _, call := range benchCalls(created.ID, benchSamplesPerCall, 0) {
		if _, err := s.WriteBatches(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
	calls := benchCalls(created.ID, b.N, 1)
	b.ResetTimer()
	start := time.Now()
	for _, call := range calls {
		if _, err := s.WriteBatches(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "samples/s")
}

func BenchmarkWriteBatchesMariaDB(b *testing.B) {
	benchWriteBatches(b, sqldbtest.MariaDB(b).Store)
}

func BenchmarkWriteBatchesSQLite(b *testing.B) {
	benchWriteBatches(b, sqldbtest.SQLite(b).Store)
}

// BenchmarkPlainInsertMariaDB is the ceiling WriteBatches is measured
// against: the same sample rows into the same tables, one transaction of
// multi-row INSERT IGNORE statements per call, series ids known in advance.
// It compares literal values with placeholders (server-side prepared, and
// interpolated by the driver).
func BenchmarkPlainInsertMariaDB(b *testing.B) {
	for _, mode := range []string{"literal", "placeholders", "placeholders-interpolated"} {
		b.Run(mode, func(b *testing.B) {
			dsn := testservice.MariaDB(b)
			s, err := sqldb.OpenMariaDB(dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			cfg, err := mysql.ParseDSN(dsn)
			if err != nil {
				b.Fatal(err)
			}
			cfg.InterpolateParams = mode == "placeholders-interpolated"
			db, err := sql.Open("mysql", cfg.FormatDSN())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			benchPlain(b, db, mode)
		})
	}
}

type plainRow struct {
	series, ts int64
	value      float64
}

func benchPlain(b *testing.B, db *sql.DB, mode string) {
	ctx := context.Background()
	// Series ids 1..benchSeries, as WriteBatches' warm-up would create them.
	var q strings.Builder
	q.WriteString("INSERT INTO series (id, tenant_id, name, tags, hash, created_at) VALUES ")
	for k := 1; k <= benchSeries; k++ {
		if k > 1 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "(%d, 1, 'system.metric.%d', '{\"host\":\"host-%d\",\"region\":\"eu-1\"}', UNHEX(LPAD(HEX(%d), 32, '0')), 0)", k, (k-1)/100, (k-1)%100, k)
	}
	if _, err := db.ExecContext(ctx, q.String()); err != nil {
		b.Fatal(err)
	}
	var calls [][]plainRow
	for _, call := range benchCalls(1, b.N, 1) {
		var rows []plainRow
		for _, batch := range call {
			for _, smp := range batch.Samples {
				rows = append(rows, plainRow{series: int64(len(rows)%benchSeries) + 1, ts: smp.TimestampMillis(), value: smp.Value()})
			}
		}
		// Key order, as WriteBatches writes them.
		slices.SortFunc(rows, func(x, y plainRow) int {
			if x.series != y.series {
				return cmp.Compare(x.series, y.series)
			}
			return cmp.Compare(x.ts, y.ts)
		})
		calls = append(calls, rows)
	}
	b.ResetTimer()
	start := time.Now()
	buf := make([]byte, 0, benchSamplesPerCall*48)
	args := make([]any, 0, benchSamplesPerCall*4)
	for _, rows := range calls {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		buf = append(buf[:0], "INSERT IGNORE INTO samples (series_id, ts, value, ingested_at) VALUES "...)
		args = args[:0]
		for i, r := range rows {
			if i > 0 {
				buf = append(buf, ',')
			}
			if mode == "literal" {
				buf = append(buf, '(')
				buf = strconv.AppendInt(buf, r.series, 10)
				buf = append(buf, ',')
				buf = strconv.AppendInt(buf, r.ts, 10)
				buf = append(buf, ',')
				buf = strconv.AppendFloat(buf, r.value, 'g', -1, 64)
				buf = append(buf, ',')
				buf = strconv.AppendInt(buf, benchBase, 10)
				buf = append(buf, ')')
			} else {
				buf = append(buf, "(?,?,?,?)"...)
				args = append(args, r.series, r.ts, r.value, benchBase)
			}
		}
		if _, err := tx.ExecContext(ctx, string(buf), args...); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "samples/s")
}
