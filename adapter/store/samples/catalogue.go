package samples

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// The metric catalogue (migrations 00007): series_names, series_tag_keys and
// series_tags hold every name, tag key and tag value a tenant's series
// carry. They are written with the series (insertCatalogue, in the
// transaction of insertSeries) and read by MetricNames, each query one
// range of a primary key, so the cost follows the size of the answer and
// not the number of series.

// Longest tag key and value the catalogue keeps (its column sizes; the
// default limits of metric.DefaultLimits). A longer one, possible only with
// raised limits, is left out of the catalogue rather than failing the write.
const (
	catalogueMaxKeyBytes   = 64
	catalogueMaxValueBytes = 256
)

// catalogueRows bounds the rows of one catalogue INSERT (4 placeholders each).
const catalogueRows = 1000

// catalogueValueQueries bounds the per-key subqueries of one values
// statement (SQLite allows 500 terms in a compound SELECT).
const catalogueValueQueries = 200

// defaultCatalogueLimit is the page size when MetricNames gets none.
const defaultCatalogueLimit = 100

type catName struct {
	tenant int64
	name   string
}

type catKey struct {
	tenant    int64
	name, key string
}

type catValue struct {
	tenant           int64
	name, key, value string
}

// insertCatalogue records the names, tag keys and tag values of chunk
// (INSERT IGNORE: most already exist) in tx, in key order so concurrent
// writers lock in the same order.
func (s *Store) insertCatalogue(ctx context.Context, tx *sql.Tx, chunk []newSeries) error {
	names := map[catName]bool{}
	keys := map[catKey]bool{}
	values := map[catValue]bool{}
	for _, ns := range chunk {
		names[catName{ns.key.tenant, ns.name}] = true
		for _, t := range ns.tags {
			if t.Key == "" || len(t.Key) > catalogueMaxKeyBytes {
				continue
			}
			keys[catKey{ns.key.tenant, ns.name, t.Key}] = true
			if len(t.Value) <= catalogueMaxValueBytes {
				values[catValue{ns.key.tenant, ns.name, t.Key, t.Value}] = true
			}
		}
	}
	nameRows := make([][]any, 0, len(names))
	for n := range names {
		nameRows = append(nameRows, []any{n.tenant, n.name})
	}
	keyRows := make([][]any, 0, len(keys))
	for k := range keys {
		keyRows = append(keyRows, []any{k.tenant, k.name, k.key})
	}
	valueRows := make([][]any, 0, len(values))
	for v := range values {
		valueRows = append(valueRows, []any{v.tenant, v.name, v.key, v.value})
	}
	if err := s.insertIgnoreRows(ctx, tx, "series_names", []string{"tenant_id", "name"}, nameRows); err != nil {
		return err
	}
	if err := s.insertIgnoreRows(ctx, tx, "series_tag_keys", []string{"tenant_id", "name", "tag_key"}, keyRows); err != nil {
		return err
	}
	return s.insertIgnoreRows(ctx, tx, "series_tags", []string{"tenant_id", "name", "tag_key", "tag_value"}, valueRows)
}

// insertIgnoreRows sorts rows (int64 first column, then strings) and
// inserts them with INSERT IGNORE, catalogueRows at a time.
func (s *Store) insertIgnoreRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	slices.SortFunc(rows, func(a, b []any) int {
		if c := cmpInt(a[0].(int64), b[0].(int64)); c != 0 {
			return c
		}
		for i := 1; i < len(a); i++ {
			if c := strings.Compare(a[i].(string), b[i].(string)); c != 0 {
				return c
			}
		}
		return 0
	})
	for start := 0; start < len(rows); start += catalogueRows {
		b := s.db.SB.Insert(table).Options(s.db.Dialect.InsertIgnore).Columns(cols...)
		for _, r := range rows[start:min(start+catalogueRows, len(rows))] {
			b = b.Values(r...)
		}
		if _, err := b.RunWith(tx).ExecContext(ctx); err != nil {
			return fmt.Errorf("insert %s: %w", table, err)
		}
	}
	return nil
}

// MetricNames lists the tenant's metric names that start with prefix (a
// plain prefix: no character is a wildcard), sorted, at most limit of them
// (limit <= 0: 100), each with its tag keys (sorted) and the first
// valuesPerKey values of each key (sorted; MoreValues tells that there are
// more). more is true when further names match. Every query is one range
// of a catalogue table's primary key, so the cost follows the size of the
// answer, not the number of series. A call without a tenant is
// sqldb.ErrTenantRequired.
func (s *Store) MetricNames(ctx context.Context, tenantID int64, prefix string, limit, valuesPerKey int) ([]metric.NameInfo, bool, error) {
	if err := sqldb.RequireTenant("metric names", tenantID); err != nil {
		return nil, false, err
	}
	if limit <= 0 {
		limit = defaultCatalogueLimit
	}
	valuesPerKey = max(valuesPerKey, 0)
	if !utf8.ValidString(prefix) {
		return []metric.NameInfo{}, false, nil // no name is invalid UTF-8
	}
	names, err := s.catalogueNames(ctx, tenantID, prefix, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(names) > limit
	if more {
		names = names[:limit]
	}
	out := make([]metric.NameInfo, len(names))
	if len(names) == 0 {
		return out, false, nil
	}
	index := make(map[string]int, len(names))
	for i, n := range names {
		out[i] = metric.NameInfo{Name: n, Tags: []metric.TagKeyInfo{}}
		index[n] = i
	}
	if err := s.catalogueKeys(ctx, tenantID, names, index, out); err != nil {
		return nil, false, err
	}
	if err := s.catalogueValues(ctx, tenantID, valuesPerKey, out); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// catalogueNames reads up to n names of the tenant starting with prefix.
// The range [prefix, successor) selects them on the index; the LIKE (with
// its wildcards escaped) states the match exactly, whatever the collation's
// padding rules.
func (s *Store) catalogueNames(ctx context.Context, tenantID int64, prefix string, n int) ([]string, error) {
	b := s.db.SB.Select("name").From("series_names").Where(sq.Eq{"tenant_id": tenantID})
	if prefix != "" {
		b = b.Where(sq.GtOrEq{"name": prefix})
		if hi, ok := prefixSuccessor(prefix); ok {
			b = b.Where(sq.Lt{"name": hi})
		}
		b = b.Where("name LIKE ? ESCAPE '!'", likePrefix(prefix))
	}
	rows, err := b.OrderBy("name").Limit(uint64(n)).RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("metric names tenant=%d: %w", tenantID, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("metric names tenant=%d: %w", tenantID, err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metric names tenant=%d: %w", tenantID, err)
	}
	return names, nil
}

// catalogueKeys fills the keys of the page's names, read as one range:
// the page is every matching name from its first to its last.
func (s *Store) catalogueKeys(ctx context.Context, tenantID int64, names []string, index map[string]int, out []metric.NameInfo) error {
	rows, err := s.db.SB.Select("name", "tag_key").From("series_tag_keys").
		Where(sq.Eq{"tenant_id": tenantID}).
		Where(sq.GtOrEq{"name": names[0]}).Where(sq.LtOrEq{"name": names[len(names)-1]}).
		OrderBy("name", "tag_key").RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return fmt.Errorf("metric tag keys tenant=%d: %w", tenantID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, key string
		if err := rows.Scan(&name, &key); err != nil {
			return fmt.Errorf("metric tag keys tenant=%d: %w", tenantID, err)
		}
		if i, ok := index[name]; ok { // the range holds the page's names only; kept safe
			out[i].Tags = append(out[i].Tags, metric.TagKeyInfo{Key: key, Values: []string{}})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("metric tag keys tenant=%d: %w", tenantID, err)
	}
	return nil
}

// catalogueValues fills the first valuesPerKey values of every key of out
// (reading one more to tell whether there are more): one LIMITed range per
// key, catalogueValueQueries of them per statement (UNION ALL).
func (s *Store) catalogueValues(ctx context.Context, tenantID int64, valuesPerKey int, out []metric.NameInfo) error {
	type pair struct{ name, key int }
	var pairs []pair
	for i := range out {
		for j := range out[i].Tags {
			pairs = append(pairs, pair{i, j})
		}
	}
	limit := strconv.Itoa(valuesPerKey + 1)
	for start := 0; start < len(pairs); start += catalogueValueQueries {
		chunk := pairs[start:min(start+catalogueValueQueries, len(pairs))]
		var q strings.Builder
		args := make([]any, 0, 4*len(chunk))
		for n, p := range chunk {
			if n > 0 {
				q.WriteString(" UNION ALL ")
			}
			one := "SELECT ? AS p, tag_value FROM series_tags WHERE tenant_id = ? AND name = ? AND tag_key = ? ORDER BY tag_value LIMIT " + limit
			if s.db.Dialect.Name == "mysql" {
				q.WriteString("(" + one + ")") // a derived table would be materialized
			} else {
				fmt.Fprintf(&q, "SELECT * FROM (%s) v%d", one, n) // SQLite has no parenthesized terms
			}
			args = append(args, start+n, tenantID, out[p.name].Name, out[p.name].Tags[p.key].Key)
		}
		if err := s.readValues(ctx, q.String(), args, func(n int, v string) {
			if n >= start && n < start+len(chunk) {
				p := pairs[n]
				tk := &out[p.name].Tags[p.key]
				tk.Values = append(tk.Values, v)
			}
		}); err != nil {
			return fmt.Errorf("metric tag values tenant=%d: %w", tenantID, err)
		}
	}
	// A UNION ALL keeps no order: sort each key's values, then cap them.
	for i := range out {
		for j := range out[i].Tags {
			tk := &out[i].Tags[j]
			slices.Sort(tk.Values)
			if len(tk.Values) > valuesPerKey {
				tk.Values, tk.MoreValues = tk.Values[:valuesPerKey], true
			}
		}
	}
	return nil
}

func (s *Store) readValues(ctx context.Context, query string, args []any, each func(pair int, value string)) error {
	rows, err := s.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		var v string
		if err := rows.Scan(&n, &v); err != nil {
			return err
		}
		each(n, v)
	}
	return rows.Err()
}

// likePrefix is the LIKE pattern (escape character '!') of the names that
// start with prefix: its own % _ and ! are matched literally.
func likePrefix(prefix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + 8)
	for _, r := range prefix {
		if r == '%' || r == '_' || r == '!' {
			b.WriteByte('!')
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String()
}

// prefixSuccessor is the least string greater than every string that
// starts with prefix, in code point order (the order of SQLite's BINARY
// and MariaDB's utf8mb4_bin collations): the prefix with its last code
// point that can be incremented incremented, and what follows it dropped.
// ok is false when there is none (every code point is the highest).
func prefixSuccessor(prefix string) (string, bool) {
	rs := []rune(prefix)
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i] + 1
		if r >= 0xD800 && r <= 0xDFFF { // surrogates are not characters
			r = 0xE000
		}
		if r <= utf8.MaxRune {
			rs[i] = r
			return string(rs[:i+1]), true
		}
	}
	return "", false
}
