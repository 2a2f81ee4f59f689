package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressEvery is how often progress is logged when stderr is not a terminal.
var progressEvery = 2 * time.Second

// progress shows how many of total samples are done on w (stderr): a
// progress bar on a terminal, else a line every progressEvery. Set and
// Warn may be called from any goroutine.
type progress struct {
	w     io.Writer
	total int64
	what  string
	bar   *progressbar.ProgressBar
	done  atomic.Int64
	began time.Time
	mu    sync.Mutex // the bar and w
	stop  chan struct{}
	ended sync.WaitGroup
	once  sync.Once
}

func newProgress(w io.Writer, total int64, what string) *progress {
	p := &progress{w: w, total: total, what: what, began: time.Now(), stop: make(chan struct{})}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("samples"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
		return p
	}
	p.ended.Add(1)
	go func() {
		defer p.ended.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.line()
			}
		}
	}()
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Set records that done samples are done.
func (p *progress) Set(done int64) {
	p.done.Store(done)
	if p.bar != nil {
		p.mu.Lock()
		_ = p.bar.Set64(done)
		p.mu.Unlock()
	}
}

// Warn writes a line (a retry, a refusal) without breaking the bar.
func (p *progress) Warn(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, p.what+": "+format+"\n", args...)
}

func (p *progress) line() {
	done := p.done.Load()
	secs := time.Since(p.began).Seconds()
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(done) / float64(p.total)
	}
	p.mu.Lock()
	fmt.Fprintf(p.w, "%s: %d/%d samples (%.1f%%), %.0f samples/s\n", p.what, done, p.total, pct, float64(done)/max(secs, 1e-9))
	p.mu.Unlock()
}

// Finish stops the bar or the log lines.
func (p *progress) Finish() {
	p.once.Do(func() {
		if p.bar != nil {
			p.mu.Lock()
			if p.done.Load() < p.total {
				_ = p.bar.Exit()
				fmt.Fprintln(p.w)
			} else {
				_ = p.bar.Finish()
			}
			p.mu.Unlock()
			return
		}
		close(p.stop)
		p.ended.Wait()
	})
}
