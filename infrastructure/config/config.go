// Package config reads Pulse's settings from flags and PULSE_* environment
// variables (a flag wins over its variable) and checks them before anything
// starts, so a wrong setting stops the process with one line naming it.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/rollup"
)

// Config is every setting of every binary.
type Config struct {
	HTTPAddr    string
	DataDir     string
	DatabaseURL string // empty → SQLite in DataDir
	RedisURL    string // empty → embedded queue in DataDir
	MQTTURL     string // empty → embedded broker
	MQTTListen  string

	MQTTTLSListen  string
	MQTTTLSCert    string
	MQTTTLSKey     string
	MQTTUsername   string // the ingestor's service account on an external broker
	MQTTPassword   string
	MQTTClientID   string // fixed per ingestor replica (persistent session)
	MQTTShareGroup string // several ingestors split the topics as $share/<group>/…
	// MQTTDynsecUsername/Password: the dynamic-security admin of the external
	// Mosquitto, used to give each ingest token its broker account.
	MQTTDynsecUsername string
	MQTTDynsecPassword string

	LogLevel  string
	LogFormat string

	WorkerConcurrency int
	FlushChunk        int
	FlushLinger       time.Duration
	FlushAckDelay     time.Duration // crash tests only
	QueueLease        time.Duration
	QueueMaxAttempts  int
	QueueStream       string
	QueueGroup        string

	MaxBodyBytes    int64
	MaxDecodedBytes int64
	MaxSamples      int

	RateLimitSamples  int64 // per token per minute; 0 = unlimited
	RateLimitRequests int64 // per token per minute; 0 = unlimited
	RateLimitPrefix   string
	IdempotencyPrefix string
	// InvalidationChannel is the Redis pub/sub channel of token and tenant
	// changes (every process's cache listens on it).
	InvalidationChannel string
	MaxBacklog          int64 // queue entries before 503; 0 = unbounded
	MaxSeriesPerTenant  int
	DedupeWindow        time.Duration
	IdempotencyTTL      time.Duration

	// RollupIntervals are the rollup steps kept ("1m,5m,1h"), parsed into RollupSteps.
	RollupIntervals string
	RollupSteps     rollup.Steps
	RollupEvery     time.Duration // how often the scheduler runs the rollup job
	// RollupRetention ("1m=90,5m=400,1h=800") keeps each step's buckets this many
	// days (at least as long as the tenant's raw retention); parsed into RollupRetentionDays.
	RollupRetention     string
	RollupRetentionDays map[int64]int
	RetentionEvery      time.Duration // how often the scheduler runs retention
	PartitionsAhead     int           // MariaDB: daily partitions created ahead

	// AlertMinCadence is the shortest evaluation interval a rule may ask
	// for; AlertTick how often the scheduler looks for due rules.
	AlertMinCadence time.Duration
	AlertTick       time.Duration

	// HealthEvery is how often a process records its own figures into the
	// internal tenant (the Health page); 0 turns the recording off.
	HealthEvery time.Duration

	// Notify is the notification dispatcher's settings (notify.go).
	Notify Notify
	Live   Live
	// Export is the CSV exports' settings (export.go).
	Export Export

	ShutdownTimeout time.Duration
	// RequestTimeout bounds one API request: its body must arrive within
	// it (408 past it) and every dependency call ends by it (503).
	RequestTimeout time.Duration
	// TrustProxy takes the client address for audit logs from X-Forwarded-For.
	TrustProxy bool
	// UIDevURL, when set, makes the dashboard load its scripts from the Vite
	// dev server at this URL (make dev) instead of the embedded build.
	UIDevURL string
}

// setting binds one field to a flag and an environment variable.
type setting struct {
	name, env, help string
	bind            func(fs *flag.FlagSet, name, help string)
	apply           func(string) error
}

// Register declares every setting on fs with defaults taken from the
// environment. The returned func validates and finishes the Config after
// fs.Parse; its error names the offending setting.
func Register(fs *flag.FlagSet, getenv func(string) string) (*Config, func() error) {
	c := &Config{}
	var errs []error
	str := func(p *string, name, env, def, help string) {
		v := def
		if e := getenv(env); e != "" {
			v = e
		}
		fs.StringVar(p, name, v, help+" ("+env+")")
	}
	num := func(p *int, name, env string, def int, help string) {
		v := def
		if e := getenv(env); e != "" {
			n, err := strconv.Atoi(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not an integer", env, e))
			}
			v = n
		}
		fs.IntVar(p, name, v, help+" ("+env+")")
	}
	num64 := func(p *int64, name, env string, def int64, help string) {
		v := def
		if e := getenv(env); e != "" {
			n, err := strconv.ParseInt(e, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not an integer", env, e))
			}
			v = n
		}
		fs.Int64Var(p, name, v, help+" ("+env+")")
	}
	dur := func(p *time.Duration, name, env string, def time.Duration, help string) {
		v := def
		if e := getenv(env); e != "" {
			d, err := time.ParseDuration(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a duration (e.g. 50ms, 30s)", env, e))
			}
			v = d
		}
		fs.DurationVar(p, name, v, help+" ("+env+")")
	}
	str(&c.HTTPAddr, "http-addr", "PULSE_HTTP_ADDR", ":8080", "HTTP listen address")
	str(&c.DataDir, "data-dir", "PULSE_DATA_DIR", "./data", "directory for the embedded database and queue")
	str(&c.DatabaseURL, "database-url", "PULSE_DATABASE_URL", "", "mysql://user:pass@host:3306/db; empty = SQLite in the data dir")
	str(&c.RedisURL, "redis-url", "PULSE_REDIS_URL", "", "redis://host:6379/0; empty = embedded durable queue")
	str(&c.MQTTURL, "mqtt-url", "PULSE_MQTT_URL", "", "external MQTT broker; empty = embedded broker")
	str(&c.MQTTListen, "mqtt-listen", "PULSE_MQTT_LISTEN", ":1883", "embedded MQTT broker listen address")
	str(&c.MQTTTLSListen, "mqtt-tls-listen", "PULSE_MQTT_TLS_LISTEN", "", "embedded broker TLS listen address (empty = no TLS listener)")
	str(&c.MQTTTLSCert, "mqtt-tls-cert", "PULSE_MQTT_TLS_CERT", "", "PEM certificate of the embedded broker's TLS listener")
	str(&c.MQTTTLSKey, "mqtt-tls-key", "PULSE_MQTT_TLS_KEY", "", "PEM key of the embedded broker's TLS listener")
	str(&c.MQTTUsername, "mqtt-username", "PULSE_MQTT_USERNAME", "", "the ingestor's service account on the external broker")
	str(&c.MQTTPassword, "mqtt-password", "PULSE_MQTT_PASSWORD", "", "its password")
	str(&c.MQTTClientID, "mqtt-client-id", "PULSE_MQTT_CLIENT_ID", "", "fixed client id of this ingestor (default pulse-ingestor-<hostname>)")
	str(&c.MQTTShareGroup, "mqtt-share-group", "PULSE_MQTT_SHARE_GROUP", "", "shared-subscription group of several ingestors (empty = plain subscription)")
	str(&c.MQTTDynsecUsername, "mqtt-dynsec-username", "PULSE_MQTT_DYNSEC_USERNAME", "", "Mosquitto dynamic-security admin (provisions a broker account per ingest token)")
	str(&c.MQTTDynsecPassword, "mqtt-dynsec-password", "PULSE_MQTT_DYNSEC_PASSWORD", "", "its password")
	str(&c.LogLevel, "log-level", "PULSE_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "PULSE_LOG_FORMAT", "text", "text or json")
	num(&c.WorkerConcurrency, "worker-concurrency", "PULSE_WORKER_CONCURRENCY", 2, "flush loops per worker process")
	num(&c.FlushChunk, "flush-chunk", "PULSE_FLUSH_CHUNK", 10000, "samples per database write")
	dur(&c.FlushLinger, "flush-linger", "PULSE_FLUSH_LINGER", 50*time.Millisecond, "wait for a fuller chunk at most this long")
	dur(&c.FlushAckDelay, "flush-ack-delay", "PULSE_FLUSH_ACK_DELAY", 0, "testing only: pause between commit and queue acknowledgement")
	dur(&c.QueueLease, "queue-lease", "PULSE_QUEUE_LEASE", 30*time.Second, "redeliver an unacknowledged queue entry after this long")
	num(&c.QueueMaxAttempts, "queue-max-attempts", "PULSE_QUEUE_MAX_ATTEMPTS", 10, "deliveries before an entry goes to the dead-letter store")
	str(&c.QueueStream, "queue-stream", "PULSE_QUEUE_STREAM", "pulse:ingest", "Redis stream key of the ingest queue")
	str(&c.QueueGroup, "queue-group", "PULSE_QUEUE_GROUP", "pulse-workers", "Redis consumer group of the workers")
	num64(&c.MaxBodyBytes, "max-body-bytes", "PULSE_MAX_BODY_BYTES", 5<<20, "largest request body on the wire")
	num64(&c.MaxDecodedBytes, "max-decoded-bytes", "PULSE_MAX_DECODED_BYTES", 5<<20, "largest request body after gzip decoding")
	num(&c.MaxSamples, "max-samples", "PULSE_MAX_SAMPLES", 10000, "samples per request")
	num64(&c.RateLimitSamples, "rate-limit-samples", "PULSE_RATE_LIMIT_SAMPLES", 600000, "default per-token quota in samples per minute (0 = unlimited)")
	num64(&c.RateLimitRequests, "rate-limit-requests", "PULSE_RATE_LIMIT_REQUESTS", 6000, "default per-token quota in requests per minute (0 = unlimited)")
	str(&c.RateLimitPrefix, "rate-limit-prefix", "PULSE_RATE_LIMIT_PREFIX", "pulse:rl:", "Redis key prefix of the shared quotas")
	str(&c.IdempotencyPrefix, "idempotency-prefix", "PULSE_IDEMPOTENCY_PREFIX", "pulse:idem:", "Redis key prefix of the Idempotency-Keys")
	str(&c.InvalidationChannel, "invalidation-channel", "PULSE_INVALIDATION_CHANNEL", "pulse:invalidate", "Redis pub/sub channel that tells every process of token and tenant changes")
	num64(&c.MaxBacklog, "max-backlog", "PULSE_MAX_BACKLOG", 20000, "queue entries (requests) waiting before ingest answers 503 (0 = unbounded)")
	num(&c.MaxSeriesPerTenant, "max-series-per-tenant", "PULSE_MAX_SERIES_PER_TENANT", 150000, "distinct series per tenant")
	dur(&c.DedupeWindow, "dedupe-window", "PULSE_DEDUPE_WINDOW", 24*time.Hour, "a repeated dedupe_id within this window stores nothing")
	dur(&c.IdempotencyTTL, "idempotency-ttl", "PULSE_IDEMPOTENCY_TTL", 24*time.Hour, "how long an Idempotency-Key is remembered")
	str(&c.RollupIntervals, "rollup-intervals", "PULSE_ROLLUP_INTERVALS", "1m,5m,1h", "rollup steps kept, finest first, each a multiple of the one before")
	dur(&c.RollupEvery, "rollup-every", "PULSE_ROLLUP_EVERY", 10*time.Second, "how often the scheduler folds new samples into rollups")
	str(&c.RollupRetention, "rollup-retention", "PULSE_ROLLUP_RETENTION", "1m=90,5m=400,1h=800", "days each rollup step is kept (never less than a tenant's raw retention)")
	dur(&c.RetentionEvery, "retention-every", "PULSE_RETENTION_EVERY", time.Hour, "how often the scheduler applies retention")
	dur(&c.AlertMinCadence, "alert-min-cadence", "PULSE_ALERT_MIN_CADENCE", 10*time.Second, "shortest evaluation interval (cadence) an alert rule may ask for")
	dur(&c.AlertTick, "alert-tick", "PULSE_ALERT_TICK", 250*time.Millisecond, "how often the scheduler looks for due alert rules")
	dur(&c.HealthEvery, "health-every", "PULSE_HEALTH_EVERY", 10*time.Second, "how often a process records its own figures for the Health page (0 = off)")
	registerNotify(&c.Notify, str, num, dur, getenv)
	registerLive(&c.Live, str, num, dur)
	registerExport(&c.Export, num, dur)
	num(&c.PartitionsAhead, "partitions-ahead", "PULSE_PARTITIONS_AHEAD", 3, "MariaDB: daily samples partitions created ahead of time")
	trust := getenv("PULSE_TRUST_PROXY") == "true"
	fs.BoolVar(&c.TrustProxy, "trust-proxy", trust, "take client addresses from X-Forwarded-For (behind a reverse proxy) (PULSE_TRUST_PROXY)")
	str(&c.UIDevURL, "ui-dev-url", "PULSE_UI_DEV_URL", "", "dashboard: load scripts from this Vite dev server (e.g. http://localhost:5173) instead of the embedded build")
	dur(&c.ShutdownTimeout, "shutdown-timeout", "PULSE_SHUTDOWN_TIMEOUT", 15*time.Second, "drain time on SIGTERM")
	dur(&c.RequestTimeout, "request-timeout", "PULSE_REQUEST_TIMEOUT", 10*time.Second, "longest time for one API request, its body included (408 when the body is late, 503 + Retry-After when a dependency is)")
	return c, func() error {
		if len(errs) > 0 {
			return errs[0]
		}
		return c.validate()
	}
}

// Load parses args against the environment.
func Load(name string, args []string) (*Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c, finish := Register(fs, os.Getenv)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, finish()
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("PULSE_HTTP_ADDR=%q: want host:port or :port", c.HTTPAddr)
	}
	if _, _, err := net.SplitHostPort(c.MQTTListen); err != nil {
		return fmt.Errorf("PULSE_MQTT_LISTEN=%q: want host:port or :port", c.MQTTListen)
	}
	if c.MQTTTLSListen != "" {
		if _, _, err := net.SplitHostPort(c.MQTTTLSListen); err != nil {
			return fmt.Errorf("PULSE_MQTT_TLS_LISTEN=%q: want host:port or :port", c.MQTTTLSListen)
		}
		if c.MQTTTLSCert == "" || c.MQTTTLSKey == "" {
			return errors.New("PULSE_MQTT_TLS_LISTEN needs PULSE_MQTT_TLS_CERT and PULSE_MQTT_TLS_KEY")
		}
	}
	if c.MQTTDynsecUsername != "" && c.MQTTURL == "" {
		return errors.New("PULSE_MQTT_DYNSEC_USERNAME needs PULSE_MQTT_URL (the external broker to provision)")
	}
	if c.MQTTURL != "" {
		u, err := url.Parse(c.MQTTURL)
		if err != nil || u.Host == "" || (u.Scheme != "tcp" && u.Scheme != "ssl" && u.Scheme != "mqtt" && u.Scheme != "mqtts" && u.Scheme != "ws" && u.Scheme != "wss") {
			return fmt.Errorf("PULSE_MQTT_URL=%q: want tcp://host:1883 or ssl://host:8883", c.MQTTURL)
		}
	}
	if c.DatabaseURL != "" {
		if _, err := MySQLDSN(c.DatabaseURL); err != nil {
			return fmt.Errorf("PULSE_DATABASE_URL: %w", err)
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return fmt.Errorf("PULSE_REDIS_URL=%q: want redis://host:6379/0", c.RedisURL)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("PULSE_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("PULSE_LOG_FORMAT=%q: want text or json", c.LogFormat)
	}
	positive := map[string]int64{
		"PULSE_WORKER_CONCURRENCY": int64(c.WorkerConcurrency), "PULSE_FLUSH_CHUNK": int64(c.FlushChunk),
		"PULSE_QUEUE_MAX_ATTEMPTS": int64(c.QueueMaxAttempts), "PULSE_MAX_BODY_BYTES": c.MaxBodyBytes,
		"PULSE_MAX_DECODED_BYTES": c.MaxDecodedBytes, "PULSE_MAX_SAMPLES": int64(c.MaxSamples),
	}
	for name, v := range positive {
		if v <= 0 {
			return fmt.Errorf("%s=%d: must be positive", name, v)
		}
	}
	nonNegative := map[string]int64{
		"PULSE_RATE_LIMIT_SAMPLES": c.RateLimitSamples, "PULSE_RATE_LIMIT_REQUESTS": c.RateLimitRequests,
		"PULSE_MAX_BACKLOG": c.MaxBacklog,
	}
	for name, v := range nonNegative {
		if v < 0 {
			return fmt.Errorf("%s=%d: must be 0 (off) or positive", name, v)
		}
	}
	if c.MaxSeriesPerTenant <= 0 {
		return fmt.Errorf("PULSE_MAX_SERIES_PER_TENANT=%d: must be positive", c.MaxSeriesPerTenant)
	}
	if c.DedupeWindow <= 0 || c.IdempotencyTTL <= 0 {
		return errors.New("PULSE_DEDUPE_WINDOW and PULSE_IDEMPOTENCY_TTL must be positive durations")
	}
	if c.FlushLinger < 0 || c.QueueLease <= 0 || c.ShutdownTimeout <= 0 {
		return errors.New("PULSE_FLUSH_LINGER, PULSE_QUEUE_LEASE and PULSE_SHUTDOWN_TIMEOUT must be positive durations")
	}
	if c.RequestTimeout <= 0 {
		return fmt.Errorf("PULSE_REQUEST_TIMEOUT=%s: must be a positive duration", c.RequestTimeout)
	}
	if c.HealthEvery < 0 || (c.HealthEvery > 0 && c.HealthEvery < time.Second) {
		return fmt.Errorf("PULSE_HEALTH_EVERY=%s: want 0 (off) or at least 1s", c.HealthEvery)
	}
	if c.UIDevURL != "" {
		u, err := url.Parse(c.UIDevURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("PULSE_UI_DEV_URL=%q: want the Vite dev server's origin, e.g. http://localhost:5173", c.UIDevURL)
		}
	}
	if c.DataDir == "" {
		return errors.New("PULSE_DATA_DIR must not be empty")
	}
	return c.validateRollups()
}

// validateRollups parses the rollup steps and their retention.
func (c *Config) validateRollups() error {
	steps, err := rollup.ParseSteps(c.RollupIntervals)
	if err != nil {
		return fmt.Errorf("PULSE_ROLLUP_INTERVALS=%q: %w", c.RollupIntervals, err)
	}
	c.RollupSteps = steps
	c.RollupRetentionDays = map[int64]int{}
	for _, part := range strings.Split(c.RollupRetention, ",") {
		name, days, ok := strings.Cut(strings.TrimSpace(part), "=")
		step, okStep := rollup.ParseName(strings.TrimSpace(name))
		n, err := strconv.Atoi(strings.TrimSpace(days))
		if !ok || !okStep || err != nil || n <= 0 {
			return fmt.Errorf("PULSE_ROLLUP_RETENTION=%q: want interval=days pairs such as 1m=90,5m=400", c.RollupRetention)
		}
		c.RollupRetentionDays[step] = n
	}
	for _, st := range steps {
		if _, ok := c.RollupRetentionDays[st]; !ok {
			return fmt.Errorf("PULSE_ROLLUP_RETENTION=%q: no retention for the %s rollups (PULSE_ROLLUP_INTERVALS)", c.RollupRetention, rollup.Name(st))
		}
	}
	if c.RollupEvery <= 0 || c.RetentionEvery <= 0 {
		return errors.New("PULSE_ROLLUP_EVERY and PULSE_RETENTION_EVERY must be positive durations")
	}
	if c.AlertMinCadence < time.Second || c.AlertTick <= 0 || c.AlertTick > time.Minute {
		return fmt.Errorf("PULSE_ALERT_MIN_CADENCE=%s, PULSE_ALERT_TICK=%s: want a cadence of at least 1s and a tick between 1ms and 1m", c.AlertMinCadence, c.AlertTick)
	}
	if c.PartitionsAhead < 1 || c.PartitionsAhead > 366 {
		return fmt.Errorf("PULSE_PARTITIONS_AHEAD=%d: want 1 to 366", c.PartitionsAhead)
	}
	if err := c.Live.validate(); err != nil {
		return err
	}
	if err := c.Export.validate(); err != nil {
		return err
	}
	return c.Notify.validate()
}

// CheckRole refuses settings that do not form one coherent mode for a
// single-role binary. Each of pulse-api, pulse-worker, pulse-ingestor and
// pulse-scheduler is one part of the distributed mode: what one accepts,
// another in another process stores, so they must share MariaDB and (but
// the scheduler) Redis. Without PULSE_REDIS_URL an api replica would queue
// samples in a local file no worker drains. `pulse serve` runs every role
// in one process and accepts any combination.
func (c *Config) CheckRole(binary string) error {
	needRedis := binary != "pulse-scheduler"
	switch {
	case c.DatabaseURL == "":
		return fmt.Errorf("PULSE_DATABASE_URL is not set: %s is a role of the distributed mode and needs the shared MariaDB (run `pulse serve` for one process on embedded storage)", binary)
	case needRedis && c.RedisURL == "":
		return fmt.Errorf("PULSE_REDIS_URL is not set: %s is a role of the distributed mode and hands samples over through Redis; without it they would wait in a local queue no worker drains (run `pulse serve` for one process)", binary)
	case (binary == "pulse-api" || binary == "pulse-worker") && c.Notify.SecretKey == "":
		return fmt.Errorf("PULSE_SECRET_KEY is not set: %s seals and opens notification channels' secrets, and every replica must use the same key (generate one with `openssl rand -base64 32`)", binary)
	}
	return nil
}

// SQLitePath is the embedded database file.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "pulse.db") }

// QueuePath is the embedded queue file.
func (c *Config) QueuePath() string { return filepath.Join(c.DataDir, "queue.db") }

// MySQLDSN turns mysql://user:pass@host:port/db?x=y into a go-sql-driver DSN.
func MySQLDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", redact(raw))
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return "", fmt.Errorf("scheme %q: want mysql://user:pass@host:3306/db", u.Scheme)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || db == "" {
		return "", fmt.Errorf("%q: want mysql://user:pass@host:3306/db (host and database are required)", redact(raw))
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	user := ""
	if u.User != nil {
		user = u.User.Username()
		if p, ok := u.User.Password(); ok {
			user += ":" + p
		}
		user += "@"
	}
	q := u.Query()
	q.Set("parseTime", "false")
	if q.Get("interpolateParams") == "" {
		q.Set("interpolateParams", "true")
	}
	return fmt.Sprintf("%stcp(%s)/%s?%s", user, host, db, q.Encode()), nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
