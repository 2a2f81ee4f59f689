package export

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
)

// Outcome is what one job did.
type Outcome struct {
	ID     int64
	Status string // done, failed, or "" when the job stopped without finishing
	Rows   int64
	Bytes  int64
	Took   time.Duration
}

// failure is a reason a job fails that the tenant may read as it is.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }

func failed(format string, args ...any) error { return &failure{msg: fmt.Sprintf(format, args...)} }

// Run runs jobs until ctx ends: at once again after one finished, else
// every tick. A failed round is logged; the next runs on time.
func (s *Service) Run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		_, ran, err := s.RunOne(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.Error("export round failed", "err", err)
		case ran:
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOne claims one export and runs it to its end; ran is false when
// none was waiting. An export that fails is recorded as failed (err is
// nil: the job ran); err is what kept the job from recording anything.
func (s *Service) RunOne(ctx context.Context) (out Outcome, ran bool, err error) {
	e, ok, err := s.store.ClaimExport(ctx, s.opts.Holder, s.now().UnixMilli(), s.opts.Lease)
	if err != nil || !ok {
		return Outcome{}, false, err
	}
	start := s.now()
	log := s.log.With("export", e.ID, "tenant", e.TenantID, "name", e.Name, "interval", e.Interval, "attempt", e.Attempts)
	log.Info("export started", "start", time.UnixMilli(e.Start).UTC(), "end", time.UnixMilli(e.End).UTC())
	out = Outcome{ID: e.ID}
	var jobErr error
	if e.Attempts > s.opts.MaxAttempts {
		jobErr = failed("the export was started %d times and never finished (its worker stopped each time)", e.Attempts-1)
	} else {
		out.Rows, out.Bytes, jobErr = s.write(ctx, e)
	}
	out.Took = s.now().Sub(start)
	end := context.WithoutCancel(ctx)
	switch {
	case jobErr == nil: // finished, even if ctx ended meanwhile
		out.Status = StatusDone
		log.Info("export finished", "rows", out.Rows, "bytes", out.Bytes, "took", out.Took,
			"rows_per_s", int64(float64(out.Rows)/max(out.Took.Seconds(), 1e-3)))
		err = s.store.FinishExport(end, e.ID, s.opts.Holder, StatusDone, out.Rows, "", s.now().UnixMilli())
	case errors.Is(jobErr, ErrClaimLost):
		log.Warn("export claim lost: another worker runs it", "rows", out.Rows, "took", out.Took)
		return out, true, nil
	case ctx.Err() != nil:
		// Shutting down: back to the queue, for this or another worker.
		log.Info("export interrupted, queued again", "rows", out.Rows, "took", out.Took)
		if err := s.store.ReleaseExport(end, e.ID, s.opts.Holder); err != nil && !errors.Is(err, ErrClaimLost) {
			return out, true, fmt.Errorf("release export %d: %w", e.ID, err)
		}
		return out, true, nil
	default:
		out.Status = StatusFailed
		log.Error("export failed", "rows", out.Rows, "took", out.Took, "err", jobErr)
		err = s.store.FinishExport(end, e.ID, s.opts.Holder, StatusFailed, out.Rows, failureMessage(jobErr), s.now().UnixMilli())
	}
	if errors.Is(err, ErrClaimLost) {
		return out, true, nil
	}
	if err != nil {
		return out, true, fmt.Errorf("finish export %d: %w", e.ID, err)
	}
	if s.opts.Observer != nil {
		s.opts.Observer.Finished(out.Status, out.Rows, out.Took)
	}
	return out, true, nil
}

// failureMessage is what the tenant reads of a failure: the job's own
// reasons in full, a dependency's outage named, anything else generic (its
// text, which may name addresses, stays in the log).
func failureMessage(err error) string {
	var (
		f  *failure
		oe *outage.Error
	)
	switch {
	case errors.As(err, &f):
		return f.msg
	case errors.As(err, &oe):
		return "the " + oe.Dependency + " was unavailable during the export; create it again"
	}
	return "internal error during the export (logged); create it again"
}

// write reads e's pages and stores its file; it answers the rows and
// bytes written.
func (s *Service) write(ctx context.Context, e Export) (rows, bytes int64, err error) {
	q := s.pageQuery(e.TenantID, e.Request)
	tags, err := s.series.SeriesTags(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("series of %s: %w", e.Name, outage.Unavailable("database", err))
	}
	keys := tagKeys(tags)
	sink := &chunkSink{ctx: ctx, s: s, id: e.ID, size: s.opts.ChunkBytes}
	prog := progress{start: e.Start, end: e.End, series: max(len(tags), 1)}
	var (
		rw       RowWriter
		interval string
	)
	for {
		page, err := s.querier.Run(ctx, q)
		if err != nil {
			return rows, sink.bytes, fmt.Errorf("page after %d rows: %w", rows, err)
		}
		if rw == nil {
			interval = page.Interval
			if rw, err = s.enc.Open(sink, Columns{TagKeys: keys, Rollup: interval != IntervalRaw}, e.Gzip); err != nil {
				return 0, sink.bytes, fmt.Errorf("open the file: %w", err)
			}
		} else if page.Interval != interval {
			return rows, sink.bytes, failed("the resolution changed from %s to %s while exporting (the rollups moved on); create the export again", interval, page.Interval)
		}
		for _, sp := range page.Series {
			if k, ok := missingKey(keys, sp.Tags); ok {
				return rows, sink.bytes, failed("a series with the new tag key %q appeared while exporting; create the export again", k)
			}
			if err := rw.Write(e.Name, sp.Tags, sp.Points); err != nil {
				return rows, sink.bytes, fmt.Errorf("write rows: %w", err)
			}
			rows += int64(len(sp.Points))
			prog.saw(sp)
		}
		if rows > s.opts.MaxRows {
			return rows, sink.bytes, failed("the export has more than %d rows; narrow the range or the tags, or use a rollup interval", s.opts.MaxRows)
		}
		if !page.Next.Set {
			break
		}
		if err := s.store.SaveProgress(ctx, e.ID, s.opts.Holder, rows, prog.fraction(), s.until()); err != nil {
			return rows, sink.bytes, err
		}
		q.Cursor = page.Next
	}
	if err := rw.Close(); err != nil {
		return rows, sink.bytes, fmt.Errorf("end the file: %w", err)
	}
	if err := sink.flush(); err != nil {
		return rows, sink.bytes, err
	}
	return rows, sink.bytes, nil
}

// until is the end of a claim renewed now.
func (s *Service) until() int64 { return s.now().Add(s.opts.Lease).UnixMilli() }

// tagKeys is the sorted union of the tag sets' keys.
func tagKeys(sets []metric.Tags) []string {
	var keys []string
	for _, tags := range sets {
		for _, t := range tags {
			keys = append(keys, t.Key)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// missingKey is a key of tags that keys (sorted) lacks.
func missingKey(keys []string, tags metric.Tags) (string, bool) {
	for _, t := range tags {
		if _, found := slices.BinarySearch(keys, t.Key); !found {
			return t.Key, true
		}
	}
	return "", false
}

// progress estimates the fraction done from the pages read: series come
// in order, each read from start to end, so the series before the last
// one read are done and the last one is done up to its last point.
type progress struct {
	start, end int64
	series     int
	seen       int // series read from, the last one maybe in part
	lastTags   metric.Tags
	lastTS     int64
}

func (p *progress) saw(sp metric.SeriesPoints) {
	if len(sp.Points) == 0 {
		return
	}
	if p.seen == 0 || !slices.Equal(p.lastTags, sp.Tags) {
		p.seen++
		p.lastTags = sp.Tags
	}
	p.lastTS = sp.Points[len(sp.Points)-1].TS
}

func (p *progress) fraction() float64 {
	if p.seen == 0 {
		return 0
	}
	within := float64(p.lastTS-p.start+1) / float64(max(p.end-p.start, 1))
	f := (float64(p.seen-1) + min(max(within, 0), 1)) / float64(max(p.series, p.seen))
	return min(f, 0.99) // 1 is for done
}

// chunkSink is the file as the encoder writes it: chunks of size bytes
// stored as they fill, under the job's claim.
type chunkSink struct {
	ctx   context.Context
	s     *Service
	id    int64
	size  int
	seq   int
	buf   []byte
	bytes int64
}

func (c *chunkSink) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.buf == nil {
			c.buf = make([]byte, 0, c.size)
		}
		take := min(c.size-len(c.buf), len(p))
		c.buf = append(c.buf, p[:take]...)
		p = p[take:]
		if len(c.buf) == c.size {
			if err := c.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush stores what is buffered as the next chunk.
func (c *chunkSink) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if err := c.s.store.AppendChunk(c.ctx, c.id, c.s.opts.Holder, c.seq, c.buf, c.s.until()); err != nil {
		return fmt.Errorf("store chunk %d: %w", c.seq, err)
	}
	c.seq++
	c.bytes += int64(len(c.buf))
	c.buf = c.buf[:0]
	return nil
}
