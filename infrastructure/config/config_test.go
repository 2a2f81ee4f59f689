package config

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c, finish := Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, finish()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.DataDir != "./data" || c.DatabaseURL != "" || c.RedisURL != "" ||
		c.MQTTListen != ":1883" || c.MaxBodyBytes != 5<<20 || c.MaxSamples != 10000 || c.FlushLinger != 50*time.Millisecond {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.SQLitePath() != "data/pulse.db" || c.QueuePath() != "data/queue.db" {
		t.Fatalf("paths: %s %s", c.SQLitePath(), c.QueuePath())
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	c, err := load(t, map[string]string{"PULSE_HTTP_ADDR": ":9000", "PULSE_MAX_SAMPLES": "5"}, "--http-addr", ":9100")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9100" || c.MaxSamples != 5 {
		t.Fatalf("got addr %s samples %d", c.HTTPAddr, c.MaxSamples)
	}
}

// Every wrong setting stops the start with one line that names it.
func TestWrongSettingNamesIt(t *testing.T) {
	cases := []struct{ env, value string }{
		{"PULSE_HTTP_ADDR", "8080"},
		{"PULSE_MQTT_LISTEN", "nope"},
		{"PULSE_DATABASE_URL", "postgres://x@h/db"},
		{"PULSE_DATABASE_URL", "mysql://root@host"},
		{"PULSE_REDIS_URL", "http://localhost:6379"},
		{"PULSE_LOG_LEVEL", "loud"},
		{"PULSE_LOG_FORMAT", "xml"},
		{"PULSE_WORKER_CONCURRENCY", "0"},
		{"PULSE_WORKER_CONCURRENCY", "two"},
		{"PULSE_MAX_BODY_BYTES", "-1"},
		{"PULSE_FLUSH_LINGER", "soon"},
		{"PULSE_QUEUE_LEASE", "0s"},
		{"PULSE_MAX_SAMPLES", "0"},
		{"PULSE_RATE_LIMIT_SAMPLES", "-5"},
		{"PULSE_RATE_LIMIT_REQUESTS", "many"},
		{"PULSE_MAX_BACKLOG", "-1"},
		{"PULSE_MAX_SERIES_PER_TENANT", "0"},
		{"PULSE_DEDUPE_WINDOW", "0s"},
		{"PULSE_IDEMPOTENCY_TTL", "forever"},
		{"PULSE_REQUEST_TIMEOUT", "0s"},
		{"PULSE_REQUEST_TIMEOUT", "slow"},
	}
	for _, tc := range cases {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			_, err := load(t, map[string]string{tc.env: tc.value})
			if err == nil {
				t.Fatal("accepted a wrong setting")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.env) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q should name %s on one line", msg, tc.env)
			}
		})
	}
}

func TestMySQLDSN(t *testing.T) {
	cases := []struct{ in, want string }{
		{"mysql://pulse:s3cret@db:3306/pulse", "pulse:s3cret@tcp(db:3306)/pulse?interpolateParams=true&parseTime=false"},
		{"mysql://root@127.0.0.1/test", "root@tcp(127.0.0.1:3306)/test?interpolateParams=true&parseTime=false"},
		{"mariadb://u:p@h:3307/d?tls=true", "u:p@tcp(h:3307)/d?interpolateParams=true&parseTime=false&tls=true"},
	}
	for _, tc := range cases {
		got, err := MySQLDSN(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("MySQLDSN(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	_, err := MySQLDSN("mysql://u:topsecret@/db")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("a bad URL must be refused without echoing its password: %v", err)
	}
}

// A single-role binary refuses settings that are not one coherent mode,
// naming the missing setting on one line (`pulse serve` does not call it).
func TestCheckRole(t *testing.T) {
	db, redis := "mysql://root@127.0.0.1:3306/pulse", "redis://127.0.0.1:6379/0"
	const key = "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="
	cases := []struct {
		binary, db, redis string
		wantMissing       string // "" = accepted
		noKey             bool
	}{
		{"pulse-api", db, "", "PULSE_REDIS_URL", false},
		{"pulse-worker", db, "", "PULSE_REDIS_URL", false},
		{"pulse-ingestor", db, "", "PULSE_REDIS_URL", false},
		{"pulse-api", "", redis, "PULSE_DATABASE_URL", false},
		{"pulse-worker", "", "", "PULSE_DATABASE_URL", false},
		{"pulse-scheduler", "", "", "PULSE_DATABASE_URL", false},
		{"pulse-scheduler", db, "", "", false},
		{"pulse-api", db, redis, "", false},
		{"pulse-worker", db, redis, "", false},
		{"pulse-api", db, redis, "PULSE_SECRET_KEY", true},
		{"pulse-worker", db, redis, "PULSE_SECRET_KEY", true},
		{"pulse-scheduler", db, "", "", true},
		{"pulse-ingestor", db, redis, "", true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s db=%s redis=%s nokey=%v", tc.binary, tc.db, tc.redis, tc.noKey), func(t *testing.T) {
			env := map[string]string{"PULSE_DATABASE_URL": tc.db, "PULSE_REDIS_URL": tc.redis, "PULSE_SECRET_KEY": key}
			if tc.noKey {
				delete(env, "PULSE_SECRET_KEY")
			}
			c, err := load(t, env)
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckRole(tc.binary)
			switch {
			case tc.wantMissing == "" && err != nil:
				t.Fatalf("refused a coherent mode: %v", err)
			case tc.wantMissing != "" && err == nil:
				t.Fatalf("accepted %s without %s", tc.binary, tc.wantMissing)
			case tc.wantMissing != "" && (!strings.Contains(err.Error(), tc.wantMissing) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("error %q should name %s on one line", err, tc.wantMissing)
			}
		})
	}
}
