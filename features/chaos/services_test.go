//go:build chaos

package chaos_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql" // the test's own view of the private MariaDB
)

// redisServer is a private redis-server: AOF on, fsync on every write, no
// RDB snapshots, in the test's temp dir, on a free port.
type redisServer struct {
	h    *harness
	port int
	dir  string
	p    *proc
	runs int
}

func startRedis(h *harness) *redisServer {
	h.t.Helper()
	r := &redisServer{h: h, port: freePort(h.t), dir: h.mkdir("redis")}
	r.start()
	return r
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }
func (r *redisServer) url() string  { return "redis://" + r.addr() + "/0" }

// start runs redis-server on the same port and dir (a restart replays the AOF)
// and waits until it answers PING; it returns how long that took.
func (r *redisServer) start() time.Duration {
	r.h.t.Helper()
	r.runs++
	begin := time.Now()
	r.p = r.h.start(fmt.Sprintf("redis-%d", r.runs), "redis-server", nil,
		"--port", itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--protected-mode", "no", "--loglevel", "notice")
	for time.Since(begin) < 30*time.Second {
		if r.p.exited() {
			r.h.t.Fatalf("redis-server exited at start\n%s", r.p.tail(3000))
		}
		if redisPing(r.addr()) == nil {
			return time.Since(begin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.h.t.Fatalf("redis-server on %s did not answer PING within 30s\n%s", r.addr(), r.p.tail(3000))
	return 0
}

// kill9 is SIGKILL of the redis-server process, waiting until it is gone.
func (r *redisServer) kill9() { r.p.kill() }

// redisPing is PING over a fresh connection; nil once Redis answers +PONG
// (it answers -LOADING while it replays the AOF).
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// mariaDB is a private mariadbd: its own datadir in the test's temp dir, on
// a free port, root without a password over TCP, database "pulse".
type mariaDB struct {
	h       *harness
	port    int
	datadir string
	run     string // socket and pid file
	p       *proc
	runs    int
}

const mariaDatabase = "pulse"

func startMariaDB(h *harness) *mariaDB {
	h.t.Helper()
	m := &mariaDB{h: h, port: freePort(h.t), datadir: filepath.Join(h.dir, "mariadb"), run: h.mkdir("mariadb-run")}
	begin := time.Now()
	args := []string{"--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db",
		"--datadir=" + m.datadir, "--user=" + currentUser()}
	out, err := exec.Command(installDB(), args...).CombinedOutput()
	if err != nil {
		h.t.Fatalf("%s %s: %v\n%s", installDB(), strings.Join(args, " "), err, out)
	}
	installed := time.Since(begin)
	up := m.start()
	db := m.open("")
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + mariaDatabase); err != nil {
		h.t.Fatalf("create database: %v", err)
	}
	h.t.Logf("private MariaDB on 127.0.0.1:%d: datadir initialised in %.2fs, answering %.2fs after start", m.port, installed.Seconds(), up.Seconds())
	return m
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

// url is the PULSE_DATABASE_URL of the private instance.
func (m *mariaDB) url() string {
	return fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", m.port, mariaDatabase)
}

// open is the test's own connection pool, with short timeouts so a check
// never hangs. database "" is the server without a database.
func (m *mariaDB) open(database string) *sql.DB {
	m.h.t.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?timeout=2s&readTimeout=30s&writeTimeout=30s", m.port, database))
	if err != nil {
		m.h.t.Fatalf("open MariaDB: %v", err)
	}
	db.SetMaxOpenConns(2)
	db.SetConnMaxLifetime(time.Minute)
	return db
}

// start runs mariadbd on the same datadir and port (after a SIGKILL InnoDB
// recovers) and waits until it answers; it returns how long that took.
func (m *mariaDB) start() time.Duration {
	m.h.t.Helper()
	m.runs++
	begin := time.Now()
	m.p = m.h.start(fmt.Sprintf("mariadb-%d", m.runs), "mariadbd", nil,
		"--no-defaults", "--user="+currentUser(), "--datadir="+m.datadir,
		"--port="+itoa(m.port), "--bind-address=127.0.0.1",
		"--socket="+filepath.Join(m.run, "sock"), "--pid-file="+filepath.Join(m.run, "pid"),
		"--skip-log-bin", "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
		"--innodb-flush-log-at-trx-commit=1", "--max-connections=300") // its log: stderr, in the proc's log
	db := m.open("")
	defer db.Close()
	for time.Since(begin) < 60*time.Second {
		if m.p.exited() {
			m.h.t.Fatalf("mariadbd exited at start\n%s", m.p.tail(4000))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return time.Since(begin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.h.t.Fatalf("mariadbd on port %d did not answer within 60s\n%s", m.port, m.p.tail(3000))
	return 0
}

// kill9 is SIGKILL of mariadbd, waiting until it is gone.
func (m *mariaDB) kill9() { m.p.kill() }

// shutdown stops mariadbd cleanly (SIGTERM) and waits until it is gone.
func (m *mariaDB) shutdown() {
	m.h.t.Helper()
	_ = m.p.signal(syscall.SIGTERM)
	select {
	case <-m.p.done:
	case <-time.After(60 * time.Second):
		m.h.t.Fatalf("mariadbd still running 60s after SIGTERM")
	}
}

// stop and cont are SIGSTOP and SIGCONT of mariadbd: it keeps its
// connections open and answers nothing meanwhile.
func (m *mariaDB) stop() {
	m.h.t.Helper()
	if err := m.p.signal(syscall.SIGSTOP); err != nil {
		m.h.t.Fatalf("SIGSTOP mariadbd: %v", err)
	}
}

func (m *mariaDB) cont() {
	m.h.t.Helper()
	if err := m.p.signal(syscall.SIGCONT); err != nil {
		m.h.t.Fatalf("SIGCONT mariadbd: %v", err)
	}
}

// countSamples is COUNT(*) of the samples table, on a fresh connection.
func (m *mariaDB) countSamples() (int64, error) {
	db := m.open(mariaDatabase)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM samples").Scan(&n)
	return n, err
}
