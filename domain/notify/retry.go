package notify

import "time"

// Delivery retry policy: exponential backoff with jitter from FirstRetry
// to MaxRetry between attempts, for RetryFor after the first attempt;
// then the notification is dead.
const (
	FirstRetry = 5 * time.Second
	MaxRetry   = 30 * time.Minute
	RetryFor   = 24 * time.Hour
)

// NextAttempt is when to try again (Unix ms) after the attempts-th failed
// attempt (1 for the first) at now of a notification first tried at
// firstAt, or dead when the retry window has passed. The wait doubles
// from FirstRetry up to MaxRetry, is spread by jitter (a fraction in
// [0, 1): the wait is scaled by 0.8 to 1.2, so retrying receivers are not
// hit in lockstep), and is at least the receiver's retryAfter.
func NextAttempt(attempts int, firstAt, now int64, retryAfter time.Duration, jitter float64) (at int64, dead bool) {
	wait := FirstRetry
	for i := 1; i < attempts && wait < MaxRetry; i++ {
		wait *= 2
	}
	wait = min(wait, MaxRetry)
	jitter = min(max(jitter, 0), 1)
	wait = time.Duration(float64(wait) * (0.8 + 0.4*jitter))
	wait = max(wait, retryAfter)
	at = now + wait.Milliseconds()
	if at > firstAt+RetryFor.Milliseconds() {
		return 0, true
	}
	return at, false
}
