package samplestest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// RunCatalogue runs the contract cases of the metric catalogue
// (MetricNames); open is as for Run.
func RunCatalogue(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"NamesKeysValuesAfterWrite", testCatalogueAfterWrite},
		{"SeriesWithoutTagsIsListed", testCatalogueNoTags},
		{"Prefix", testCataloguePrefix},
		{"WildcardsAreLiteral", testCatalogueWildcards},
		{"ValuesPerKeyCapped", testCatalogueValuesCapped},
		{"LimitAndMore", testCatalogueLimit},
		{"TenantIsolation", testCatalogueIsolation},
		{"TenantRequired", testCatalogueTenantRequired},
		{"LongTagValueDoesNotFailTheWrite", testCatalogueLongValue},
		{"TrailingSpacesAreDistinct", testCatalogueSpaces},
		{"BackfillFromExistingSeries", testCatalogueBackfill},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, open(t))
		})
	}
}

// tagged writes one sample of name per tag set (nil: no tags).
func tagged(t *testing.T, s *sqldbtest.Stores, tenantID int64, name string, sets ...map[string]string) {
	t.Helper()
	var samples []metric.Sample
	for i, tags := range sets {
		samples = append(samples, sample(name, float64(i), tags, sqldbtest.Base.UnixMilli(), ""))
	}
	write(t, s, batch(tenantID, samples...))
}

func names(t *testing.T, s *sqldbtest.Stores, tenantID int64, prefix string, limit, perKey int) ([]metric.NameInfo, bool) {
	t.Helper()
	got, more, err := s.MetricNames(sqldbtest.Ctx(t), tenantID, prefix, limit, perKey)
	if err != nil {
		t.Fatalf("MetricNames(%d, %q, %d, %d): %v", tenantID, prefix, limit, perKey, err)
	}
	if got == nil {
		t.Fatalf("MetricNames(%d, %q): nil slice, want an empty one", tenantID, prefix)
	}
	return got, more
}

func onlyNames(infos []metric.NameInfo) []string {
	out := []string{}
	for _, n := range infos {
		out = append(out, n.Name)
	}
	return out
}

func wantNames(t *testing.T, s *sqldbtest.Stores, tenantID int64, prefix string, want ...string) {
	t.Helper()
	got, more := names(t, s, tenantID, prefix, 100, 5)
	if want == nil {
		want = []string{}
	}
	if !reflect.DeepEqual(onlyNames(got), want) || more {
		t.Errorf("prefix %q: names %q more=%v, want %q more=false", prefix, onlyNames(got), more, want)
	}
}

func testCatalogueAfterWrite(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	if got, more := names(t, s, tid, "", 100, 5); len(got) != 0 || more {
		t.Fatalf("empty tenant: %+v more=%v", got, more)
	}
	tagged(t, s, tid, "cpu.load", map[string]string{"host": "b", "dc": "eu"}, map[string]string{"host": "a", "dc": "eu"})
	tagged(t, s, tid, "disk.used", map[string]string{"host": "a", "mount": "/"})
	// A second write of known and new series adds only what is new.
	tagged(t, s, tid, "cpu.load", map[string]string{"host": "a", "dc": "eu"}, map[string]string{"host": "c", "dc": "us"})
	got, more := names(t, s, tid, "", 100, 5)
	want := []metric.NameInfo{
		{Name: "cpu.load", Tags: []metric.TagKeyInfo{
			{Key: "dc", Values: []string{"eu", "us"}},
			{Key: "host", Values: []string{"a", "b", "c"}},
		}},
		{Name: "disk.used", Tags: []metric.TagKeyInfo{
			{Key: "host", Values: []string{"a"}},
			{Key: "mount", Values: []string{"/"}},
		}},
	}
	if more || !reflect.DeepEqual(got, want) {
		t.Fatalf("MetricNames =\n%+v more=%v\nwant\n%+v", got, more, want)
	}
	for _, table := range []string{"series_names", "series_tag_keys", "series_tags"} {
		if n := sqldbtest.Count(t, tg.DB, table+" WHERE tenant_id <= 0"); n != 0 {
			t.Errorf("%s has %d rows without a tenant", table, n)
		}
	}
}

func testCatalogueNoTags(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	tagged(t, s, tid, "uptime", nil)
	tagged(t, s, tid, "mixed", nil, map[string]string{"host": "a"})
	got, _ := names(t, s, tid, "", 100, 5)
	want := []metric.NameInfo{
		{Name: "mixed", Tags: []metric.TagKeyInfo{{Key: "host", Values: []string{"a"}}}},
		{Name: "uptime", Tags: []metric.TagKeyInfo{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MetricNames =\n%+v\nwant\n%+v", got, want)
	}
}

func testCataloguePrefix(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	for _, n := range []string{"cpu.load", "cpu.idle", "cpux", "cpu", "CPU.big", "mem.free", "cpu.load.1m", "cpv"} {
		tagged(t, s, tid, n, map[string]string{"host": "a"})
	}
	wantNames(t, s, tid, "", "CPU.big", "cpu", "cpu.idle", "cpu.load", "cpu.load.1m", "cpux", "cpv", "mem.free")
	wantNames(t, s, tid, "cpu", "cpu", "cpu.idle", "cpu.load", "cpu.load.1m", "cpux")
	wantNames(t, s, tid, "cpu.", "cpu.idle", "cpu.load", "cpu.load.1m")
	wantNames(t, s, tid, "cpu.load", "cpu.load", "cpu.load.1m")
	wantNames(t, s, tid, "CPU", "CPU.big") // case-sensitive
	wantNames(t, s, tid, "Cpu")
	wantNames(t, s, tid, "cpu.load.1m.x")
	wantNames(t, s, tid, "cpu ") // no padding: "cpu" does not start with "cpu "
	wantNames(t, s, tid, "zzz")
	wantNames(t, s, tid, "\U0010FFFF")  // no successor: open range
	wantNames(t, s, tid, "c\U0010FFFF") // successor "d"
	wantNames(t, s, tid, "é")
	// The page of a prefix lists the keys of its own names only.
	got, _ := names(t, s, tid, "cpu.l", 100, 5)
	for _, n := range got {
		if len(n.Tags) != 1 || n.Tags[0].Key != "host" {
			t.Errorf("%s: tags %+v", n.Name, n.Tags)
		}
	}
}

// The store does not validate names (the domain does): these names could
// not be ingested, which makes them good probes of the LIKE escaping.
func testCatalogueWildcards(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	for _, n := range []string{"a_b", "axb", "a%b", "ayyb", "a!b", "a!!b", "ab", `a\b`, `a\\b`, "a'b", `a"b`} {
		tagged(t, s, tid, n, nil)
	}
	wantNames(t, s, tid, "a_", "a_b")
	wantNames(t, s, tid, "a%", "a%b")
	wantNames(t, s, tid, "%")
	wantNames(t, s, tid, "_")
	wantNames(t, s, tid, "a!", "a!!b", "a!b")
	wantNames(t, s, tid, "a!!", "a!!b")
	wantNames(t, s, tid, `a\`, `a\\b`, `a\b`)
	wantNames(t, s, tid, `a\\`, `a\\b`)
	wantNames(t, s, tid, "a'", "a'b")
	wantNames(t, s, tid, `a"`, `a"b`)
	wantNames(t, s, tid, "a_b", "a_b")
}

func testCatalogueValuesCapped(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	var sets []map[string]string
	for i := 6; i >= 0; i-- {
		sets = append(sets, map[string]string{"host": fmt.Sprintf("h%d", i), "dc": "eu"})
	}
	tagged(t, s, tid, "cpu", sets...)
	for _, tc := range []struct {
		perKey int
		values []string
		more   bool
	}{
		{0, []string{}, true},
		{1, []string{"h0"}, true},
		{3, []string{"h0", "h1", "h2"}, true},
		{6, []string{"h0", "h1", "h2", "h3", "h4", "h5"}, true},
		{7, []string{"h0", "h1", "h2", "h3", "h4", "h5", "h6"}, false},
		{100, []string{"h0", "h1", "h2", "h3", "h4", "h5", "h6"}, false},
	} {
		got, _ := names(t, s, tid, "", 10, tc.perKey)
		if len(got) != 1 || len(got[0].Tags) != 2 {
			t.Fatalf("valuesPerKey %d: %+v", tc.perKey, got)
		}
		dc, host := got[0].Tags[0], got[0].Tags[1]
		wantDC := metric.TagKeyInfo{Key: "dc", Values: []string{"eu"}}
		if tc.perKey == 0 {
			wantDC = metric.TagKeyInfo{Key: "dc", Values: []string{}, MoreValues: true}
		}
		if !reflect.DeepEqual(dc, wantDC) {
			t.Errorf("valuesPerKey %d: dc %+v, want %+v", tc.perKey, dc, wantDC)
		}
		if want := (metric.TagKeyInfo{Key: "host", Values: tc.values, MoreValues: tc.more}); !reflect.DeepEqual(host, want) {
			t.Errorf("valuesPerKey %d: host %+v, want %+v", tc.perKey, host, want)
		}
	}
}

func testCatalogueLimit(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	for i := 0; i < 5; i++ {
		tagged(t, s, tid, fmt.Sprintf("m%d", i), map[string]string{"k": fmt.Sprint(i)})
	}
	for _, tc := range []struct {
		limit int
		want  []string
		more  bool
	}{
		{1, []string{"m0"}, true},
		{2, []string{"m0", "m1"}, true},
		{4, []string{"m0", "m1", "m2", "m3"}, true},
		{5, []string{"m0", "m1", "m2", "m3", "m4"}, false},
		{6, []string{"m0", "m1", "m2", "m3", "m4"}, false},
		{0, []string{"m0", "m1", "m2", "m3", "m4"}, false}, // the default
	} {
		got, more := names(t, s, tid, "m", tc.limit, 5)
		if !reflect.DeepEqual(onlyNames(got), tc.want) || more != tc.more {
			t.Errorf("limit %d: %q more=%v, want %q more=%v", tc.limit, onlyNames(got), more, tc.want, tc.more)
		}
		for _, n := range got {
			if len(n.Tags) != 1 || len(n.Tags[0].Values) != 1 || "m"+n.Tags[0].Values[0] != n.Name {
				t.Errorf("limit %d: %s has tags %+v", tc.limit, n.Name, n.Tags)
			}
		}
	}
}

func testCatalogueIsolation(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := sqldbtest.MkTenant(t, s, "acme")
	b := sqldbtest.MkTenant(t, s, "globex")
	tagged(t, s, a, "shared", map[string]string{"host": "a-secret", "a-key": "x"})
	tagged(t, s, a, "only.a", map[string]string{"host": "a"})
	tagged(t, s, b, "shared", map[string]string{"host": "b-host"})
	got, more := names(t, s, b, "", 100, 10)
	want := []metric.NameInfo{{Name: "shared", Tags: []metric.TagKeyInfo{{Key: "host", Values: []string{"b-host"}}}}}
	if more || !reflect.DeepEqual(got, want) {
		t.Fatalf("tenant B sees\n%+v more=%v\nwant\n%+v", got, more, want)
	}
	for _, prefix := range []string{"only", "o", "shared"} {
		got, _ := names(t, s, b, prefix, 100, 10)
		if text := fmt.Sprintf("%+v", got); strings.Contains(text, "only.a") || strings.Contains(text, "a-secret") || strings.Contains(text, "a-key") {
			t.Errorf("tenant B, prefix %q: %s", prefix, text)
		}
	}
	c := sqldbtest.MkTenant(t, s, "initech")
	if got, more := names(t, s, c, "", 100, 10); len(got) != 0 || more {
		t.Errorf("a tenant without series sees %+v more=%v", got, more)
	}
	wantNames(t, s, a, "", "only.a", "shared")
}

func testCatalogueTenantRequired(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	tagged(t, s, tid, "cpu", map[string]string{"host": "a"})
	for _, id := range []int64{0, -1} {
		got, more, err := s.MetricNames(sqldbtest.Ctx(t), id, "", 100, 5)
		if !errors.Is(err, sqldb.ErrTenantRequired) || got != nil || more {
			t.Errorf("tenant %d: %+v %v %v, want sqldb.ErrTenantRequired", id, got, more, err)
		}
	}
}

func testCatalogueLongValue(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	long := strings.Repeat("v", 300)
	longKey := "k" + strings.Repeat("e", 80)
	tagged(t, s, tid, "big", map[string]string{"host": long, longKey: "x"}, map[string]string{"host": "short"})
	got, _ := names(t, s, tid, "", 100, 5)
	want := []metric.NameInfo{{Name: "big", Tags: []metric.TagKeyInfo{{Key: "host", Values: []string{"short"}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MetricNames =\n%+v\nwant\n%+v", got, want)
	}
	if n := sqldbtest.Count(t, tg.DB, "series WHERE name = 'big'"); n != 2 {
		t.Errorf("%d series stored, want 2", n)
	}
}

// testCatalogueBackfill makes the catalogue forget, as if the series had
// been written before migration 00007, and migrates again.
func testCatalogueBackfill(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := sqldbtest.MkTenant(t, s, "acme")
	b := sqldbtest.MkTenant(t, s, "globex")
	tagged(t, s, a, "cpu.load", map[string]string{"host": "a", "dc": "eu"}, map[string]string{"host": "b", "dc": "eu"}, nil)
	tagged(t, s, a, "quote", map[string]string{"say": `he said "hi" \ é`, "empty": ""})
	tagged(t, s, b, "cpu.load", map[string]string{"host": "z"})
	before := map[int64][]metric.NameInfo{}
	for _, id := range []int64{a, b} {
		before[id], _ = names(t, s, id, "", 100, 10)
	}
	// Down to 00006 (00007's Down drops the catalogue), then up again.
	if err := s.MigrateDown(sqldbtest.Ctx(t), 6); err != nil {
		t.Fatalf("migrate down: %v", err)
	}
	if err := s.Migrate(sqldbtest.Ctx(t)); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	for _, id := range []int64{a, b} {
		after, _ := names(t, s, id, "", 100, 10)
		if !reflect.DeepEqual(after, before[id]) {
			t.Errorf("tenant %d after the backfill:\n%+v\nbefore:\n%+v", id, after, before[id])
		}
	}
	wantA := []metric.NameInfo{
		{Name: "cpu.load", Tags: []metric.TagKeyInfo{{Key: "dc", Values: []string{"eu"}}, {Key: "host", Values: []string{"a", "b"}}}},
		{Name: "quote", Tags: []metric.TagKeyInfo{{Key: "empty", Values: []string{""}}, {Key: "say", Values: []string{`he said "hi" \ é`}}}},
	}
	if !reflect.DeepEqual(before[a], wantA) {
		t.Errorf("tenant A:\n%+v\nwant\n%+v", before[a], wantA)
	}
}

func testCatalogueSpaces(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	tagged(t, s, tid, "m", map[string]string{"k": "a"}, map[string]string{"k": "a "}, map[string]string{"k": "a  "}, map[string]string{"k": ""})
	got, _ := names(t, s, tid, "", 100, 10)
	want := []metric.NameInfo{{Name: "m", Tags: []metric.TagKeyInfo{{Key: "k", Values: []string{"", "a", "a ", "a  "}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MetricNames =\n%+v\nwant\n%+v", got, want)
	}
}
