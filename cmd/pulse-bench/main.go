// Command pulse-bench measures Pulse's ingest pipeline on this machine and
// prints the figures the foundation issue asks for (`make bench`):
//
//	(a) accept rate of POST /api/metrics (1,000-sample requests), API role alone
//	(b) persisted rate: the workers draining that backlog into the database
//	(d) the database ceiling: the same rows written by a plain loop with the
//	    same multi-row INSERT into the same tables, side by side with (b)
//
// for Redis Streams + MariaDB, then (c) the same (a) and (b) in embedded mode
// (embedded queue + SQLite), then the MQTT path of distributed mode: (n)
// messages published to a private Mosquitto (dynamic security) until the
// MQTT door has made every sample durable in Redis (workers off, then
// drained and counted), beside (o) a plain paho subscriber's rate on the same
// broker; then rollups: (r) the rollup job's throughput and the latency of
// (s) a 30-day chart query (interval=auto vs raw) and (t) a one-day raw query
// of one series among 20; then alerts: (u) a full round of 10,000 rules,
// (v) the scheduler's lag at its pace and (w) a 24 h rule preview; then
// notify: (x) a breaching sample accepted → its webhook received and (y)
// the dispatcher's throughput to a local receiver; then live: (a) a sample
// accepted → its event on an open stream and (b) 1,000 streams on one
// pulse-api (live.go). Not in the default list, -modes generate times (g)
// `pulse generate --url` against a local `pulse serve` (samples accepted per
// second) and (h) how long until all of them are queryable (generate.go).
// Each run uses its own database, stream and broker and removes them
// afterwards.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

func main() {
	requests := flag.Int("requests", 1000, "requests of -samples samples each")
	samples := flag.Int("samples", 1000, "samples per request")
	clients := flag.Int("clients", 8, "concurrent HTTP clients")
	modes := flag.String("modes", "distributed,embedded,mqtt,rollups,alerts,notify,live", "which modes to run")
	queryRuns := flag.Int("query-runs", 50, "rollups mode: timed runs of each query")
	mqttMessages := flag.Int("mqtt-messages", 100000, "mqtt mode: messages published")
	mqttSamples := flag.Int("mqtt-samples", 10, "mqtt mode: samples per message")
	mqttPublishers := flag.Int("mqtt-publishers", 8, "mqtt mode: publishing paho clients")
	mqttWindow := flag.Int("mqtt-window", 500, "mqtt mode: QoS 1 publishes each client keeps in flight")
	mqttInflight := flag.String("mqtt-inflight", "", "mqtt mode: Mosquitto max_inflight_messages (empty = deploy/mosquitto/mosquitto.conf's)")
	alertRules := flag.Int("alert-rules", 10000, "alerts mode: rules, each over its own series")
	alertSteady := flag.Duration("alert-steady", 70*time.Second, "alerts mode: how long the scheduler runs at its pace")
	notifyBreaches := flag.Int("notify-breaches", 40, "notify mode: breaches timed to their webhook")
	notifyCount := flag.Int("notify-count", 5000, "notify mode: notifications queued at once for the throughput")
	notifyChannels := flag.Int("notify-channels", 10, "notify mode: webhook channels the throughput's notifications spread over")
	flag.Parse()
	mw := mqttWorkload{messages: *mqttMessages, samplesPerMessage: *mqttSamples, publishers: *mqttPublishers,
		window: *mqttWindow, inflight: *mqttInflight}
	w := workload{requests: *requests, samples: *samples, clients: *clients}
	ctx := context.Background()
	fmt.Printf("pulse-bench: %d requests × %d samples (%d samples), %d clients, GOMAXPROCS=%d\n",
		w.requests, w.samples, w.requests*w.samples, w.clients, maxProcs())
	for _, m := range splitComma(*modes) {
		var err error
		switch m {
		case "distributed":
			err = runDistributed(ctx, w)
		case "embedded":
			err = runEmbedded(ctx, w)
		case "mqtt":
			err = runMQTT(ctx, mw)
		case "agent":
			err = runAgent()
		case "rollups":
			err = runRollups(ctx, rollupWorkload{days: 30, series: 20, every: 10, runs: *queryRuns})
		case "alerts":
			err = runAlerts(ctx, alertWorkload{rules: *alertRules, every: 15, steady: *alertSteady, previewRuns: *queryRuns})
		case "notify":
			err = runNotify(ctx, notifyWorkload{breaches: *notifyBreaches, notifications: *notifyCount, channels: *notifyChannels})
		case "live":
			err = runLive(ctx)
		case "generate":
			err = runGenerate(ctx)
		default:
			err = fmt.Errorf("unknown mode %q", m)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "pulse-bench %s: %v\n", m, err)
			os.Exit(1)
		}
	}
}

func runDistributed(ctx context.Context, w workload) error {
	fmt.Println("\n== distributed: Redis Streams queue + MariaDB ==")
	dsn, dropDB, err := newMariaDB()
	if err != nil {
		return err
	}
	defer dropDB()
	stream := testservice.UniqueName("pulse-bench:")
	defer deleteRedisKeys(stream)
	env := map[string]string{
		"PULSE_DATABASE_URL": "mysql://" + mysqlURLFromDSN(dsn),
		"PULSE_REDIS_URL":    "redis://" + testservice.RedisAddr() + "/0",
		"PULSE_QUEUE_STREAM": stream,
		"PULSE_LIVE_STREAM":  stream + ":live",
	}
	res, err := measurePipeline(ctx, w, env, "")
	if err != nil {
		return err
	}
	res.print()
	ceiling, err := measureCeiling(ctx, w, res.loops)
	if err != nil {
		return err
	}
	fmt.Printf("(d) MariaDB ceiling, %d plain INSERT loop(s):      %10.0f samples/s\n", res.loops, ceiling)
	fmt.Printf("    ratio persisted/ceiling (b)/(d):               %10.2f\n", res.persisted/ceiling)
	return nil
}

func runEmbedded(ctx context.Context, w workload) error {
	fmt.Println("\n== embedded: SQLite queue + SQLite store ==")
	dir, err := os.MkdirTemp("", "pulse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	res, err := measurePipeline(ctx, w, map[string]string{"PULSE_DATA_DIR": dir}, dir)
	if err != nil {
		return err
	}
	res.print()
	return nil
}

type result struct {
	loops               int // flush loops (PULSE_WORKER_CONCURRENCY)
	accepted, persisted float64
	endToEnd            float64 // posting with the workers running, until all is committed
	acceptTook, persist time.Duration
}

func (r result) print() {
	fmt.Printf("(a) accepted, POST /api/metrics:                  %10.0f samples/s (%s)\n", r.accepted, r.acceptTook.Round(time.Millisecond))
	fmt.Printf("(b) persisted, workers draining into the store:  %10.0f samples/s (%s)\n", r.persisted, r.persist.Round(time.Millisecond))
	fmt.Printf("    end to end, API and workers at once:         %10.0f samples/s (POST to committed)\n", r.endToEnd)
}

func countRows(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM samples").Scan(&n)
	return n, err
}
