package samples

import (
	"cmp"
	"context"
	"slices"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// SeriesTags lists the tag sets of the series ReadRaw and ReadRollupsAs
// read for q (its tenant, name and tag filters; not its time range), in
// no particular order but stable: an export's tag columns are known
// before its first row. A query without a tenant is
// sqldb.ErrTenantRequired.
func (s *Store) SeriesTags(ctx context.Context, q metric.Query) ([]metric.Tags, error) {
	if err := sqldb.RequireTenant("series tags", q.TenantID); err != nil {
		return nil, err
	}
	series, err := s.seriesNamed(ctx, q)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(series))
	for id := range series {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, cmp.Compare)
	out := make([]metric.Tags, len(ids))
	for i, id := range ids {
		out[i] = series[id]
	}
	return out, nil
}
