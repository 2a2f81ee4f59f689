package alerting

import (
	"context"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// pageSize is how many points one read of a window asks for.
const pageSize = 100_000

// windowRead is one read shared by the rules that need the same data: a
// tenant's metric over [start, end), narrowed to eq and in when set.
type windowRead struct {
	tenantID   int64
	metric     string
	eq         map[string]string
	in         map[string][]string
	start, end int64
	needLast   bool // some rule reads "last", which rollups do not keep
}

// readWindows answers each series' window. Short windows (and any that
// needs "last") read raw samples; long ones read the stored rollups of the
// coarsest step that fits for their aligned interior — the query use
// case's stitching, fresh buckets from raw — and raw samples for the
// unaligned edges.
func (s *Service) readWindows(ctx context.Context, w windowRead) ([]alert.SeriesWindow, error) {
	acc := map[string]*alert.SeriesWindow{}
	add := func(tags metric.Tags, win alert.Window) {
		k := alert.InstanceKey(tags)
		sw, ok := acc[k]
		if !ok {
			sw = &alert.SeriesWindow{Tags: tags}
			acc[k] = sw
		}
		sw.Window = sw.Window.Merge(win)
	}
	q := metric.Query{TenantID: w.tenantID, Name: w.metric, Tags: w.eq, TagIn: w.in, MaxPoints: pageSize, Interval: "raw"}
	step := s.interiorStep(w)
	if step == 0 {
		if err := s.readRaw(ctx, q, w.start, w.end, add); err != nil {
			return nil, err
		}
	} else {
		lo := ceilTo(w.start, step)
		hi := floorTo(w.end, step)
		if err := s.readRaw(ctx, q, w.start, lo, add); err != nil {
			return nil, err
		}
		if err := s.readRollups(ctx, q, step, lo, hi, add); err != nil {
			return nil, err
		}
		if err := s.readRaw(ctx, q, hi, w.end, add); err != nil {
			return nil, err
		}
	}
	out := make([]alert.SeriesWindow, 0, len(acc))
	for _, sw := range acc {
		out = append(out, *sw)
	}
	return out, nil
}

// rollupWindowFrom is the shortest window read from rollups: shorter ones
// hold few raw samples, and raw is exact for every aggregate.
const rollupWindowFrom = time.Hour

// interiorStep is the rollup step read for a long window's interior: the
// coarsest kept step at most a quarter of the window (so the raw edges stay
// small), 0 for raw only.
func (s *Service) interiorStep(w windowRead) int64 {
	if w.needLast || w.end-w.start < rollupWindowFrom.Milliseconds() {
		return 0
	}
	var best int64
	for _, st := range s.steps {
		if st*4 <= w.end-w.start {
			best = st
		}
	}
	return best
}

func ceilTo(t, step int64) int64 { return -floorTo(-t, step) }

func floorTo(t, step int64) int64 {
	q := t / step
	if t%step != 0 && t < 0 {
		q--
	}
	return q * step
}

func (s *Service) readRaw(ctx context.Context, q metric.Query, start, end int64, add func(metric.Tags, alert.Window)) error {
	if end <= start {
		return nil
	}
	q.Start, q.End, q.Cursor = start, end, metric.Cursor{}
	for {
		page, err := s.reader.ReadRaw(ctx, q)
		if err != nil {
			return err
		}
		for _, sp := range page.Series {
			var win alert.Window
			for _, p := range sp.Points {
				win = win.Add(p.TS, p.Value)
			}
			add(sp.Tags, win)
		}
		if !page.Next.Set {
			return nil
		}
		q.Cursor = page.Next
	}
}

func (s *Service) readRollups(ctx context.Context, q metric.Query, step, start, end int64, add func(metric.Tags, alert.Window)) error {
	if end <= start {
		return nil
	}
	q.Start, q.End, q.Cursor = start, end, metric.Cursor{}
	for {
		page, err := s.reader.ReadRollupsAs(ctx, q, step, step)
		if err != nil {
			return err
		}
		for _, sp := range page.Series {
			var win alert.Window
			for _, p := range sp.Points {
				if p.Count == 0 {
					continue
				}
				// A bucket's latest value is unknown; "last" reads raw.
				win = win.Merge(alert.Window{Count: p.Count, Sum: p.Sum, Min: p.Min, Max: p.Max, LastTS: p.TS})
			}
			add(sp.Tags, win)
		}
		if !page.Next.Set {
			return nil
		}
		q.Cursor = page.Next
	}
}
