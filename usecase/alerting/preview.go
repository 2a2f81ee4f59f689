package alerting

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// Preview limits: the range, the evaluations and the samples one preview
// may read.
const (
	MaxPreviewRange       = 7 * 24 * time.Hour
	MaxPreviewEvaluations = 20_000
	MaxPreviewSamples     = 5_000_000
)

// PreviewRequest is an unsaved rule and the range to replay it over.
type PreviewRequest struct {
	Rule       alert.Rule
	Start, End time.Time
}

// Preview evaluates an unsaved rule at every cadence step of [start, end]
// over stored samples with the scheduler's state machine, and writes
// nothing: what it would have fired, and how many notifications.
func (s *Service) Preview(ctx context.Context, a Actor, req PreviewRequest) (alert.PreviewResult, error) {
	r, err := s.prepare(ctx, a, req.Rule)
	if err != nil {
		return alert.PreviewResult{}, err
	}
	start, end := req.Start.UnixMilli(), req.End.UnixMilli()
	switch {
	case end <= start:
		return alert.PreviewResult{}, fmt.Errorf("%w: end must be after start", ErrInvalid)
	case end-start > MaxPreviewRange.Milliseconds():
		return alert.PreviewResult{}, fmt.Errorf("%w: a preview covers at most 7 days (the limit max_preview_range)", ErrInvalid)
	}
	if _, n := alert.PreviewTimes(r, start, end); n > MaxPreviewEvaluations {
		return alert.PreviewResult{}, fmt.Errorf("%w: %d evaluations exceed the limit of %d (max_preview_evaluations); shorten the range or lengthen the cadence",
			ErrInvalid, n, MaxPreviewEvaluations)
	}
	samples, err := s.readSamples(ctx, r, start-r.Window.Milliseconds(), end)
	if err != nil {
		return alert.PreviewResult{}, err
	}
	return alert.Preview(r, samples, start, end), nil
}

// readSamples reads the raw samples of the rule's series over [start, end).
func (s *Service) readSamples(ctx context.Context, r alert.Rule, start, end int64) ([]alert.SeriesSamples, error) {
	q := metric.Query{TenantID: r.TenantID, Name: r.Metric, Tags: r.Matchers.Equalities(), Start: start, End: end,
		MaxPoints: pageSize, Interval: "raw"}
	index := map[string]int{}
	var out []alert.SeriesSamples
	total := 0
	for {
		page, err := s.reader.ReadRaw(ctx, q)
		if err != nil {
			return nil, storeErr("read preview samples", err)
		}
		for _, sp := range page.Series {
			if !r.Matchers.Matches(sp.Tags) {
				continue
			}
			k := alert.InstanceKey(sp.Tags)
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, alert.SeriesSamples{Tags: sp.Tags})
			}
			for _, p := range sp.Points {
				out[i].TS = append(out[i].TS, p.TS)
				out[i].Values = append(out[i].Values, p.Value)
			}
			total += len(sp.Points)
		}
		if total > MaxPreviewSamples {
			return nil, fmt.Errorf("%w: the preview would read more than %d samples (max_preview_samples); narrow the matchers or the range",
				ErrInvalid, MaxPreviewSamples)
		}
		if !page.Next.Set {
			return out, nil
		}
		q.Cursor = page.Next
	}
}
