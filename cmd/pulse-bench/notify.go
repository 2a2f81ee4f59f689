package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// notifyWorkload is the notification benchmark: breaches alerts one at a
// time for the latency, then notifications queued at once for the
// dispatcher's throughput.
type notifyWorkload struct {
	breaches      int // (x)
	notifications int // (y)
	channels      int // (y): the notifications spread over this many channels
}

// receiver is the webhook endpoint: when each alert arrived, by alertname
// and status.
type receiver struct {
	mu       sync.Mutex
	got      map[string]time.Time // "name/status" → first arrival
	messages int
	alerts   int
	changed  chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	now := time.Now()
	rc.mu.Lock()
	rc.messages++
	for _, a := range body.Alerts {
		rc.alerts++
		k := a.Labels["alertname"] + "/" + a.Status
		if _, ok := rc.got[k]; !ok {
			rc.got[k] = now
		}
	}
	rc.mu.Unlock()
	select {
	case rc.changed <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) arrival(key string) (time.Time, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t, ok := rc.got[key]
	return t, ok
}

func (rc *receiver) counts() (messages, alerts int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.messages, rc.alerts
}

// runNotify measures on MariaDB + Redis, with every role in one process
// and a webhook receiver on 127.0.0.1: (x) a breaching sample accepted by
// POST /api/metrics → its firing notification received, at a 1 s cadence
// and group_wait 0, p50/p95/max; (y) the dispatcher's throughput: that
// many firing notifications queued at once (outbox rows), spread over
// channels whose budget allows them, until the receiver has every one.
func runNotify(ctx context.Context, w notifyWorkload) error {
	fmt.Printf("\n== notify: MariaDB + Redis, webhook receiver on 127.0.0.1 ==\n")
	dsn, dropDB, err := newMariaDB()
	if err != nil {
		return err
	}
	defer dropDB()
	stream := testservice.UniqueName("pulse-bench:")
	defer deleteRedisKeys(stream)
	rc := &receiver{got: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rsrv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rsrv.Serve(rln) }()
	defer rsrv.Close()
	cfg, err := loadConfig(map[string]string{
		"PULSE_DATABASE_URL": "mysql://" + mysqlURLFromDSN(dsn), "PULSE_DATA_DIR": mustTempDir(),
		"PULSE_REDIS_URL": "redis://" + testservice.RedisAddr() + "/0", "PULSE_QUEUE_STREAM": stream,
		"PULSE_LIVE_STREAM":       stream + ":live",
		"PULSE_ALERT_MIN_CADENCE": "1s", "PULSE_NOTIFY_ALLOW_HOSTS": rln.Addr().String(),
	})
	if err != nil {
		return err
	}
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "bench")
	if err != nil {
		return err
	}
	defer cleanup()
	ten, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "bench", "Bench", 30)
	if err != nil {
		return err
	}
	issued, err := p.Tenancy.CreateToken(ctx, audit.CLI(), "bench", token.Spec{Name: "bench", Scopes: []token.Scope{token.ScopeIngest}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = (&app.App{Name: "bench-api", Handler: p.Handler, Log: p.Log, ShutdownTimeout: 5 * time.Second}).Serve(runCtx, ln)
	}()
	for _, l := range p.Workers {
		go func() { _ = l.Run(runCtx) }()
	}
	go func() { _ = p.Notify.RunPlanner(runCtx, cfg.Notify.Tick) }()
	go func() { _ = p.Notify.RunSenders(runCtx, cfg.Notify.Tick) }()

	nactor := notification.Actor{TenantID: ten.ID, Admin: true, Name: "bench"}
	url := "http://" + rln.Addr().String() + "/hook"
	var chans []int64
	for i := range max(w.channels, 1) {
		c := notify.Defaults()
		c.Name, c.Kind, c.Webhook, c.GroupWait = fmt.Sprintf("bench %d", i), notify.KindWebhook, &notify.WebhookSettings{URL: url}, 0
		v, _, err := p.Notify.CreateChannel(ctx, nactor, notification.ChannelInput{Channel: c})
		if err != nil {
			return err
		}
		chans = append(chans, v.ID)
	}
	if err := p.Notify.SetPerMinute(ctx, nactor, notification.MaxPerMinute); err != nil {
		return err
	}

	// (x) breach → webhook, one rule at a time.
	actor := alerting.Actor{TenantID: ten.ID, Admin: true}
	for i := range w.breaches {
		r := alert.Rule{Name: fmt.Sprintf("breach %03d", i), Metric: "bench.breach", Agg: alert.AggMax, Window: 10 * time.Second,
			Op: alert.GT, Threshold: 0.5, Cadence: time.Second, Channels: []int64{chans[0]}, NoData: alert.NoDataOK,
			Matchers: alert.Matchers{{Tag: "host", Op: alert.MatchEqual, Value: fmt.Sprintf("b%03d", i)}}}
		if _, err := p.Alerts.Create(ctx, actor, r); err != nil {
			return err
		}
	}
	go func() { _ = p.Alerts.Scheduler(nil)(runCtx, cfg.AlertTick) }()
	api := "http://" + ln.Addr().String() + "/api/metrics"
	var lat []time.Duration
	for i := range w.breaches {
		body := fmt.Sprintf(`{"name":"bench.breach","value":1,"tags":{"host":"b%03d"}}`, i)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, api, strings.NewReader(body))
		req.Header.Set("X-API-Token", issued.Plain)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		accepted := time.Now()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST /api/metrics answered %d", resp.StatusCode)
		}
		key := fmt.Sprintf("breach %03d/firing", i)
		at, err := waitArrival(ctx, rc, key, accepted.Add(30*time.Second))
		if err != nil {
			return err
		}
		lat = append(lat, at.Sub(accepted))
	}
	slices.Sort(lat)
	fmt.Printf("(x) breach accepted → webhook received, 1 s cadence, group_wait 0: p50 %s  p95 %s  max %s  (%d breaches; target p95 ≤ 3 s)\n",
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*95/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat))

	// (y) throughput: notifications queued at once.
	m0, a0 := rc.counts()
	stopProfile := startProfile(*persistProfile) // -persist-cpuprofile: the throughput run here
	defer stopProfile()
	began := time.Now()
	if err := queueOutbox(ctx, p, ten.ID, chans, w.notifications); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, a := rc.counts()
		if a-a0 >= w.notifications {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("(y) only %d of %d notifications arrived within 5 minutes", a-a0, w.notifications)
		}
		select {
		case <-rc.changed:
		case <-time.After(50 * time.Millisecond):
		}
	}
	took := time.Since(began)
	m, a := rc.counts()
	fmt.Printf("(y) dispatcher throughput, %d notifications over %d channels: %10.0f notifications/s (%s; %d messages; target ≥ 500/s)\n",
		a-a0, len(chans), float64(a-a0)/took.Seconds(), took.Round(time.Millisecond), m-m0)
	return nil
}

func waitArrival(ctx context.Context, rc *receiver, key string, deadline time.Time) (time.Time, error) {
	for {
		if at, ok := rc.arrival(key); ok {
			return at, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s never arrived", key)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-rc.changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// queueOutbox writes n firing notifications of n distinct rules straight
// into the outbox, as the alerting use case would, round-robin over chans.
func queueOutbox(ctx context.Context, p *wiring.Pipeline, tenantID int64, chans []int64, n int) error {
	now := time.Now()
	const batch = 500
	for start := 0; start < n; start += batch {
		var q bytes.Buffer
		q.WriteString("INSERT INTO alert_outbox (tenant_id, rule_id, kind, instance_key, at, payload, created_at) VALUES ")
		var args []any
		for i := start; i < min(start+batch, n); i++ {
			rule := int64(1_000_000 + i)
			v := 0.97
			payload, err := json.Marshal(alerting.Notification{RuleID: rule, TenantID: tenantID, Rule: fmt.Sprintf("flood %05d", i),
				Kind: alert.NotifyFiring, State: alert.Firing, Severity: alert.SeverityWarning, Instance: "",
				Labels: map[string]string{"alertname": fmt.Sprintf("flood %05d", i)}, Value: &v, Threshold: 0.9,
				At: now.UTC().Format(time.RFC3339Nano), Channels: []int64{chans[i%len(chans)]}})
			if err != nil {
				return err
			}
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, 'firing', '', ?, ?, ?)")
			args = append(args, tenantID, rule, now.UnixMilli(), string(payload), now.UnixMilli())
		}
		if _, err := p.DB.Write.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
