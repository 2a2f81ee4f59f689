// Package catalogue answers what metrics a tenant has: its metric names,
// each with its tag keys and a few values per key, for the dashboard's
// metric and tag selector (GET /api/metrics/names).
package catalogue

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=catalogue_test . Lister

// Lister reads a tenant's catalogue (adapter/store/samples): the names
// starting with prefix (a plain prefix, no wildcards), sorted, at most
// limit, each with its sorted tag keys and their first valuesPerKey values;
// more tells that further names match. The tenant is always applied.
type Lister interface {
	MetricNames(ctx context.Context, tenantID int64, prefix string, limit, valuesPerKey int) ([]metric.NameInfo, bool, error)
}

// ErrInvalid is wrapped by errors about a malformed request (422).
var ErrInvalid = errors.New("invalid names request")

// Bounds of a request.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// MaxPrefixBytes is the longest prefix: a metric name's own limit.
	MaxPrefixBytes = 200
	// ValuesPerKey is how many values of each tag key are listed.
	ValuesPerKey = 10
)

// Page is one answer: names in order, and whether more match.
type Page struct {
	Names []metric.NameInfo
	More  bool
}

// Service is the catalogue use case.
type Service struct{ lister Lister }

// NewService returns the catalogue use case.
func NewService(l Lister) *Service { return &Service{lister: l} }

// Names lists the tenant's metric names starting with prefix ("" for all),
// limit at most (0: DefaultLimit). A limit outside 0..MaxLimit, or a prefix
// longer than MaxPrefixBytes or not valid UTF-8, is ErrInvalid.
func (s *Service) Names(ctx context.Context, tenantID int64, prefix string, limit int) (Page, error) {
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, fmt.Errorf("%w: limit must be between 1 and %d", ErrInvalid, MaxLimit)
	}
	if len(prefix) > MaxPrefixBytes {
		return Page{}, fmt.Errorf("%w: prefix is longer than %d bytes", ErrInvalid, MaxPrefixBytes)
	}
	if !utf8.ValidString(prefix) {
		return Page{}, fmt.Errorf("%w: prefix is not valid UTF-8", ErrInvalid)
	}
	names, more, err := s.lister.MetricNames(ctx, tenantID, prefix, limit, ValuesPerKey)
	if err != nil {
		return Page{}, fmt.Errorf("metric names tenant=%d: %w", tenantID, outage.Unavailable("database", err))
	}
	if names == nil {
		names = []metric.NameInfo{}
	}
	return Page{Names: names, More: more}, nil
}
