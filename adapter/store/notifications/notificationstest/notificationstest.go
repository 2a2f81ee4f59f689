// Package notificationstest is the contract suite of the notification
// dispatcher's storage (the notification use case's port Store), run on
// SQLite and on MariaDB by adapter/store/notifications. The alerting
// outbox it expands is written with plain SQL, as adapter/store/alerts
// would have committed it.
package notificationstest

import (
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/notifications"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// Run runs the contract cases; open gives each case a migrated, empty
// database.
func Run(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, f fx)
	}{
		{"ExpandOnce", testExpandOnce},
		{"PendingOutboxFair", testPendingFair},
		{"PendingOutboxLargeBacklog", testPendingBacklog},
		{"UnplannedFair", testUnplannedFair},
		{"CommitPlan", testCommitPlan},
		{"RepeatSchedule", testRepeats},
		{"SentSince", testSentSince},
		{"ClaimLeaseFinish", testClaimLeaseFinish},
		{"ClaimFairAcrossTenants", testClaimFair},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ListMessagesPages", testListMessages},
		{"MessagesTenantIsolation", testMessagesIsolation},
		{"Requeue", testRequeue},
		{"QueuedGroups", testQueuedGroups},
		{"Depth", testDepth},
		{"Silences", testSilences},
		{"SilencesTenantIsolation", testSilencesIsolation},
		{"PerMinute", testPerMinute},
		{"TenantRequired", testTenantRequired},
		{"MigrateDownAndUp", testMigrateDown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := open(t)
			c.fn(t, fx{s: notifications.New(tg.Store.DB), st: tg.Store, db: tg.DB})
		})
	}
}

// base is the suite's "now" in Unix ms.
var base = sqldbtest.Base.UnixMilli()

// fx is one case's database: the store under test, every other store, and
// a plain connection to write the outbox and count rows.
type fx struct {
	s  *notifications.Store
	st *sqldbtest.Stores
	db *sql.DB
}

// payload is a recognisable outbox payload.
func payload(tenant, rule int64, key string, n int) string {
	return fmt.Sprintf(`{"tenant_id":%d,"rule_id":%d,"instance":%q,"n":%d}`, tenant, rule, key, n)
}

// outbox writes unexpanded outbox rows of the tenant's rule, one per key,
// in multi-row statements, and answers them as PendingOutbox would.
func (f fx) outbox(t *testing.T, tenant, rule int64, kind string, at int64, keys ...string) []notification.OutboxItem {
	t.Helper()
	out := make([]notification.OutboxItem, 0, len(keys))
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		q := "INSERT INTO alert_outbox (tenant_id, rule_id, kind, instance_key, at, payload, created_at) VALUES "
		var args []any
		for i, k := range chunk {
			if i > 0 {
				q += ", "
			}
			q += "(?, ?, ?, ?, ?, ?, ?)"
			args = append(args, tenant, rule, kind, k, at, payload(tenant, rule, k, start+i), at)
		}
		if _, err := f.db.ExecContext(sqldbtest.Ctx(t), q, args...); err != nil {
			t.Fatalf("outbox: %v", err)
		}
	}
	rows, err := f.db.QueryContext(sqldbtest.Ctx(t), "SELECT id, instance_key, payload FROM alert_outbox WHERE tenant_id = ? AND rule_id = ? "+
		"AND delivered_at IS NULL ORDER BY id DESC LIMIT ?", tenant, rule, len(keys))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		o := notification.OutboxItem{TenantID: tenant, RuleID: rule, Kind: kind, At: at}
		var p string
		if err := rows.Scan(&o.ID, &o.InstanceKey, &p); err != nil {
			t.Fatal(err)
		}
		o.Payload = []byte(p)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(out)
	return out
}

// expand expands each outbox row to one delivery per channel in state.
func (f fx) expand(t *testing.T, now int64, state string, os []notification.OutboxItem, channels ...int64) {
	t.Helper()
	es := make([]notification.Expansion, len(os))
	for i, o := range os {
		es[i].Outbox = o
		for _, ch := range channels {
			es[i].Deliveries = append(es[i].Deliveries, notification.NewDelivery{ChannelID: ch, State: state})
		}
	}
	if err := f.s.Expand(sqldbtest.Ctx(t), now, es); err != nil {
		t.Fatalf("Expand: %v", err)
	}
}

// delivery is the id of the outbox row's delivery to channel.
func (f fx) delivery(t *testing.T, outboxID, channel int64) int64 {
	t.Helper()
	var id int64
	if err := f.db.QueryRowContext(sqldbtest.Ctx(t), "SELECT id FROM notification_deliveries WHERE outbox_id = ? AND channel_id = ? ORDER BY id LIMIT 1",
		outboxID, channel).Scan(&id); err != nil {
		t.Fatalf("delivery of outbox %d to channel %d: %v", outboxID, channel, err)
	}
	return id
}

// state is a delivery's state and message id (0 none).
func (f fx) state(t *testing.T, id int64) (string, int64) {
	t.Helper()
	var (
		st  string
		msg sql.NullInt64
	)
	if err := f.db.QueryRowContext(sqldbtest.Ctx(t), "SELECT state, message_id FROM notification_deliveries WHERE id = ?", id).Scan(&st, &msg); err != nil {
		t.Fatalf("delivery %d: %v", id, err)
	}
	return st, msg.Int64
}

// message plans one message of the tenant's channel carrying one new
// firing notification of rule, first attempt at notBefore, and answers
// its id and its one item.
func (f fx) message(t *testing.T, tenant, channel, rule, notBefore int64, key string) (int64, notification.Item) {
	t.Helper()
	o := f.outbox(t, tenant, rule, "firing", notBefore, key)[0]
	f.expand(t, base, notification.DeliveryWaiting, []notification.OutboxItem{o}, channel)
	d := f.delivery(t, o.ID, channel)
	err := f.s.Commit(sqldbtest.Ctx(t), notification.Plan{Now: base, Messages: []notification.NewMessage{{TenantID: tenant, ChannelID: channel,
		RuleID: rule, Kind: notification.MessageAlerts, Deliveries: []int64{d}, NotBefore: notBefore}}})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	_, msg := f.state(t, d)
	return msg, notification.Item{DeliveryID: d, OutboxID: o.ID, RuleID: rule, Kind: "firing", Payload: o.Payload}
}

// keys are n instance keys of a prefix.
func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s|host=h%04d", prefix, i)
	}
	return out
}

func outboxIDs(os []notification.OutboxItem) []int64 {
	out := make([]int64, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func deliveryIDs(ds []notification.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The migration's Down part undoes it (tables and the outbox index) and
// its Up part runs again.
func testMigrateDown(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "down")
	f.message(t, tn, 1, 1, base, "k")
	if err := f.st.MigrateDown(c, 13); err != nil {
		t.Fatalf("MigrateDown to 13: %v", err)
	}
	if _, err := f.db.ExecContext(c, "SELECT 1 FROM notification_messages"); err == nil {
		t.Errorf("notification_messages outlived its migration's Down")
	}
	if err := f.st.Migrate(c); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if d, err := f.s.Depth(c); err != nil || d != (notification.Depth{}) {
		t.Errorf("Depth after a fresh Up: %+v, %v", d, err)
	}
}
