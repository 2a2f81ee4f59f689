package query_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/query"
)

func base() metric.Query {
	return metric.Query{TenantID: 3, Name: "cpu.load", Start: 1000, End: 2000, Tags: map[string]string{"host": "a"}}
}

func TestRunRefusesInvalidQueries(t *testing.T) {
	tests := []struct {
		name string
		edit func(*metric.Query)
	}{
		{"missing name", func(q *metric.Query) { q.Name = "" }},
		{"end before start", func(q *metric.Query) { q.End = q.Start - 1 }},
		{"end equals start", func(q *metric.Query) { q.End = q.Start }},
		{"max_points negative", func(q *metric.Query) { q.MaxPoints = -1 }},
		{"max_points above hard max", func(q *metric.Query) { q.MaxPoints = query.HardMaxPoints + 1 }},
		{"unknown interval", func(q *metric.Query) { q.Interval = "7m" }},
		{"interval in other case", func(q *metric.Query) { q.Interval = "RAW" }},
		{"rollup step not kept", func(q *metric.Query) { q.Interval = "10m" }},
		{"unknown aggregate", func(q *metric.Query) { q.Agg = "median" }},
		{"aggregate in other case", func(q *metric.Query) { q.Agg = "MAX" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			r := NewMockReader(ctrl) // no expectations: ReadRaw must not be called
			q := base()
			tt.edit(&q)
			page, err := query.NewService(r, nil).Run(context.Background(), q)
			if !errors.Is(err, query.ErrInvalid) {
				t.Fatalf("err = %v, want query.ErrInvalid", err)
			}
			if !reflect.DeepEqual(page, metric.Page{}) {
				t.Errorf("page = %+v on error", page)
			}
		})
	}
}

func TestRunPassesTheNormalisedQuery(t *testing.T) {
	cursor := metric.Cursor{SeriesID: 7, TS: 1500, Set: true}
	tests := []struct {
		name         string
		maxPoints    int
		interval     string
		wantMax      int
		wantInterval string
	}{
		{"raw", 0, "raw", query.DefaultMaxPoints, "raw"},
		{"raw stays raw", 10, "raw", 10, "raw"},
		{"max_points 1", 1, "raw", 1, "raw"},
		{"max_points at hard max", query.HardMaxPoints, "raw", query.HardMaxPoints, "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			r := NewMockReader(ctrl)
			q := base()
			q.MaxPoints, q.Interval, q.Cursor = tt.maxPoints, tt.interval, cursor
			want := base()
			want.MaxPoints, want.Interval, want.Cursor, want.Agg = tt.wantMax, tt.wantInterval, cursor, "avg"
			answer := metric.Page{
				Series: []metric.SeriesPoints{{Tags: metric.Tags{{Key: "host", Value: "a"}}, Points: []metric.Point{{TS: 1000, Value: 1, Min: 1, Max: 1, Count: 1}}}},
				Next:   metric.Cursor{SeriesID: 7, TS: 1999, Set: true},
			}
			r.EXPECT().ReadRaw(gomock.Any(), want).Return(answer, nil).Times(1)
			page, err := query.NewService(r, nil).Run(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			answer.Interval = tt.wantInterval
			if !reflect.DeepEqual(page, answer) {
				t.Errorf("page = %+v, want %+v", page, answer)
			}
		})
	}
}

func TestRunReaderError(t *testing.T) {
	ctrl := gomock.NewController(t)
	r := NewMockReader(ctrl)
	boom := errors.New("db down")
	r.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).Return(metric.Page{Interval: "x"}, boom)
	q := base()
	q.Interval = "raw"
	page, err := query.NewService(r, nil).Run(context.Background(), q)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	if errors.Is(err, query.ErrInvalid) {
		t.Error("a reader failure looks like an invalid query (422)")
	}
	if !reflect.DeepEqual(page, metric.Page{}) {
		t.Errorf("page = %+v on error", page)
	}
}
