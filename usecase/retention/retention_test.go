package retention_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/retention"
)

var now = time.Date(2026, 11, 25, 21, 30, 0, 0, time.UTC)

const day = 24 * time.Hour

func ms(d time.Duration) int64 { return now.Add(-d).UnixMilli() }

// rawMS is the raw cutoff: floored to the UTC day like the partitions.
func rawMS(d time.Duration) int64 { return now.Add(-d).Truncate(24 * time.Hour).UnixMilli() }

var (
	acme    = tenant.Tenant{ID: 1, Slug: "acme", RetentionDays: 10}
	globex  = tenant.Tenant{ID: 2, Slug: "globex", RetentionDays: 40}
	initech = tenant.Tenant{ID: 3, Slug: "initech", RetentionDays: 40, Disabled: true}
	hooli   = tenant.Tenant{ID: 4, Slug: "hooli", RetentionDays: 500}
)

const (
	m1 = int64(60_000)
	m5 = int64(300_000)
)

type logLines struct{ buf bytes.Buffer }

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(&l.buf, nil)) }

// lines returns the decoded log records with the message msg.
func (l *logLines) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func newService(t *testing.T, opts retention.Options) (*retention.Service, *MockStore, *logLines) {
	t.Helper()
	st := NewMockStore(gomock.NewController(t))
	logs := &logLines{}
	svc, err := retention.New(st, opts, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, logs
}

func TestRunPartitioned(t *testing.T) {
	svc, st, logs := newService(t, retention.Options{})
	ctx := context.Background()
	st.EXPECT().Partitioned().Return(true)
	gomock.InOrder(
		st.EXPECT().EnsurePartitions(ctx, now, 3).Return([]string{"p20261129"}, nil),
		st.EXPECT().ListTenants(ctx).Return([]tenant.Tenant{acme, globex, initech}, nil),
		// Whole days past the longest retention (40 days) go with their partitions.
		st.EXPECT().DropPartitionsBefore(ctx, now.Add(-40*day)).Return([]string{"p20261014", "p20261015"}, nil),
	)
	// Only the tenant with a shorter retention is deleted row by row.
	st.EXPECT().DeleteSamplesBefore(ctx, acme.ID, rawMS(10*day), 10000).Return(int64(7), nil)
	// Rollups: max(tenant retention, the step's days) for every tenant.
	for _, tn := range []tenant.Tenant{acme, globex, initech} {
		st.EXPECT().DeleteRollupsBefore(ctx, tn.ID, m1, ms(90*day), 10000).Return(int64(tn.ID), nil)
		st.EXPECT().DeleteRollupsBefore(ctx, tn.ID, m5, ms(400*day), 10000).Return(int64(10*tn.ID), nil)
	}
	rep, err := svc.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.PartitionsCreated, ",") != "p20261129" || strings.Join(rep.PartitionsDropped, ",") != "p20261014,p20261015" {
		t.Errorf("partitions created %v dropped %v", rep.PartitionsCreated, rep.PartitionsDropped)
	}
	if !rep.PartitionCutoff.Equal(now.Add(-40*day)) || rep.RawDeleted != 7 || rep.RollupsDeleted != 1+2+3+10+20+30 {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Tenants) != 3 {
		t.Fatalf("tenants in report: %+v", rep.Tenants)
	}
	a, g := rep.Tenants[0], rep.Tenants[1]
	if a.Slug != "acme" || a.ByPartitions || a.RawDeleted != 7 || !a.RawCutoff.Equal(now.Add(-10*day).Truncate(24*time.Hour)) {
		t.Errorf("acme = %+v", a)
	}
	if g.Slug != "globex" || !g.ByPartitions || g.RawDeleted != 0 || len(g.Rollups) != 2 ||
		g.Rollups[0].Step != time.Minute || g.Rollups[0].Days != 90 || g.Rollups[0].Deleted != 2 ||
		g.Rollups[1].Step != 5*time.Minute || g.Rollups[1].Days != 400 || g.Rollups[1].Deleted != 20 {
		t.Errorf("globex = %+v", g)
	}
	if n := len(logs.lines(t, "retention tenant")); n != 3 {
		t.Errorf("%d tenant log lines, want 3", n)
	}
	steps := logs.lines(t, "retention rollups")
	if len(steps) != 6 || steps[0]["tenant"] != "acme" || steps[0]["step"] != "1m0s" || steps[0]["deleted"] != 1.0 || steps[0]["keep_days"] != 90.0 {
		t.Errorf("rollup log lines: %v", steps)
	}
	sum := logs.lines(t, "retention done")
	if len(sum) != 1 || sum[0]["raw_deleted"] != 7.0 || sum[0]["partitions_dropped"] != 2.0 || sum[0]["partitions_created"] != 1.0 || sum[0]["rollups_deleted"] != 66.0 {
		t.Errorf("summary: %v", sum)
	}
}

func TestRunWithoutPartitionsDeletesEveryTenant(t *testing.T) {
	svc, st, _ := newService(t, retention.Options{Chunk: 500, RollupDays: map[time.Duration]int{time.Hour: 30}})
	ctx := context.Background()
	st.EXPECT().Partitioned().Return(false)
	st.EXPECT().ListTenants(ctx).Return([]tenant.Tenant{acme, hooli}, nil)
	// No EnsurePartitions nor DropPartitionsBefore: the mock fails on them.
	st.EXPECT().DeleteSamplesBefore(ctx, acme.ID, rawMS(10*day), 500).Return(int64(3), nil)
	st.EXPECT().DeleteSamplesBefore(ctx, hooli.ID, rawMS(500*day), 500).Return(int64(4), nil)
	st.EXPECT().DeleteRollupsBefore(ctx, acme.ID, int64(3_600_000), ms(30*day), 500).Return(int64(0), nil)
	// A raw retention longer than the step's keeps the rollups as long.
	st.EXPECT().DeleteRollupsBefore(ctx, hooli.ID, int64(3_600_000), ms(500*day), 500).Return(int64(0), nil)
	rep, err := svc.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RawDeleted != 7 || rep.PartitionsDropped != nil || !rep.PartitionCutoff.IsZero() || rep.Tenants[1].ByPartitions {
		t.Errorf("report = %+v", rep)
	}
}

func TestRunPartitionsAhead(t *testing.T) {
	svc, st, _ := newService(t, retention.Options{PartitionsAhead: 7})
	ctx := context.Background()
	st.EXPECT().Partitioned().Return(true)
	st.EXPECT().EnsurePartitions(ctx, now, 7).Return(nil, nil)
	st.EXPECT().ListTenants(ctx).Return(nil, nil)
	// No tenants: nothing tells how long to keep, so no partition is dropped.
	rep, err := svc.Run(ctx, now)
	if err != nil || len(rep.Tenants) != 0 || rep.PartitionsDropped != nil {
		t.Fatalf("Run = %+v, %v", rep, err)
	}
}

func TestRunNowInUTC(t *testing.T) {
	svc, st, _ := newService(t, retention.Options{RollupDays: map[time.Duration]int{}})
	ctx := context.Background()
	local := now.In(time.FixedZone("CET", 3600))
	st.EXPECT().Partitioned().Return(false)
	st.EXPECT().ListTenants(ctx).Return([]tenant.Tenant{acme}, nil)
	st.EXPECT().DeleteSamplesBefore(ctx, acme.ID, rawMS(10*day), 10000).Return(int64(0), nil)
	rep, err := svc.Run(ctx, local)
	if err != nil || rep.Tenants[0].RawCutoff.Location() != time.UTC {
		t.Fatalf("Run = %+v, %v", rep, err)
	}
}

func TestRunGoesOnAfterATenantFails(t *testing.T) {
	svc, st, logs := newService(t, retention.Options{RollupDays: map[time.Duration]int{time.Minute: 90}})
	ctx := context.Background()
	boom := errors.New("boom")
	st.EXPECT().Partitioned().Return(true)
	st.EXPECT().EnsurePartitions(ctx, now, 3).Return(nil, boom)
	st.EXPECT().ListTenants(ctx).Return([]tenant.Tenant{acme, hooli}, nil)
	st.EXPECT().DropPartitionsBefore(ctx, now.Add(-500*day)).Return(nil, nil)
	st.EXPECT().DeleteSamplesBefore(ctx, acme.ID, rawMS(10*day), 10000).Return(int64(2), boom)
	st.EXPECT().DeleteRollupsBefore(ctx, acme.ID, m1, ms(90*day), 10000).Return(int64(1), nil)
	st.EXPECT().DeleteRollupsBefore(ctx, hooli.ID, m1, ms(500*day), 10000).Return(int64(5), nil)
	rep, err := svc.Run(ctx, now)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	for _, want := range []string{"retention: ensure partitions: boom", "retention tenant acme: raw samples: boom"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q does not say %q", err, want)
		}
	}
	if rep.RawDeleted != 2 || rep.RollupsDeleted != 6 || len(rep.Tenants) != 2 {
		t.Errorf("report = %+v", rep)
	}
	if n := len(logs.lines(t, "retention failed")); n != 2 {
		t.Errorf("%d error log lines, want 2", n)
	}
}

func TestRunListFails(t *testing.T) {
	svc, st, _ := newService(t, retention.Options{})
	ctx := context.Background()
	boom := errors.New("db down")
	st.EXPECT().Partitioned().Return(false)
	st.EXPECT().ListTenants(ctx).Return(nil, boom)
	if _, err := svc.Run(ctx, now); !errors.Is(err, boom) || !strings.Contains(err.Error(), "list tenants") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	svc, st, _ := newService(t, retention.Options{RollupDays: map[time.Duration]int{time.Minute: 90, 5 * time.Minute: 400}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st.EXPECT().Partitioned().Return(false)
	st.EXPECT().ListTenants(ctx).Return([]tenant.Tenant{acme, globex}, nil)
	st.EXPECT().DeleteSamplesBefore(ctx, acme.ID, rawMS(10*day), 10000).Return(int64(1), nil)
	st.EXPECT().DeleteRollupsBefore(ctx, acme.ID, m1, ms(90*day), 10000).DoAndReturn(
		func(context.Context, int64, int64, int64, int) (int64, error) {
			cancel()
			return 0, context.Canceled
		})
	// Nothing more: neither acme's 5m rollups nor globex.
	rep, err := svc.Run(ctx, now)
	if !errors.Is(err, context.Canceled) || len(rep.Tenants) != 1 {
		t.Fatalf("Run = %+v, %v", rep, err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, opts := range map[string]retention.Options{
		"negative ahead":  {PartitionsAhead: -1},
		"negative chunk":  {Chunk: -5},
		"zero days":       {RollupDays: map[time.Duration]int{time.Minute: 0}},
		"zero step":       {RollupDays: map[time.Duration]int{0: 90}},
		"sub-millisecond": {RollupDays: map[time.Duration]int{1500 * time.Microsecond: 90}},
	} {
		if _, err := retention.New(nil, opts, nil); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
	if d := retention.DefaultRollupDays(); len(d) != 2 || d[time.Minute] != 90 || d[5*time.Minute] != 400 {
		t.Errorf("DefaultRollupDays = %v", d)
	}
}

func TestNewCopiesRollupDays(t *testing.T) {
	days := map[time.Duration]int{time.Minute: 90}
	svc, st, _ := newService(t, retention.Options{RollupDays: days})
	days[time.Minute] = 1 // changing the caller's map afterwards changes nothing
	ctx := context.Background()
	st.EXPECT().Partitioned().Return(false)
	st.EXPECT().ListTenants(ctx).Return([]tenant.Tenant{acme}, nil)
	st.EXPECT().DeleteSamplesBefore(ctx, acme.ID, rawMS(10*day), 10000).Return(int64(0), nil)
	st.EXPECT().DeleteRollupsBefore(ctx, acme.ID, m1, ms(90*day), 10000).Return(int64(0), nil)
	if _, err := svc.Run(ctx, now); err != nil {
		t.Fatal(err)
	}
}
