// Package metric holds the sample, its validation rules and the series identity.
// It does no I/O and never reads the clock: callers pass "now" in.
package metric

import (
	"math"
	"sort"
	"time"
)

// Tag is one key/value label of a sample.
type Tag struct {
	Key   string
	Value string
}

// Tags is a label set sorted by key; two equal sets have equal slices.
type Tags []Tag

// Sample is one validated measurement. Its fields are unexported so that only
// New (validating) and Rehydrate (rows read back) can make one.
type Sample struct {
	name     string
	value    float64
	tags     Tags
	ts       int64 // Unix milliseconds
	dedupeID string
	series   SeriesHash // computed once: the gate, the queue and the store all need it
}

// Input is what a door (HTTP, MQTT) decoded from a client, before validation.
// HasTS false means "not given": the sample takes the server's clock.
type Input struct {
	Name     string
	Value    float64
	HasValue bool
	Tags     map[string]string
	TS       time.Time
	HasTS    bool
	DedupeID string
}

// New validates in against lim at time now and returns the sample, or every
// problem found (never just the first) as field errors.
func New(in Input, lim Limits, now time.Time) (Sample, []FieldError) {
	var errs []FieldError
	if msg := lim.checkName(in.Name); msg != "" {
		errs = append(errs, FieldError{Field: "name", Message: msg})
	}
	switch {
	case !in.HasValue:
		errs = append(errs, FieldError{Field: "value", Message: "value is required and must be a number"})
	case math.IsNaN(in.Value) || math.IsInf(in.Value, 0):
		errs = append(errs, FieldError{Field: "value", Message: "value must be a finite number"})
	}
	tags, tagErrs := lim.checkTags(in.Tags)
	errs = append(errs, tagErrs...)
	ts := now
	if in.HasTS {
		ts = in.TS
		if msg := lim.checkTime(ts, now); msg != "" {
			errs = append(errs, FieldError{Field: "ts", Message: msg})
		}
	}
	if len(in.DedupeID) > lim.MaxDedupeIDBytes {
		errs = append(errs, FieldError{Field: "dedupe_id", Message: limitMsg("dedupe_id", lim.MaxDedupeIDBytes, "bytes")})
	}
	errs = append(errs, checkUTF8("dedupe_id", in.DedupeID)...)
	if len(errs) > 0 {
		return Sample{}, errs
	}
	return Sample{name: in.Name, value: in.Value, tags: tags, ts: ts.UnixMilli(), dedupeID: in.DedupeID, series: HashSeries(in.Name, tags)}, nil
}

// Rehydrate rebuilds a sample that was validated before (read from a queue or
// a store). tags must be sorted by key, as Tags always are: the series
// identity (HashSeries) depends on that order.
func Rehydrate(name string, value float64, tags Tags, tsMillis int64, dedupeID string) Sample {
	return Sample{name: name, value: value, tags: tags, ts: tsMillis, dedupeID: dedupeID, series: HashSeries(name, tags)}
}

// Name is the metric name.
func (s Sample) Name() string { return s.name }

// Value is the measured value, always finite.
func (s Sample) Value() float64 { return s.value }

// Tags is the sorted label set; callers must not modify it.
func (s Sample) Tags() Tags { return s.tags }

// TimestampMillis is the sample time in Unix milliseconds.
func (s Sample) TimestampMillis() int64 { return s.ts }

// Time is the sample time.
func (s Sample) Time() time.Time { return time.UnixMilli(s.ts).UTC() }

// DedupeID is the client's optional idempotency id ("" when absent).
func (s Sample) DedupeID() string { return s.dedupeID }

// SortedTags turns a map into a Tags slice sorted by key.
func SortedTags(m map[string]string) Tags {
	if len(m) == 0 {
		return nil
	}
	t := make(Tags, 0, len(m))
	for k, v := range m {
		t = append(t, Tag{Key: k, Value: v})
	}
	sort.Slice(t, func(i, j int) bool { return t[i].Key < t[j].Key })
	return t
}

// Map returns the tags as a map.
func (t Tags) Map() map[string]string {
	m := make(map[string]string, len(t))
	for _, tag := range t {
		m[tag.Key] = tag.Value
	}
	return m
}
