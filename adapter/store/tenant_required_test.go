package store_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// The rule these tests enforce (docs/architecture.md, Guarantees: tenant isolation):
//
//  1. Every exported method of *sqldbtest.Stores is classified: either it
//     reads or writes one tenant's data and has a row in tenantCalls, or it
//     is listed in notTenantScoped with the reason it needs no tenant. A new
//     method in neither list fails TestTenantRequiredCoversEveryMethod, so
//     whoever adds one has to decide, in this file, which kind it is.
//  2. A method that takes samples, batches or a query (metric.Sample,
//     metric.Batch, metric.Query, or slices of them) carries tenant data by
//     construction and may not be exempted.
//  3. Every row of tenantCalls, called with no tenant (0 or below), answers
//     sqldb.ErrTenantRequired — on SQLite and on MariaDB, and on a closed
//     store too, which proves the refusal comes before any SQL is built or
//     sent (a closed pool would otherwise answer "sql: database is
//     closed"). Called with a real tenant it succeeds, so the guard is not
//     refusing everything.

// tenantCall calls one tenant-scoped method of the store for tenantID. The
// fixture holds what a successful call with the real tenant needs.
type tenantCall struct {
	method string
	call   func(ctx context.Context, s *sqldbtest.Stores, f fixture, tenantID int64) error
}

// fixture is what exists in the database before the calls run.
type fixture struct {
	tenantID    int64  // a real tenant
	tokenID     string // a token of that tenant
	dashboardID int64  // a dashboard of that tenant
	widgetID    int64  // a widget of that dashboard
	ruleID      int64  // an alert rule of that tenant
	channelID   int64  // a notification channel of that tenant
	exportID    int64  // an export of that tenant
}

func reqRule(tenantID, id int64) alert.Rule {
	return alert.Rule{ID: id, TenantID: tenantID, Name: "req", Metric: "req.metric", Agg: alert.AggAvg, Op: alert.GT,
		Window: time.Minute, Cadence: time.Minute, NoData: alert.NoDataState, Severity: alert.SeverityWarning}
}

func reqChannel(tenantID, id int64, name string) notify.Channel {
	return notify.Channel{ID: id, TenantID: tenantID, Name: name, Kind: notify.KindSlack, Slack: &notify.SlackSettings{},
		SendResolved: true, GroupWait: 10 * time.Second, RepeatInterval: 4 * time.Hour}
}

func reqExport(tenantID int64) export.Export {
	return export.Export{TenantID: tenantID, Status: export.StatusQueued, CreatedAt: reqTime.UnixMilli(),
		Request: export.Request{Name: "req.metric", Start: 0, End: reqTime.UnixMilli(), Interval: "raw", Agg: "avg"}}
}

func reqWidget(id int64) dashboard.Widget {
	return dashboard.Widget{ID: id, Title: "req", Metric: "req.metric", Agg: dashboard.AggAvg, Chart: dashboard.ChartLine}
}

var reqTime = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func reqSample(name string) metric.Sample {
	return metric.Rehydrate(name, 1, metric.SortedTags(map[string]string{"host": "a"}), reqTime.UnixMilli(), "")
}

func reqBatch(tenantID int64, name string) metric.Batch {
	return metric.Batch{ID: "req-batch", TenantID: tenantID, AcceptedAt: reqTime, Samples: []metric.Sample{reqSample(name)}}
}

func tenantCalls() []tenantCall {
	rec := ingest.IdempotencyRecord{Fingerprint: [32]byte{1}, RequestID: "req-1", Accepted: 1}
	return []tenantCall{
		{"WriteBatches", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.WriteBatches(ctx, []metric.Batch{reqBatch(id, "req.write")})
			return err
		}},
		{"ReadRaw", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.ReadRaw(ctx, metric.Query{TenantID: id, Name: "req.write", Start: 0, End: reqTime.UnixMilli() + 1, Interval: "raw"})
			return err
		}},
		{"MetricNames", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, _, err := s.MetricNames(ctx, id, "req.", 10, 5)
			return err
		}},
		{"ReadRollups", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.ReadRollups(ctx, metric.Query{TenantID: id, Name: "req.write", Start: 0, End: reqTime.UnixMilli() + 1}, 60_000)
			return err
		}},
		{"ReadRollupsAs", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.ReadRollupsAs(ctx, metric.Query{TenantID: id, Name: "req.write", Start: 0, End: reqTime.UnixMilli() + 1}, 300_000, 3_600_000)
			return err
		}},
		{"SeriesTags", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.SeriesTags(ctx, metric.Query{TenantID: id, Name: "req.write"})
			return err
		}},
		{"RollupCoverage", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, _, err := s.RollupCoverage(ctx, metric.Query{TenantID: id, Name: "req.write", Start: 0, End: reqTime.UnixMilli() + 1}, 60_000)
			return err
		}},
		{"Admit", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.Admit(ctx, id, []metric.Sample{reqSample("req.admit")}, 100)
			return err
		}},
		{"Reserve", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, _, err := s.Reserve(ctx, id, "req-key", rec, time.Minute)
			return err
		}},
		{"Release", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			return s.Release(ctx, id, "req-key")
		}},
		{"Complete", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			return s.Complete(ctx, id, "req-key", rec, time.Minute)
		}},
		{"ListTokens", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.ListTokens(ctx, id, "", 10)
			return err
		}},
		{"ListAudit", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.ListAudit(ctx, id, 10)
			return err
		}},
		{"RevokeTenantToken", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.RevokeTenantToken(ctx, id, f.tokenID, reqTime)
		}},
		{"DeleteSamplesBefore", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.DeleteSamplesBefore(ctx, id, 0, 10)
			return err
		}},
		{"DeleteRollupsBefore", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.DeleteRollupsBefore(ctx, id, 60_000, 0, 10)
			return err
		}},
		{"CreateDashboard", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.CreateDashboard(ctx, id, "req", reqTime)
			return err
		}},
		{"ListDashboards", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, _, err := s.ListDashboards(ctx, id, 0, 20)
			return err
		}},
		{"DashboardByID", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.DashboardByID(ctx, id, f.dashboardID)
			return err
		}},
		{"RenameDashboard", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.RenameDashboard(ctx, id, f.dashboardID, "req renamed", reqTime)
		}},
		{"AddWidget", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.AddWidget(ctx, id, f.dashboardID, reqWidget(0), reqTime)
			return err
		}},
		{"UpdateWidget", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.UpdateWidget(ctx, id, f.dashboardID, reqWidget(f.widgetID), reqTime)
		}},
		{"CreateRule", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.CreateRule(ctx, reqRule(id, 0), 0, reqTime.UnixMilli())
			return err
		}},
		{"UpdateRule", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.UpdateRule(ctx, reqRule(id, f.ruleID), reqTime.UnixMilli(), reqTime.UnixMilli())
		}},
		{"GetRule", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.GetRule(ctx, id, f.ruleID)
			return err
		}},
		{"ListRules", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.ListRules(ctx, id, 1, 20)
			return err
		}},
		{"SetPaused", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.SetPaused(ctx, id, f.ruleID, false, reqTime.UnixMilli(), reqTime.UnixMilli())
		}},
		{"Reschedule", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.Reschedule(ctx, id, f.ruleID, reqTime.UnixMilli())
		}},
		{"Instances", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.Instances(ctx, id, f.ruleID)
			return err
		}},
		{"Commit", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.Commit(ctx, alerting.Commit{TenantID: id, RuleID: f.ruleID, DueAt: reqTime.UnixMilli(), At: reqTime.UnixMilli(),
				NextEvalAt: reqTime.UnixMilli() + 60_000, RuleState: alert.Normal,
				Instances: []alert.Instance{{Key: "req", State: alert.Normal, Since: reqTime.UnixMilli(), LastEval: reqTime.UnixMilli()}}})
			return err
		}},
		{"InstancesOf", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.InstancesOf(ctx, id, []int64{f.ruleID})
			return err
		}},
		{"CommitAll", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.CommitAll(ctx, []alerting.Commit{{TenantID: id, RuleID: f.ruleID, DueAt: reqTime.UnixMilli(), At: reqTime.UnixMilli(),
				NextEvalAt: reqTime.UnixMilli() + 60_000, RuleState: alert.Normal}})
			return err
		}},
		{"ListInstances", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, _, err := s.ListInstances(ctx, id, alerting.InstanceFilter{})
			return err
		}},
		{"Transitions", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, _, err := s.Transitions(ctx, id, f.ruleID, 0, 10)
			return err
		}},
		{"Episodes", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, _, err := s.Episodes(ctx, id, f.ruleID, 0, 10)
			return err
		}},
		{"Outbox", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.Outbox(ctx, id, 0, 10)
			return err
		}},
		{"CreateChannel", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.CreateChannel(ctx, reqChannel(id, 0, "req created"), "v1:sealed", reqTime.UnixMilli())
			return err
		}},
		{"UpdateChannel", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.UpdateChannel(ctx, reqChannel(id, f.channelID, "req channel"), "", reqTime.UnixMilli())
		}},
		{"GetChannel", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, _, err := s.GetChannel(ctx, id, f.channelID)
			return err
		}},
		{"ListChannels", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.ListChannels(ctx, id)
			return err
		}},
		{"ChannelsByID", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.ChannelsByID(ctx, id, []int64{f.channelID})
			return err
		}},
		{"CreateExport", func(ctx context.Context, s *sqldbtest.Stores, _ fixture, id int64) error {
			_, err := s.CreateExport(ctx, reqExport(id))
			return err
		}},
		{"GetExport", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, err := s.GetExport(ctx, id, f.exportID)
			return err
		}},
		{"ReadChunk", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			_, _, err := s.ReadChunk(ctx, id, f.exportID, 0)
			return err
		}},
		// Deletions last: the rows above need the dashboard, widget, rule and channel.
		{"DeleteChannel", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.DeleteChannel(ctx, id, f.channelID)
		}},
		{"DeleteRule", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.DeleteRule(ctx, id, f.ruleID)
		}},
		{"DeleteWidget", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.DeleteWidget(ctx, id, f.dashboardID, f.widgetID, reqTime)
		}},
		{"DeleteDashboard", func(ctx context.Context, s *sqldbtest.Stores, f fixture, id int64) error {
			return s.DeleteDashboard(ctx, id, f.dashboardID)
		}},
	}
}

// notTenantScoped are the exported methods that deliberately take no
// tenant, and why.
var notTenantScoped = map[string]string{
	"Close":                  "lifecycle",
	"Migrate":                "lifecycle",
	"MigrateDown":            "lifecycle",
	"Ping":                   "lifecycle",
	"Name":                   "configuration",
	"Now":                    "configuration: the stores' clock",
	"Retry":                  "a helper of the stores: runs a given transaction again",
	"InReadCommittedTx":      "a helper of the stores: runs a given transaction",
	"PurgeChunked":           "a helper of the stores: deletes expired rows of a table, every tenant's",
	"SetClock":               "configuration",
	"SetDedupeWindow":        "configuration",
	"SetSampleRowsPerInsert": "configuration",
	"PurgeExpired":           "maintenance over every tenant's expired keys; returns a count only",
	"PurgeDedupe":            "maintenance over every tenant's expired dedupe ids; returns a count only",
	"Purge":                  "maintenance over every tenant's expired idempotency keys; returns a count only",
	"PurgeAccounts":          "maintenance: ended sessions and old login failures of every user; returns a count only",
	"RollupPending":          "maintenance: recomputes the buckets the pending list names, for every tenant; returns counts only",
	"PendingRollups":         "maintenance: the size of the rollup backlog over every tenant; returns a count only",
	"AcquireLease":           "job coordination between scheduler replicas, not tenant data",
	"ReleaseLease":           "job coordination between scheduler replicas, not tenant data",
	"CreateTenant":           "platform: tenants themselves",
	"TenantByID":             "platform: tenants themselves",
	"TenantBySlug":           "platform: tenants themselves",
	"ListTenants":            "platform: tenants themselves",
	"ListTenantsAfter":       "platform: tenants themselves",
	"UpdateTenant":           "platform: tenants themselves",
	"CreateToken":            "the token carries its tenant (0 = a platform token, issued by the CLI only)",
	"TokenByID":              "authentication: the token id is global and is looked up before the tenant is known",
	"TouchToken":             "authentication: last-used time of a token already authenticated",
	"RevokeToken":            "the CLI revokes any token for the platform by its global id",
	"ListPlatformTokens":     "platform: the tokens bound to no tenant",
	"RevokePlatformToken":    "platform: the tokens bound to no tenant",
	"RecordAudit":            "the entry carries its tenant (0 = the platform's own trail)",
	"ListPlatformAudit":      "platform: the trail of actions bound to no tenant",
	"Partitioned":            "configuration",
	"EnsurePartitions":       "maintenance: daily partitions of every tenant's samples (MariaDB)",
	"DropPartitionsBefore":   "maintenance: drops whole days past the longest retention of all tenants; returns names only",
	"CreateUser":             "the user carries its tenant (none for a super-admin); created by the CLI",
	"UserByEmail":            "authentication: the email is global and is looked up before the tenant is known",
	"UserByID":               "authentication: the user of a session, looked up before the tenant is known",
	"CreateSession":          "authentication: a login session belongs to a user, not to tenant data",
	"SessionByHash":          "authentication: the session is looked up before the tenant is known",
	"TouchSession":           "authentication: last-seen time of a session already authenticated",
	"DeleteSession":          "authentication: logout",
	"ReserveLoginAttempt":    "authentication: login throttling by a hash of email and client address",
	"ReleaseLoginAttempt":    "authentication: login throttling by a hash of email and client address",
	"ClearLoginFailures":     "authentication: login throttling by a hash of email and client address",
	"ClaimDue":               "the scheduler's cross-tenant claim; each claimed rule carries its tenant",
	"RuleForEval":            "an operator's on-demand evaluation of a rule by its global id; the rule carries its tenant",
	"FiringByTenant":         "the scheduler's cross-tenant gauge of firing alerts; returns counts per tenant only",
	"ExportForLink":          "a download by its signed link, which names the export's tenant: the use case checks it before answering anything",
	"ClaimExport":            "the workers' cross-tenant claim; the claimed export carries its tenant",
	"AppendChunk":            "a job's write under its claim: the export id and the claim's holder name it",
	"SaveProgress":           "a job's write under its claim: the export id and the claim's holder name it",
	"FinishExport":           "a job's write under its claim: the export id and the claim's holder name it",
	"ReleaseExport":          "a job's write under its claim: the export id and the claim's holder name it",
	"PurgeExports":           "maintenance: every tenant's exports past the TTL; returns counts only",
}

// tenantDataTypes may not appear in the parameters of an exempted method.
var tenantDataTypes = []reflect.Type{
	reflect.TypeOf(metric.Sample{}), reflect.TypeOf([]metric.Sample{}),
	reflect.TypeOf(metric.Batch{}), reflect.TypeOf([]metric.Batch{}),
	reflect.TypeOf(metric.Query{}),
}

func TestTenantRequiredCoversEveryMethod(t *testing.T) {
	inTable := map[string]bool{}
	for _, c := range tenantCalls() {
		inTable[c.method] = true
	}
	typ := reflect.TypeOf((*sqldbtest.Stores)(nil))
	exists := map[string]bool{}
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		exists[m.Name] = true
		_, exempt := notTenantScoped[m.Name]
		switch {
		case inTable[m.Name] && exempt:
			t.Errorf("%s is both in tenantCalls and in notTenantScoped: pick one", m.Name)
		case !inTable[m.Name] && !exempt:
			t.Errorf("(*Store).%s is not classified: if it reads or writes a tenant's data, make it refuse tenant 0 "+
				"with sqldb.ErrTenantRequired and add a row to tenantCalls; otherwise add it to notTenantScoped with the reason", m.Name)
		case exempt:
			for j := 1; j < m.Type.NumIn(); j++ { // 0 is the receiver
				for _, bad := range tenantDataTypes {
					if m.Type.In(j) == bad {
						t.Errorf("(*Store).%s takes %s (tenant data) and cannot be exempt: add it to tenantCalls", m.Name, bad)
					}
				}
			}
		}
	}
	for name := range inTable {
		if !exists[name] {
			t.Errorf("tenantCalls names %s, which is not a method of *Store", name)
		}
	}
	for name := range notTenantScoped {
		if !exists[name] {
			t.Errorf("notTenantScoped names %s, which is not a method of *Store", name)
		}
	}
}

func TestTenantRequiredSQLite(t *testing.T) {
	testTenantRequired(t, sqldbtest.SQLite)
}

func TestTenantRequiredMariaDB(t *testing.T) {
	testTenantRequired(t, sqldbtest.MariaDB)
}

func testTenantRequired(t *testing.T, open func(testing.TB) sqldbtest.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tg := open(t)
	f := seedFixture(t, ctx, tg.Store)

	t.Run("no tenant", func(t *testing.T) {
		for _, c := range tenantCalls() {
			for _, id := range []int64{0, -1} {
				if err := c.call(ctx, tg.Store, f, id); !errors.Is(err, sqldb.ErrTenantRequired) {
					t.Errorf("%s with tenant %d: %v, want sqldb.ErrTenantRequired", c.method, id, err)
				}
			}
		}
		for _, table := range []string{"series", "sample_dedupe", "idempotency_keys", "alert_rules", "alert_instances", "alert_transitions", "notification_channels", "exports"} {
			if n := countWhere(t, ctx, tg.DB, table, "tenant_id <= 0"); n != 0 {
				t.Errorf("%s has %d rows without a tenant", table, n)
			}
		}
		if tok, err := tg.Store.TokenByID(ctx, f.tokenID); err != nil || tok.RevokedAt != nil {
			t.Errorf("the tenant's token after the refused calls: %+v, %v (want it unrevoked)", tok, err)
		}
	})

	t.Run("one batch without a tenant refuses the whole write", func(t *testing.T) {
		before := countWhere(t, ctx, tg.DB, "series", "1 = 1")
		_, err := tg.Store.WriteBatches(ctx, []metric.Batch{reqBatch(f.tenantID, "req.mixed"), reqBatch(0, "req.mixed")})
		if !errors.Is(err, sqldb.ErrTenantRequired) {
			t.Fatalf("WriteBatches(tenant %d, tenant 0): %v, want sqldb.ErrTenantRequired", f.tenantID, err)
		}
		if after := countWhere(t, ctx, tg.DB, "series", "1 = 1"); after != before {
			t.Errorf("series %d -> %d: a refused write stored something", before, after)
		}
	})

	t.Run("real tenant", func(t *testing.T) { // the guard refuses only what it should
		for _, c := range tenantCalls() {
			if err := c.call(ctx, tg.Store, f, f.tenantID); err != nil {
				t.Errorf("%s with tenant %d: %v", c.method, f.tenantID, err)
			}
		}
	})

	t.Run("closed store", func(t *testing.T) { // refused before any SQL
		closed := open(t).Store
		if err := closed.Close(); err != nil {
			t.Fatal(err)
		}
		for _, c := range tenantCalls() {
			if err := c.call(ctx, closed, f, 0); !errors.Is(err, sqldb.ErrTenantRequired) {
				t.Errorf("%s with tenant 0 on a closed store: %v, want sqldb.ErrTenantRequired before any SQL", c.method, err)
			}
		}
	})
}

func seedFixture(t *testing.T, ctx context.Context, s *sqldbtest.Stores) fixture {
	t.Helper()
	tn, err := tenant.New("req-tenant", "", 0, reqTime)
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.CreateTenant(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	tok := token.Token{ID: "reqtoken01", TenantID: created.ID, Name: "req", Scopes: []token.Scope{token.ScopeRead}, CreatedAt: reqTime}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateDashboard(ctx, created.ID, "req dashboard", reqTime)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.AddWidget(ctx, created.ID, d.ID, reqWidget(0), reqTime)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRule(ctx, reqRule(created.ID, 0), 0, reqTime.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.CreateChannel(ctx, reqChannel(created.ID, 0, "req channel"), "v1:sealed", reqTime.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.CreateExport(ctx, reqExport(created.ID))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{tenantID: created.ID, tokenID: tok.ID, dashboardID: d.ID, widgetID: w.ID, ruleID: r.ID, channelID: ch.ID, exportID: ex.ID}
}

func countWhere(t *testing.T, ctx context.Context, db *sql.DB, table, where string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE "+where).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
