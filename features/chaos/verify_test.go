//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"
)

// tally compares the stored rows with what the clients were told.
type tally struct {
	accepted int64 // samples of the 202 answers
	rows     int64 // rows of the tenant in samples
	stored   int64 // accepted samples stored (once or more)
	lost     int64 // accepted samples not stored
	doubled  int64 // rows beyond the first of one sample
	foreign  int64 // rows that are no posted sample (unknown value, wrong series or ts)
	unacked  int64 // stored samples of requests not answered 202 (503, no answer)
}

func (c tally) String() string {
	return fmt.Sprintf("accepted=%d stored=%d lost=%d doubled=%d foreign=%d rows=%d stored-though-not-202=%d",
		c.accepted, c.stored, c.lost, c.doubled, c.foreign, c.rows, c.unacked)
}

// verify reads every row of the tenant and checks it against the outcomes.
func (d *deployment) verify(w workload, os []outcome) (tally, error) {
	var c tally
	status := map[int64]int{} // request → status
	var posted int64
	for _, o := range os {
		status[o.req] = o.status
		posted = max(posted, o.req+1)
		if o.status == http.StatusAccepted {
			c.accepted += perRequest
		}
	}
	seen := make([]uint16, posted*perRequest)
	db := d.db.open(mariaDatabase)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT s.name, COALESCE(JSON_UNQUOTE(JSON_EXTRACT(s.tags, '$.host')), ''), p.ts, p.value
		FROM samples p JOIN series s ON s.id = p.series_id WHERE s.tenant_id = ?`, d.tenantID)
	if err != nil {
		return c, fmt.Errorf("read the stored samples: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name, host string
			ts         int64
			value      float64
		)
		if err := rows.Scan(&name, &host, &ts, &value); err != nil {
			return c, fmt.Errorf("scan a stored sample: %w", err)
		}
		c.rows++
		k := int64(value)
		if float64(k) != value || math.IsNaN(value) || k < 0 || k >= int64(len(seen)) ||
			name != loadName || host != w.host(k) || ts != w.ts(k) {
			c.foreign++
			continue
		}
		if _, sent := status[k/perRequest]; !sent {
			c.foreign++
			continue
		}
		seen[k]++
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("read the stored samples: %w", err)
	}
	for k, n := range seen {
		if n > 1 {
			c.doubled += int64(n - 1)
		}
		st := status[int64(k)/perRequest]
		switch {
		case st == http.StatusAccepted && n == 0:
			c.lost++
		case st == http.StatusAccepted:
			c.stored++
		case n > 0:
			c.unacked++
		}
	}
	return c, nil
}

// drain waits until the stored count stops changing at or above want (the
// accepted samples) for settle, or until bound has passed since from. It
// returns when the count first reached its final value, measured from
// `from`, and the count. It stops early when the worker has exited: nothing
// would store the rest.
func (d *deployment) drain(want int64, from time.Time, bound time.Duration) (time.Duration, int64, error) {
	const settle = 5 * time.Second
	last, lastChange := int64(-1), time.Now()
	var lastErr error
	for {
		n, err := d.db.countSamples()
		now := time.Now()
		if err != nil {
			lastErr = err
		} else if n != last {
			last, lastChange = n, now
		}
		if last >= want && now.Sub(lastChange) >= settle {
			return lastChange.Sub(from), last, nil
		}
		if now.Sub(from) > bound {
			return now.Sub(from), last, fmt.Errorf("stored count %d, not settled at ≥ %d, %s after the start of the drain (last count error: %v)", last, want, bound, lastErr)
		}
		if d.worker.exited() {
			return now.Sub(from), last, fmt.Errorf("pulse-worker exited (%v) with %d rows stored, %d accepted", d.worker.err, last, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
