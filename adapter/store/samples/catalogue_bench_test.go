package samples_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/tenant"
)

// The catalogue must stay fast with 100k series: catalogueBenchNames names
// x catalogueBenchHosts host values (one series each, tags host and dc),
// plus a second tenant of the same size that must not slow the first.
const (
	catalogueBenchNames = 20
	catalogueBenchHosts = 5000
)

func BenchmarkMetricNamesMariaDB(b *testing.B) { benchMetricNames(b, sqldbtest.MariaDB(b)) }

func BenchmarkMetricNamesSQLite(b *testing.B) { benchMetricNames(b, sqldbtest.SQLite(b)) }

func benchMetricNames(b *testing.B, tg sqldbtest.Target) {
	ctx := context.Background()
	var tenants []int64
	for _, slug := range []string{"bench-a", "bench-b"} {
		tn, err := tenant.New(slug, "", 0, time.UnixMilli(benchBase))
		if err != nil {
			b.Fatal(err)
		}
		created, err := tg.Store.CreateTenant(ctx, tn)
		if err != nil {
			b.Fatal(err)
		}
		tenants = append(tenants, created.ID)
	}
	catalogueBenchSeed(b, tg.DB, tenants)
	for _, c := range []struct {
		name, prefix string
		limit        int
		want         int
	}{
		{"empty prefix", "", 100, catalogueBenchNames},
		{"prefix of 10 names", "bench.metric.1", 100, 10},
		{"prefix of 1 name", "bench.metric.07", 100, 1},
		{"no match", "nothing", 100, 0},
		{"limit 5", "", 5, 5},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				got, _, err := tg.Store.MetricNames(ctx, tenants[0], c.prefix, c.limit, 10)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != c.want || (c.want > 0 && (len(got[0].Tags) != 2 || len(got[0].Tags[1].Values) != 10 || !got[0].Tags[1].MoreValues)) {
					b.Fatalf("MetricNames(%q) = %d names, want %d (first: %+v)", c.prefix, len(got), c.want, got[:min(1, len(got))])
				}
			}
		})
	}
}

// catalogueBenchSeed inserts the series and their catalogue rows directly,
// with multi-row INSERTs (WriteBatches would take minutes for 200k series).
func catalogueBenchSeed(b *testing.B, db *sql.DB, tenants []int64) {
	b.Helper()
	ctx := context.Background()
	exec := func(q string) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%.200s: %v", q, err)
		}
	}
	const rows = 2000
	var series, values strings.Builder
	flush := func() {
		if series.Len() > 0 {
			exec("INSERT INTO series (tenant_id, name, tags, hash, created_at) VALUES " + series.String())
			exec("INSERT INTO series_tags (tenant_id, name, tag_key, tag_value) VALUES " + values.String())
			series.Reset()
			values.Reset()
		}
	}
	n := 0
	for ti, tid := range tenants {
		for m := 0; m < catalogueBenchNames; m++ {
			name := fmt.Sprintf("bench.metric.%02d", m)
			exec(fmt.Sprintf("INSERT INTO series_names (tenant_id, name) VALUES (%d, '%s')", tid, name))
			exec(fmt.Sprintf("INSERT INTO series_tag_keys (tenant_id, name, tag_key) VALUES (%d, '%s', 'dc'), (%d, '%s', 'host')", tid, name, tid, name))
			exec(fmt.Sprintf("INSERT INTO series_tags (tenant_id, name, tag_key, tag_value) VALUES (%d, '%s', 'dc', 'eu')", tid, name))
			for h := 0; h < catalogueBenchHosts; h++ {
				if n%rows != 0 {
					series.WriteByte(',')
					values.WriteByte(',')
				}
				fmt.Fprintf(&series, `(%d, '%s', '{"dc":"eu","host":"host-%05d"}', X'%032x', 0)`, tid, name, h, (ti+1)<<40|m<<20|h)
				fmt.Fprintf(&values, `(%d, '%s', 'host', 'host-%05d')`, tid, name, h)
				n++
				if n%rows == 0 {
					flush()
				}
			}
		}
	}
	flush()
	for _, table := range []string{"series", "series_names", "series_tag_keys", "series_tags"} {
		q := "ANALYZE " + table // SQLite
		if strings.Contains(fmt.Sprintf("%T", db.Driver()), "mysql") {
			q = "ANALYZE TABLE " + table
		}
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		_ = rows.Close()
	}
	var got int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM series").Scan(&got); err != nil {
		b.Fatal(err)
	}
	if want := int64(len(tenants) * catalogueBenchNames * catalogueBenchHosts); got < want {
		b.Fatalf("%d series, want at least %d", got, want)
	}
}
