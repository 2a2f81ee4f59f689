package wiring

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/domain/outage"
)

// unavailable marks err as dependency's outage when it says the service
// does not answer (refused, reset, timed out, shutting down, still
// loading), so that a process started before its database or Redis waits
// and retries (app.Start) instead of exiting. Other errors (a wrong
// password, an unknown database) stay as they are and stop the start.
func unavailable(dependency string, err error) error {
	if err == nil || !connectionFailure(err) {
		return err
	}
	return outage.Unavailable(dependency, err)
}

// MariaDB errors that mean "not now": too many connections, shutting
// down, lock wait timeout, deadlock, read-only while a replica is promoted.
var transientMySQL = map[uint16]bool{1040: true, 1053: true, 1205: true, 1213: true, 1290: true, 1836: true}

func connectionFailure(err error) bool {
	var (
		ne net.Error
		me *mysql.MySQLError
	)
	switch {
	case errors.Is(err, outage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &ne): // dial and socket failures, timeouts
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		return true
	case errors.As(err, &me):
		return transientMySQL[me.Number]
	case redis.HasErrorPrefix(err, "LOADING"), redis.HasErrorPrefix(err, "MASTERDOWN"), redis.HasErrorPrefix(err, "TRYAGAIN"):
		return true
	}
	return false
}
