package query

import (
	"fmt"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
)

// Validate checks q as Run does, without reading anything: a name, end
// after start, max_points within bounds, a known aggregate and an
// interval the deployment serves. Its errors wrap ErrInvalid. Other use
// cases that take a query to run later (exports) refuse what Run would.
func (s *Service) Validate(q metric.Query) error {
	_, _, _, err := s.normalise(q)
	return err
}

// normalise validates q and returns it with its defaults filled in (max
// points, aggregate), the aggregate, and the requested step (0 for raw and
// auto, decided later).
func (s *Service) normalise(q metric.Query) (metric.Query, rollup.Agg, int64, error) {
	if q.Name == "" {
		return q, "", 0, fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if q.End <= q.Start {
		return q, "", 0, fmt.Errorf("%w: end must be after start", ErrInvalid)
	}
	if q.MaxPoints == 0 {
		q.MaxPoints = DefaultMaxPoints
	}
	if q.MaxPoints < 1 || q.MaxPoints > HardMaxPoints {
		return q, "", 0, fmt.Errorf("%w: max_points must be between 1 and %d", ErrInvalid, HardMaxPoints)
	}
	agg, err := rollup.ParseAgg(q.Agg)
	if err != nil {
		return q, "", 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	q.Agg = string(agg)
	step, err := s.requested(q.Interval)
	if err != nil {
		return q, "", 0, err
	}
	return q, agg, step, nil
}
