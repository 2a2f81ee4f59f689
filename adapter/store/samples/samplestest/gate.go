package samplestest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// RunGate runs the contract cases of the series gate (ingest.SeriesGate);
// open is as for Run.
func RunGate(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"CapRefusesNewSeries", testGateCap},
		{"KnownSeriesCostNothing", testGateKnown},
		{"SeriesFromTheDatabasePass", testGateStored},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, open(t))
		})
	}
}

// hosts returns one sample of series m{host=h<i>} per i.
func hosts(ids ...int) []metric.Sample {
	out := make([]metric.Sample, len(ids))
	for j, i := range ids {
		out[j] = sample("m", float64(j), map[string]string{"host": fmt.Sprint("h", i)}, sqldbtest.Base.UnixMilli()+int64(j), "")
	}
	return out
}

func admit(t *testing.T, s *sqldbtest.Stores, tenantID int64, samples []metric.Sample, max int, want []int) {
	t.Helper()
	refused, err := s.Admit(sqldbtest.Ctx(t), tenantID, samples, max)
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	if !slices.Equal(refused, want) {
		t.Fatalf("refused = %v, want %v", refused, want)
	}
}

func seriesOf(t *testing.T, tg sqldbtest.Target, tenantID int64) int64 {
	t.Helper()
	return sqldbtest.Count(t, tg.DB, fmt.Sprintf("series WHERE tenant_id = %d", tenantID))
}

func testGateCap(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "acme"), sqldbtest.MkTenant(t, s, "globex")
	// Series are admitted in sample order; every sample of a refused series is reported.
	admit(t, s, a, hosts(1, 2, 1, 3, 4, 5, 4), 3, []int{4, 5, 6})
	if n := seriesOf(t, tg, a); n != 3 {
		t.Fatalf("series of a = %d, want 3 (created on admission)", n)
	}
	// At the cap: existing series still pass, new ones are refused.
	admit(t, s, a, hosts(6, 1, 2, 3, 7), 3, []int{0, 4})
	// A raised cap admits again.
	admit(t, s, a, hosts(6, 1), 4, nil)
	if n := seriesOf(t, tg, a); n != 4 {
		t.Fatalf("series of a = %d, want 4", n)
	}
	// Another tenant has its own count.
	admit(t, s, b, hosts(1, 2, 3), 3, nil)
	admit(t, s, b, hosts(4), 3, []int{0})
	if n := seriesOf(t, tg, b); n != 3 {
		t.Fatalf("series of b = %d, want 3", n)
	}
	// The workers find the admitted series: writing creates none.
	write(t, s, batch(a, hosts(1, 2, 3, 6)...))
	if n := seriesOf(t, tg, a); n != 4 {
		t.Fatalf("series of a after write = %d, want 4", n)
	}
}

func testGateKnown(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := sqldbtest.MkTenant(t, s, "acme")
	admit(t, s, a, hosts(1, 2), 2, nil)
	for range 3 {
		admit(t, s, a, hosts(2, 1, 2), 2, nil)
	}
	if n := seriesOf(t, tg, a); n != 2 {
		t.Fatalf("series = %d, want 2", n)
	}
	// Known series need no database: they still pass with it closed.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	admit(t, s, a, hosts(1, 2), 2, nil)
}

func testGateStored(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := sqldbtest.MkTenant(t, s, "acme")
	// Series another replica created (not in this store's cache) count and pass.
	for _, smp := range hosts(1, 2) {
		h := smp.Series()
		tags := fmt.Sprintf(`{"host":%q}`, smp.Tags()[0].Value)
		if _, err := tg.DB.ExecContext(sqldbtest.Ctx(t), "INSERT INTO series (tenant_id, name, tags, hash, created_at) VALUES (?, ?, ?, ?, ?)",
			a, smp.Name(), tags, h[:], sqldbtest.Base.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	admit(t, s, a, hosts(2, 3, 1, 4), 3, []int{3})
	if n := seriesOf(t, tg, a); n != 3 {
		t.Fatalf("series = %d, want 3", n)
	}
}
