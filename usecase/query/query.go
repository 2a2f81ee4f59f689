// Package query answers chart queries for one tenant.
package query

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/domain/metric"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=query_test . Reader

// Reader reads points. The tenant is part of q and is always applied.
type Reader interface {
	ReadRaw(ctx context.Context, q metric.Query) (metric.Page, error)
}

// ErrInvalid is wrapped by errors about a malformed query (422).
var ErrInvalid = errors.New("invalid query")

// DefaultMaxPoints and HardMaxPoints bound a page.
const (
	DefaultMaxPoints = 1000
	HardMaxPoints    = 100000
)

// Service is the query use case.
type Service struct{ reader Reader }

// NewService returns the query use case.
func NewService(r Reader) *Service { return &Service{reader: r} }

// Run validates q and reads one page.
func (s *Service) Run(ctx context.Context, q metric.Query) (metric.Page, error) {
	if q.Name == "" {
		return metric.Page{}, fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if q.End <= q.Start {
		return metric.Page{}, fmt.Errorf("%w: end must be after start", ErrInvalid)
	}
	if q.MaxPoints == 0 {
		q.MaxPoints = DefaultMaxPoints
	}
	if q.MaxPoints < 1 || q.MaxPoints > HardMaxPoints {
		return metric.Page{}, fmt.Errorf("%w: max_points must be between 1 and %d", ErrInvalid, HardMaxPoints)
	}
	switch q.Interval {
	case "", "auto", "raw":
		q.Interval = "raw"
	default:
		return metric.Page{}, fmt.Errorf("%w: interval %q is not available yet (use raw or auto)", ErrInvalid, q.Interval)
	}
	page, err := s.reader.ReadRaw(ctx, q)
	if err != nil {
		return metric.Page{}, fmt.Errorf("read %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	page.Interval = q.Interval
	return page, nil
}
