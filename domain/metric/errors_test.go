package metric_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

func TestValidationErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *metric.ValidationError
		want []string
	}{
		{"empty", &metric.ValidationError{}, []string{"invalid samples"}},
		{"names count and first", &metric.ValidationError{Errors: []metric.FieldError{
			{Index: 3, Field: "value", Message: "value must be a finite number"},
			{Index: 5, Field: "name", Message: "name is required"},
		}}, []string{"2 invalid", "sample 3 value", "finite"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error = tt.err
			var ve *metric.ValidationError
			if !errors.As(err, &ve) {
				t.Fatal("errors.As failed")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Error() = %q, want it to contain %q", err.Error(), w)
				}
			}
		})
	}
}

func TestLimitErrorNamesTheLimit(t *testing.T) {
	err := &metric.LimitError{Limit: "samples_per_request", Max: 10000}
	if got := err.Error(); !strings.Contains(got, "samples_per_request=10000") {
		t.Errorf("Error() = %q, want the limit and its value", got)
	}
}

func TestLimits(t *testing.T) {
	d := metric.DefaultLimits()
	want := metric.Limits{MaxNameBytes: 200, MaxTags: 32, MaxTagKeyBytes: 64, MaxTagValueBytes: 256, MaxDedupeIDBytes: 128, MaxFuture: 10 * time.Minute}
	if d != want {
		t.Errorf("DefaultLimits = %+v, want %+v", d, want)
	}
	tests := []struct {
		days int
		want time.Duration
	}{
		{30, 30 * 24 * time.Hour},
		{1, 24 * time.Hour},
		{3650, 3650 * 24 * time.Hour},
		{0, 0},  // unset: keeps MaxAge as it was
		{-5, 0}, // nonsense: ignored
	}
	for _, tt := range tests {
		got := d.WithRetention(tt.days)
		if got.MaxAge != tt.want {
			t.Errorf("WithRetention(%d).MaxAge = %v, want %v", tt.days, got.MaxAge, tt.want)
		}
		got.MaxAge = 0
		if got != d {
			t.Errorf("WithRetention(%d) changed other fields: %+v", tt.days, got)
		}
	}
	if d.MaxAge != 0 {
		t.Error("WithRetention modified its receiver")
	}
}
