package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// rowsPerStatement and rowsPerTx match the workers' defaults
// (the samples store's multi-row INSERT size and PULSE_FLUSH_CHUNK).
const (
	rowsPerStatement = 5000
	rowsPerTx        = 10000
)

// measureCeiling writes the workload's rows into a fresh database with the
// same schema, by plain loops of the same multi-row INSERT IGNORE with
// literal values that the store uses, committing every rowsPerTx rows.
func measureCeiling(ctx context.Context, w workload, loops int) (float64, error) {
	dsn, drop, err := newMariaDB()
	if err != nil {
		return 0, err
	}
	defer drop()
	st, err := sqldb.OpenMariaDB(dsn)
	if err != nil {
		return 0, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return 0, err
	}
	st.Close()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	// The series exist already, as they do for the workers after the first batch.
	var b strings.Builder
	b.WriteString("INSERT INTO series (tenant_id, name, tags, hash, created_at) VALUES ")
	for j := 0; j < w.samples; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `(1,'bench.cpu.load','{"dc":"eu-1","host":"host-%04d"}',UNHEX(MD5('%d')),0)`, j, j)
	}
	if _, err := db.ExecContext(ctx, b.String()); err != nil {
		return 0, fmt.Errorf("seed series: %w", err)
	}
	total := w.requests * w.samples
	base := time.Now().Add(-24 * time.Hour).UnixMilli()
	ingested := time.Now().UnixMilli()
	// As many plain loops as the workers have flush loops, each on its own
	// connection and its own share of the rows: the same parallelism.
	db.SetMaxOpenConns(loops)
	per := (total/loops + rowsPerTx - 1) / rowsPerTx * rowsPerTx
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for from := 0; from < total; from += per {
		g.Go(func() error { return plainInsertLoop(gctx, db, w, from, min(from+per, total), base, ingested) })
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return float64(total) / time.Since(start).Seconds(), nil
}

// plainInsertLoop writes rows [from, to) of the workload.
func plainInsertLoop(ctx context.Context, db *sql.DB, w workload, from, to int, base, ingested int64) error {
	buf := make([]byte, 0, rowsPerStatement*48)
	var tx *sql.Tx
	var err error
	for i := from; i < to; i += rowsPerStatement {
		if (i-from)%rowsPerTx == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					return err
				}
			}
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return err
			}
		}
		buf = append(buf[:0], "INSERT IGNORE INTO samples (series_id, ts, value, ingested_at) VALUES "...)
		for k := i; k < min(i+rowsPerStatement, to); k++ {
			if k > i {
				buf = append(buf, ',')
			}
			req, j := k/w.samples, k%w.samples
			buf = append(buf, '(')
			buf = strconv.AppendInt(buf, int64(j+1), 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, base+int64(req)*1000, 10)
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, float64(j%100)+float64((req*7+j)%1000)/1000, 'g', -1, 64)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, ingested, 10)
			buf = append(buf, ')')
		}
		if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	if tx != nil {
		return tx.Commit()
	}
	return nil
}

// newMariaDB creates a scratch database and returns its DSN and a drop func.
func newMariaDB() (string, func(), error) {
	server := testservice.MariaDBServerDSN()
	admin, err := sql.Open("mysql", server)
	if err != nil {
		return "", nil, err
	}
	name := testservice.UniqueName("pulse_bench_")
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database on %s (is MariaDB running? make bench starts it): %w", server, err)
	}
	dsn := strings.TrimSuffix(server, "/") + "/" + name
	return dsn, func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name); admin.Close() }, nil
}

// mysqlURLFromDSN turns user:pass@tcp(host:port)/db into user:pass@host:port/db.
func mysqlURLFromDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	user, rest := "", dsn
	if at >= 0 {
		user, rest = url.PathEscape(dsn[:at])+"@", dsn[at+1:]
	}
	rest = strings.Replace(strings.Replace(rest, "tcp(", "", 1), ")", "", 1)
	return user + rest
}

func deleteRedisKeys(prefix string) {
	c := redis.NewClient(&redis.Options{Addr: testservice.RedisAddr()})
	defer c.Close()
	ctx := context.Background()
	keys, _ := c.Keys(ctx, prefix+"*").Result()
	if len(keys) > 0 {
		c.Del(ctx, keys...)
	}
}
