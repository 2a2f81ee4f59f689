package ingestor

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// paho reads each packet straight off the socket (one read for the type,
// one per length byte, one for the rest: three or four system calls per
// message) and writes each packet with its own system call (one per PUBACK).
// At tens of thousands of messages a second that is most of the ingestor's
// system time, so the subscriber hands paho a connection that reads through
// a buffer and coalesces writes: a write is queued, and one goroutine sends
// whatever has gathered meanwhile in one system call. The acks of a batch,
// given all at once when it is durable, leave together.

const (
	connReadBuffer = 64 << 10
	// connMaxPending bounds the queued bytes: a writer waits beyond it (the
	// broker is not reading), as it would in a blocking write.
	connMaxPending = 256 << 10
	// connCloseFlush bounds how long Close lets the queued bytes (the last
	// acks, DISCONNECT) leave before closing.
	connCloseFlush = time.Second
)

// openBufferedConn is paho's CustomOpenConnectionFn for the schemes it dials
// itself over TCP, TLS or a Unix socket (see bufferedSchemes).
func openBufferedConn(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	dialer := o.Dialer
	if dialer == nil {
		dialer = &net.Dialer{Timeout: 30 * time.Second}
	}
	var (
		conn net.Conn
		err  error
	)
	switch uri.Scheme {
	case "mqtt", "tcp":
		conn, err = dialer.Dial("tcp", uri.Host)
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		conn, err = tls.DialWithDialer(dialer, "tcp", uri.Host, o.TLSConfig)
	case "unix":
		path := uri.Host // as paho: unix://socket.sock (relative) or unix:///abs/path
		if path == "" {
			path = uri.Path
		}
		conn, err = dialer.Dial("unix", path)
	default:
		return nil, errors.New("unknown protocol")
	}
	if err != nil {
		return nil, err
	}
	return newBufferedConn(conn), nil
}

// bufferedSchemes tells whether openBufferedConn dials url exactly as paho
// would: TCP, TLS and Unix sockets, when no proxy is configured (paho dials
// through $ALL_PROXY; the subscriber then leaves the connection to paho, as
// it does for WebSockets).
func bufferedSchemes(rawURL string) bool {
	if os.Getenv("all_proxy") != "" || os.Getenv("ALL_PROXY") != "" {
		return false
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "mqtt", "tcp", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps", "unix":
		return true
	}
	return false
}

// bufferedConn reads through a buffer and coalesces writes (see above).
// Read is used by one goroutine at a time (paho's reader); Write and Close
// may be called from any.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond // the sender finished a round
	pending []byte     // queued, not yet handed to the socket
	spare   []byte
	sending bool  // a sender goroutine runs
	err     error // the first write error: every later Write fails with it
	closed  bool
}

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer)}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Write queues p for the sender; it fails once a write failed or the
// connection is closed. Bytes queued before a failure may be lost, as bytes
// in a socket's send buffer are when the connection breaks.
func (b *bufferedConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pending) >= connMaxPending && b.err == nil && !b.closed {
		b.cond.Wait()
	}
	switch {
	case b.closed:
		return 0, net.ErrClosed
	case b.err != nil:
		return 0, b.err
	}
	b.pending = append(b.pending, p...)
	if !b.sending {
		b.sending = true
		go b.send()
	}
	return len(p), nil
}

// send writes what is queued, round after round, until nothing is.
func (b *bufferedConn) send() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pending) > 0 && b.err == nil {
		out := b.pending
		b.pending = b.spare[:0]
		b.mu.Unlock()
		_, err := b.Conn.Write(out)
		b.mu.Lock()
		b.spare = out[:0]
		if err != nil {
			b.err = err
			b.pending = b.pending[:0]
		}
		b.cond.Broadcast()
	}
	b.sending = false
	b.cond.Broadcast()
}

// Close lets the queued bytes leave (for at most connCloseFlush), then
// closes the connection.
func (b *bufferedConn) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		if b.sending {
			_ = b.Conn.SetWriteDeadline(time.Now().Add(connCloseFlush))
		}
		for b.sending {
			b.cond.Wait()
		}
	}
	b.mu.Unlock()
	return b.Conn.Close()
}
