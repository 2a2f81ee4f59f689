package live

import (
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
)

// MaxSubscriptions bounds the queries of one stream (the charts of a page).
const MaxSubscriptions = 64

// ErrInvalid is wrapped by errors about a malformed subscription (422).
var ErrInvalid = errors.New("invalid live subscription")

// Subscription is one chart's query: a metric name, exact tag matchers
// and the aggregate the chart shows. Live points are raw samples, so the
// aggregate is what a one-sample bucket gives (count is 1, the others the
// value): the points line up with the query API's answer at raw interval.
type Subscription struct {
	Name string
	Tags map[string]string
	Agg  rollup.Agg
}

// NewSubscription checks a query's parts.
func NewSubscription(name string, tags map[string]string, agg string) (Subscription, error) {
	if name == "" {
		return Subscription{}, fmt.Errorf("%w: name is required", ErrInvalid)
	}
	a, err := rollup.ParseAgg(agg)
	if err != nil {
		return Subscription{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Subscription{Name: name, Tags: tags, Agg: a}, nil
}

// matches reports whether s selects a sample of its name with tags.
func (s Subscription) matches(tags metric.Tags) bool {
	for k, want := range s.Tags {
		if got, ok := tagValue(tags, k); !ok || got != want {
			return false
		}
	}
	return true
}

func (s Subscription) value(v float64) float64 {
	return rollup.Aggregate{Count: 1, Sum: v, Min: v, Max: v}.Pick(s.Agg)
}

func tagValue(tags metric.Tags, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Point is one live point.
type Point struct {
	TS    int64 // Unix milliseconds
	Value float64
}

// Series is one series' new points, in time order, one per timestamp.
type Series struct {
	Tags   metric.Tags
	Points []Point
}

// Update is what one subscription got since the last Take.
type Update struct {
	Query  int // the subscription's index in the stream's list
	Series []Series
}

// Gap tells a client that points in [From, To] may be missing from what it
// was sent (its resume id is older than the replay buffer): it refetches
// the range through the query API.
type Gap struct {
	From, To int64 // Unix milliseconds
}
