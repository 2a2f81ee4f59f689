package figures

// kind is how a rule reads its source series.
type kind int

const (
	gauge    kind = iota // the value as it is, summed over the labels not kept
	rate                 // a counter's increase per second over the interval
	quantile             // a histogram's quantile over the interval's observations
	age                  // seconds since a Unix-seconds timestamp (the latest one)
)

// rule makes one figure from one or more Prometheus families.
type rule struct {
	name  string   // the figure's name, pulse.*
	from  []string // source families (gauges: summed)
	kind  kind
	q     float64           // quantile's q
	keep  []string          // source labels kept as tags; the others are merged away
	where map[string]string // only the series with these labels
}

// rules are every figure Pulse records about itself. A family this
// process does not expose (a worker has no MQTT door, nobody registers
// pulse_live_streams yet) is simply skipped.
var rules = []rule{
	// The doors (infrastructure/telemetry Ingest): time to durable, per door;
	// samples accepted and refused per door and tenant, per second.
	{name: "pulse.ingest.latency.p50", from: []string{"pulse_ingest_accept_duration_seconds"}, kind: quantile, q: 0.5, keep: []string{"door"}},
	{name: "pulse.ingest.latency.p99", from: []string{"pulse_ingest_accept_duration_seconds"}, kind: quantile, q: 0.99, keep: []string{"door"}},
	{name: "pulse.ingest.accepted", from: []string{"pulse_ingest_accepted_samples_total"}, kind: rate, keep: []string{"door", "tenant"}},
	{name: "pulse.ingest.refused", from: []string{"pulse_ingest_refused_samples_total"}, kind: rate, keep: []string{"door", "tenant", "reason"}},
	// The queue, as every process that enqueues or drains sees it.
	{name: "pulse.queue.depth", from: []string{"pulse_queue_waiting", "pulse_queue_pending"}, kind: gauge},
	{name: "pulse.queue.oldest_age_seconds", from: []string{"pulse_queue_oldest_age_seconds"}, kind: gauge},
	{name: "pulse.queue.dead_letters", from: []string{"pulse_queue_dead_letters"}, kind: gauge},
	// The workers: one store write, and acceptance to acknowledgement.
	{name: "pulse.flush.latency.p99", from: []string{"pulse_flush_duration_seconds"}, kind: quantile, q: 0.99},
	{name: "pulse.flush.lag_seconds", from: []string{"pulse_flush_lag_seconds"}, kind: quantile, q: 0.99},
	// The scheduler.
	{name: "pulse.rollup.pending", from: []string{"pulse_rollup_pending"}, kind: gauge},
	{name: "pulse.retention.last_run_age_seconds", from: []string{"pulse_scheduled_job_last_success_timestamp_seconds"}, kind: age,
		where: map[string]string{"job": "retention"}},
	{name: "pulse.alert.eval.latency.p99", from: []string{"pulse_alert_eval_duration_seconds"}, kind: quantile, q: 0.99},
	{name: "pulse.alert.eval.lag_seconds", from: []string{"pulse_alert_eval_lag_seconds"}, kind: quantile, q: 0.99},
	// Live streams (SSE) open on this process, whatever their labels.
	{name: "pulse.live.streams", from: []string{"pulse_live_streams"}, kind: gauge},
	// The notification dispatcher's backlog by stage (outbox, deliveries, messages).
	{name: "pulse.notify.backlog", from: []string{"pulse_notification_queue_depth"}, kind: gauge, keep: []string{"stage"}},
}

// Names lists the figures' names, in rule order (each once).
func Names() []string {
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		out = append(out, r.name)
	}
	return out
}
