package notifications

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// part is one disjoint part of a table's rows that a fair read takes
// from: a condition with an index (condition columns, tenant_id, id), so
// that every read below stays in the index and stops at its LIMIT however
// large one tenant's backlog is.
type part struct {
	where string
	args  []any
}

// subqueriesPerStatement bounds the UNION ALL of one statement (SQLite's
// compound SELECT limit is 500).
const subqueriesPerStatement = 100

// fairIDs is up to limit ids of table's rows in parts, oldest (lowest id)
// first, taking at most perTenant of one tenant's. It reads the tenants
// by their oldest row (only the first limit of them can have a row in the
// answer), then each such tenant's oldest perTenant ids, and keeps the
// oldest limit of those.
func (s *Store) fairIDs(ctx context.Context, table string, parts []part, limit, perTenant int) ([]int64, error) {
	if limit <= 0 || perTenant <= 0 {
		return nil, nil
	}
	first := map[int64]int64{}
	for _, p := range parts {
		err := s.scanPairs(ctx, "SELECT tenant_id, MIN(id) FROM "+table+" WHERE "+p.where+" GROUP BY tenant_id ORDER BY MIN(id) LIMIT ?",
			slices.Concat(p.args, []any{limit}), func(tenant, id int64) {
				if f, ok := first[tenant]; !ok || id < f {
					first[tenant] = id
				}
			})
		if err != nil {
			return nil, fmt.Errorf("tenants: %w", err)
		}
	}
	tenants := make([]int64, 0, len(first))
	for t := range first {
		tenants = append(tenants, t)
	}
	slices.SortFunc(tenants, func(a, b int64) int { return cmp.Compare(first[a], first[b]) })
	tenants = tenants[:min(len(tenants), limit)]

	type sub struct {
		tenant int64
		p      part
	}
	var subs []sub
	for _, t := range tenants {
		for _, p := range parts {
			subs = append(subs, sub{t, p})
		}
	}
	byTenant := make(map[int64][]int64, len(tenants))
	for start := 0; start < len(subs); start += subqueriesPerStatement {
		var (
			q    strings.Builder
			args []any
		)
		for i, sb := range subs[start:min(start+subqueriesPerStatement, len(subs))] {
			if i > 0 {
				q.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&q, "SELECT tenant_id, id FROM (SELECT tenant_id, id FROM %s WHERE %s AND tenant_id = ? ORDER BY id LIMIT ?) p%d", table, sb.p.where, i)
			args = append(append(args, sb.p.args...), sb.tenant, perTenant)
		}
		if err := s.scanPairs(ctx, q.String(), args, func(tenant, id int64) { byTenant[tenant] = append(byTenant[tenant], id) }); err != nil {
			return nil, fmt.Errorf("ids: %w", err)
		}
	}
	var ids []int64
	for _, tids := range byTenant {
		slices.Sort(tids) // several parts' ids interleave
		ids = append(ids, tids[:min(len(tids), perTenant)]...)
	}
	slices.Sort(ids)
	return ids[:min(len(ids), limit)], nil
}

// scanPairs runs a query of two integer columns on the read pool.
func (s *Store) scanPairs(ctx context.Context, q string, args []any, each func(a, b int64)) error {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			return err
		}
		each(a, b)
	}
	return rows.Err()
}
