// Package outage names the failure of something Pulse depends on (its
// database, queue, broker or cache): neither the caller's fault nor a bug,
// but a condition to retry after. Use cases wrap the failures of their
// ports with Unavailable; the doors answer them with 503 + Retry-After
// (HTTP) or leave the message for the broker to deliver again (MQTT).
package outage

import "errors"

// ErrUnavailable is matched (errors.Is) by every error Unavailable returns.
var ErrUnavailable = errors.New("a dependency is unavailable")

// Error is a dependency's failure.
type Error struct {
	// Dependency names what failed ("database", "queue", "rate limiter"…).
	Dependency string
	Err        error
}

func (e *Error) Error() string { return e.Dependency + " unavailable: " + e.Err.Error() }

// Unwrap makes the error match both ErrUnavailable and the cause.
func (e *Error) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Unavailable marks err as the failure of dependency; nil stays nil and an
// error already marked is returned as it is (the innermost name is the
// most precise).
func Unavailable(dependency string, err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return &Error{Dependency: dependency, Err: err}
}
