package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// connectTimeout bounds the time from accept to a CONNECT packet (and the
// TLS handshake): mochi sets no deadline before CONNECT, so without this an
// idle socket would stay open forever. After CONNECT mochi's keepalive
// deadline takes over.
const connectTimeout = 10 * time.Second

// listener is a mochi listener over a socket we open ourselves, so that
// Start reports a taken port at once and Addr knows the actual port. It
// tracks its connections so that Close can end and wait for all of them,
// authenticated or not.
type listener struct {
	id   string
	ln   net.Listener
	hook *authHook
	log  *slog.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func listen(ctx context.Context, id, addr string, cfg *tls.Config, hook *authHook) (*listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt broker: listen on %s: %w", addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return &listener{id: id, ln: ln, hook: hook, conns: map[net.Conn]struct{}{}}, nil
}

// ID names the listener for mochi.
func (l *listener) ID() string { return l.id }

// Address is the actual bound address.
func (l *listener) Address() string { return l.ln.Addr().String() }

// Protocol is the listener's protocol.
func (l *listener) Protocol() string { return l.id }

// Init records mochi's logger; the socket is already open.
func (l *listener) Init(log *slog.Logger) error {
	l.log = log
	return nil
}

// Serve accepts connections until the listener is closed, handing each to
// establish on its own goroutine.
func (l *listener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return // closed
		}
		if !l.track(conn) {
			_ = conn.Close()
			return
		}
		go func() {
			defer l.wg.Done()
			defer l.untrack(conn)
			_ = conn.SetDeadline(time.Now().Add(connectTimeout))
			if err := establish(l.id, conn); err != nil {
				l.log.Debug("mqtt connection ended", "error", err, "remote", conn.RemoteAddr().String())
			}
			l.hook.forgetConn(conn)
		}()
	}
}

func (l *listener) track(conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[conn] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *listener) untrack(conn net.Conn) {
	_ = conn.Close()
	l.mu.Lock()
	delete(l.conns, conn)
	l.mu.Unlock()
}

// Close disconnects the listener's clients, then closes the socket and
// every connection still open. It does not call mochi's closeClients:
// v2.7.9's Clients.GetByListener read-locks the clients twice (it calls
// Len under its own read lock), which deadlocks when a client being
// attached at that moment waits for the write lock (Clients.Delete) — seen
// as a broker Close hanging in CI. GetAll takes the lock once.
func (l *listener) Close(listeners.CloseFn) {
	if srv := l.hook.server; srv != nil {
		for _, cl := range srv.Clients.GetAll() {
			if cl.Net.Listener == l.id && !cl.Closed() {
				_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
			}
		}
	}
	l.closeListener()
}

// closeListener closes the socket and every connection still open.
func (l *listener) closeListener() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	_ = l.ln.Close()
	for c := range l.conns {
		_ = c.Close()
	}
}

// wait blocks until every connection goroutine has returned.
func (l *listener) wait() { l.wg.Wait() }
