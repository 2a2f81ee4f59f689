package query_test

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
	"github.com/pulsemetrics/pulse/usecase/query"
)

// issueSteps are the issue's two kept steps (the default adds 1h).
var issueSteps = rollup.Steps{60_000, 300_000}

func onePoint() metric.Page {
	return metric.Page{Series: []metric.SeriesPoints{{Points: []metric.Point{{TS: 1000, Value: 2.5, Min: 1, Max: 4, Count: 4, Sum: 10}}}}}
}

// interval=auto picks the finest resolution whose estimated point count
// fits max_points, from the coarsest step's coverage: raw holds as many
// points as the 5m buckets summarise; 1m at most 5 per 5m bucket.
func TestAutoPicksTheFinestResolutionThatFits(t *testing.T) {
	tests := []struct {
		name             string
		interval         string // "" and "auto" both mean auto
		buckets, samples int64  // 5m coverage
		max              int
		want             string
	}{
		{"nothing rolled up yet reads raw", "", 0, 0, 1000, "raw"},
		{"raw fits", "auto", 10, 900, 1000, "raw"},
		{"raw exactly fits", "auto", 10, 1000, 1000, "raw"},
		{"1m fits", "auto", 150, 9000, 1000, "1m"},
		{"1m capped by samples", "auto", 400, 1000 + 1, 1001, "raw"},
		{"sparse data: 1m has no more points than samples", "auto", 600, 1001, 1000, "5m"},
		{"only 5m fits", "auto", 8640, 259200, 10000, "5m"},
		{"nothing stored fits: 5m merged into 1h", "", 8640, 259200, 1000, "1h"},
		{"just over: 5m merged into 10m", "", 1500, 45000, 1000, "10m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			r := NewMockReader(ctrl)
			q := base()
			q.Interval, q.MaxPoints = tt.interval, tt.max
			r.EXPECT().RollupCoverage(gomock.Any(), gomock.Any(), int64(300_000)).Return(tt.buckets, tt.samples, nil)
			if tt.want == "raw" {
				r.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, got metric.Query) (metric.Page, error) {
					if got.Interval != "raw" || got.MaxPoints != tt.max {
						t.Errorf("ReadRaw got %+v", got)
					}
					return onePoint(), nil
				})
			} else {
				step, _ := rollup.ParseName(tt.want)
				base := step
				if step > 300_000 {
					base = 300_000 // derived from the coarsest stored step
				}
				r.EXPECT().ReadRollupsAs(gomock.Any(), gomock.Any(), base, step).Return(onePoint(), nil)
			}
			page, err := query.NewService(r, issueSteps).Run(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Interval != tt.want {
				t.Fatalf("interval = %q, want %q", page.Interval, tt.want)
			}
		})
	}
}

func TestExplicitStepsAreHonoured(t *testing.T) {
	for _, iv := range []string{"1m", "5m"} {
		ctrl := gomock.NewController(t)
		r := NewMockReader(ctrl)
		step, _ := rollup.ParseName(iv)
		r.EXPECT().ReadRollupsAs(gomock.Any(), gomock.Any(), step, step).DoAndReturn(func(_ context.Context, q metric.Query, _, _ int64) (metric.Page, error) {
			if q.Interval != iv {
				t.Errorf("query interval %q", q.Interval)
			}
			return onePoint(), nil
		})
		q := base()
		q.Interval = iv
		page, err := query.NewService(r, nil).Run(context.Background(), q)
		if err != nil || page.Interval != iv {
			t.Fatalf("%s: page %+v, %v", iv, page, err)
		}
	}
}

func TestConfiguredStepsAreTheOnlyOnes(t *testing.T) {
	ctrl := gomock.NewController(t)
	r := NewMockReader(ctrl)
	steps, err := rollup.ParseSteps("30s,10m")
	if err != nil {
		t.Fatal(err)
	}
	svc := query.NewService(r, steps)
	q := base()
	q.Interval = "5m"
	if _, err := svc.Run(context.Background(), q); !errors.Is(err, query.ErrInvalid) {
		t.Fatalf("5m with steps 30s,10m: err = %v", err)
	}
	r.EXPECT().ReadRollupsAs(gomock.Any(), gomock.Any(), int64(30_000), int64(30_000)).Return(onePoint(), nil)
	q.Interval = "30s"
	if page, err := svc.Run(context.Background(), q); err != nil || page.Interval != "30s" {
		t.Fatalf("30s: %+v, %v", page, err)
	}
}

func TestAggregateSetsEachPointsValue(t *testing.T) {
	want := map[string]float64{"": 2.5, "avg": 2.5, "min": 1, "max": 4, "sum": 10, "count": 4}
	for agg, v := range want {
		ctrl := gomock.NewController(t)
		r := NewMockReader(ctrl)
		r.EXPECT().ReadRollupsAs(gomock.Any(), gomock.Any(), int64(60_000), int64(60_000)).Return(onePoint(), nil)
		q := base()
		q.Interval, q.Agg = "1m", agg
		page, err := query.NewService(r, nil).Run(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		p := page.Series[0].Points[0]
		if p.Value != v || p.Min != 1 || p.Max != 4 || p.Count != 4 {
			t.Errorf("agg=%q: point %+v, want value %v", agg, p, v)
		}
	}
}

func TestCoverageFailureIsNotAnInvalidQuery(t *testing.T) {
	ctrl := gomock.NewController(t)
	r := NewMockReader(ctrl)
	boom := errors.New("db down")
	r.EXPECT().RollupCoverage(gomock.Any(), gomock.Any(), gomock.Any()).Return(int64(0), int64(0), boom)
	_, err := query.NewService(r, nil).Run(context.Background(), base())
	if !errors.Is(err, boom) || errors.Is(err, query.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}

// With the default 1h level kept, a month is read from it directly rather
// than derived from 5m.
func TestAutoReadsTheStoredHourlyLevel(t *testing.T) {
	ctrl := gomock.NewController(t)
	r := NewMockReader(ctrl)
	q := base()
	q.Interval = "auto"
	r.EXPECT().RollupCoverage(gomock.Any(), gomock.Any(), int64(3_600_000)).Return(int64(720), int64(259200), nil)
	r.EXPECT().ReadRollupsAs(gomock.Any(), gomock.Any(), int64(3_600_000), int64(3_600_000)).Return(onePoint(), nil)
	page, err := query.NewService(r, nil).Run(context.Background(), q)
	if err != nil || page.Interval != "1h" {
		t.Fatalf("page %+v, %v; want 1h", page, err)
	}
}
