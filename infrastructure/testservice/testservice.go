// Package testservice gives tests their own database and key space on the
// real MariaDB and Redis, and removes them afterwards. Tests never share
// names, so they run beside each other and beside a developer's data.
//
// Addresses come from PULSE_TEST_MARIADB_DSN (default
// "root@tcp(127.0.0.1:3306)/") and PULSE_TEST_REDIS_ADDR (default
// "127.0.0.1:6379"). A missing service fails the test: `make test` starts
// the services first (scripts/services.sh), so an absent one is a real failure.
package testservice

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MariaDB driver
	"github.com/redis/go-redis/v9"
)

// UniqueName returns prefix + a short random suffix, safe as a database or key name.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// MariaDBServerDSN is the go-sql-driver DSN of the test server, without a database.
func MariaDBServerDSN() string {
	if dsn := os.Getenv("PULSE_TEST_MARIADB_DSN"); dsn != "" {
		return dsn
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// MariaDB creates a fresh database, drops it when the test ends, and returns
// its go-sql-driver DSN (with parseTime off, multiStatements off).
func MariaDB(tb testing.TB) string {
	tb.Helper()
	server := MariaDBServerDSN()
	admin, err := sql.Open("mysql", server)
	if err != nil {
		tb.Fatalf("open MariaDB %s: %v", server, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		tb.Fatalf("MariaDB at %s is not reachable (make test starts it via scripts/services.sh): %v", server, err)
	}
	name := UniqueName("pulse_test_")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name)
		_ = admin.Close()
	})
	return withDatabase(server, name)
}

// withDatabase puts name in place of the DSN's database part.
func withDatabase(server, name string) string {
	i := strings.LastIndex(server, "/")
	if i < 0 {
		return server + "/" + name
	}
	rest := server[i+1:]
	params := ""
	if q := strings.Index(rest, "?"); q >= 0 {
		params = rest[q:]
	}
	return server[:i+1] + name + params
}

// RedisAddr is the test Redis address.
func RedisAddr() string {
	if a := os.Getenv("PULSE_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Redis returns a client and a unique key prefix; every key under the prefix
// is deleted when the test ends.
func Redis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: RedisAddr()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis at %s is not reachable (make test starts it via scripts/services.sh): %v", RedisAddr(), err)
	}
	prefix := UniqueName("pulsetest:") + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, prefix+"*", 500).Result()
			if err != nil {
				break
			}
			if len(keys) > 0 {
				c.Del(ctx, keys...)
			}
			if next == 0 {
				break
			}
			cursor = next
		}
		_ = c.Close()
	})
	return c, prefix
}

// Describe is used in failure messages.
func Describe() string {
	return fmt.Sprintf("MariaDB %s, Redis %s", MariaDBServerDSN(), RedisAddr())
}
