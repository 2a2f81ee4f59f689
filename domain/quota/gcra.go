// Package quota holds the rate-limit rule shared by every limiter adapter:
// the generic cell rate algorithm (GCRA) over a one-minute window. A quota of
// N per minute allows a burst of N at once and then one every minute/N; a
// full minute of quiet restores the whole burst. The Redis adapter runs the
// same arithmetic in Lua; the contract test holds both to it.
package quota

import "time"

// Window is the period every quota is expressed over.
const Window = time.Minute

// Decision is the outcome of taking cost units from a quota.
type Decision struct {
	Allowed bool
	// Remaining is how many units could still be taken at once.
	Remaining int64
	// RetryAfter is how long until this same cost would be allowed (0 when allowed).
	RetryAfter time.Duration
	// Reset is how long until the whole quota is available again.
	Reset time.Duration
}

// Take applies GCRA: tat is the stored "theoretical arrival time" (Unix ns,
// 0 for a fresh key); it returns the new tat to store (unchanged when denied).
// limit is units per Window; cost > limit can never be allowed.
func Take(tat, now int64, cost, limit int64) (newTAT int64, d Decision) {
	if limit <= 0 {
		return tat, Decision{Allowed: true, Remaining: 1 << 62}
	}
	interval := max(int64(Window)/limit, 1) // ns per unit; quotas above 6e10/min act as 6e10
	if tat < now {
		tat = now
	}
	next := tat + cost*interval
	allowAt := next - int64(Window)
	if cost > limit {
		return tat, Decision{Allowed: false, RetryAfter: Window, Reset: time.Duration(tat - now), Remaining: remaining(tat, now, interval)}
	}
	if now < allowAt {
		return tat, Decision{Allowed: false, RetryAfter: time.Duration(allowAt - now), Reset: time.Duration(tat - now), Remaining: remaining(tat, now, interval)}
	}
	return next, Decision{Allowed: true, Reset: time.Duration(next - now), Remaining: remaining(next, now, interval)}
}

func remaining(tat, now, interval int64) int64 {
	r := (int64(Window) - (tat - now)) / interval
	if r < 0 {
		return 0
	}
	return r
}
