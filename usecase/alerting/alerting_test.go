package alerting_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// fixture holds the mocked ports of one use case.
type fixture struct {
	rules  *MockRules
	sched  *MockSchedule
	hist   *MockHistory
	reader *MockReader
	now    time.Time
	svc    *alerting.Service
}

func newFixture(t *testing.T) *fixture {
	ctrl := gomock.NewController(t)
	f := &fixture{rules: NewMockRules(ctrl), sched: NewMockSchedule(ctrl), hist: NewMockHistory(ctrl), reader: NewMockReader(ctrl),
		now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	f.svc = alerting.New(f.rules, f.sched, f.hist, f.reader, func() time.Time { return f.now },
		alerting.Options{MinCadence: time.Second, Holder: "test", ClaimBatch: 10, Workers: 2})
	return f
}

var admin = alerting.Actor{TenantID: 7, Admin: true}

func validRule() alert.Rule {
	return alert.Rule{Name: "High load", Metric: "cpu.load", Agg: alert.AggAvg, Window: 5 * time.Minute, Op: alert.GT,
		Threshold: 0.9, Cadence: time.Minute,
		Matchers: alert.Matchers{{Tag: "host", Op: alert.MatchEqual, Value: "a"}}}
}

func TestCreateValidatesEveryFieldBeforeTheStore(t *testing.T) {
	f := newFixture(t) // no store call expected: gomock fails on any
	r := validRule()
	r.Window = time.Second
	r.Matchers = alert.Matchers{{Tag: "host", Op: alert.MatchRegexp, Value: "(a"}}
	r.Annotations = map[string]string{"summary": "{{.Value"}
	_, err := f.svc.Create(context.Background(), admin, r)
	var ie *alert.InvalidRuleError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *alert.InvalidRuleError", err)
	}
	for _, field := range []string{"window", "matchers[0]", "annotations.summary"} {
		if ie.Fields[field] == "" {
			t.Errorf("field %s not reported: %v", field, ie.Fields)
		}
	}
}

func TestWritesNeedAnAdmin(t *testing.T) {
	f := newFixture(t)
	viewer := alerting.Actor{TenantID: 7}
	ctx := context.Background()
	if _, err := f.svc.Create(ctx, viewer, validRule()); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("create: %v", err)
	}
	if _, err := f.svc.Update(ctx, viewer, 1, validRule()); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("update: %v", err)
	}
	if err := f.svc.Delete(ctx, viewer, 1); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("delete: %v", err)
	}
	if _, err := f.svc.SetPaused(ctx, viewer, 1, true); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("pause: %v", err)
	}
}

func TestCreateSchedulesTheRuleAtItsAlignedTime(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	// Stored due a cadence ahead (no scheduler may claim it at the
	// unaligned creation time), then moved to its aligned time.
	f.rules.EXPECT().CreateRule(gomock.Any(), gomock.Any(), now+60_000, now).DoAndReturn(
		func(_ context.Context, r alert.Rule, _, _ int64) (alert.Rule, error) {
			if r.TenantID != 7 || r.NoData != alert.NoDataState || r.Severity != alert.SeverityWarning {
				t.Errorf("stored rule not normalized for the tenant: %+v", r)
			}
			r.ID = 42
			return r, nil
		})
	want := alert.DueAfter(42, time.Minute, now)
	f.rules.EXPECT().Reschedule(gomock.Any(), int64(7), int64(42), want).Return(nil)
	f.rules.EXPECT().GetRule(gomock.Any(), int64(7), int64(42)).Return(alerting.StoredRule{Rule: alert.Rule{ID: 42}}, nil)
	if _, err := f.svc.Create(context.Background(), admin, validRule()); err != nil {
		t.Fatal(err)
	}
	if want <= now || want > now+time.Minute.Milliseconds() || (want-alert.Offset(42, time.Minute))%60000 != 0 {
		t.Errorf("due %d is not the aligned time after %d", want, now)
	}
}

func TestAStoreFailureIsADependencyOutage(t *testing.T) {
	f := newFixture(t)
	f.rules.EXPECT().GetRule(gomock.Any(), int64(7), int64(1)).Return(alerting.StoredRule{}, errors.New("connection refused"))
	_, err := f.svc.Get(context.Background(), admin, 1)
	if !errors.Is(err, outage.ErrUnavailable) {
		t.Errorf("err = %v, want outage", err)
	}
	f.rules.EXPECT().GetRule(gomock.Any(), int64(7), int64(2)).Return(alerting.StoredRule{}, alerting.ErrNotFound)
	if _, err := f.svc.Get(context.Background(), admin, 2); !errors.Is(err, alerting.ErrNotFound) || errors.Is(err, outage.ErrUnavailable) {
		t.Errorf("not found became %v", err)
	}
}

func page(tags map[string]string, pts ...metric.Point) metric.Page {
	return metric.Page{Series: []metric.SeriesPoints{{Tags: metric.SortedTags(tags), Points: pts}}}
}

func raw(ts int64, v float64) metric.Point {
	return metric.Point{TS: ts, Value: v, Min: v, Max: v, Sum: v, Count: 1}
}

func claimed(id int64, r alert.Rule, due int64) alerting.Claim {
	r.ID, r.TenantID = id, 7
	r = r.Normalize()
	if err := r.Validate(alert.Policy{MinCadence: time.Second}); err != nil {
		panic(err)
	}
	return alerting.Claim{Rule: r, DueAt: due}
}

func TestRulesOnOneMetricAtOneTimeShareOneRead(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	ra, rb := validRule(), validRule()
	rb.Matchers = alert.Matchers{{Tag: "host", Op: alert.MatchEqual, Value: "b"}}
	claims := []alerting.Claim{claimed(1, ra, now), claimed(2, rb, now)}
	f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return(claims, nil)
	// One read for both, narrowed to the hosts the two rules match.
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, q metric.Query) (metric.Page, error) {
		if q.Tags != nil || !slices.Equal(q.TagIn["host"], []string{"a", "b"}) || q.Start != now-5*60_000 || q.End != now || q.TenantID != 7 {
			t.Errorf("read %+v", q)
		}
		p := page(map[string]string{"host": "a"}, raw(now-60_000, 0.95))
		p.Series = append(p.Series, page(map[string]string{"host": "b"}, raw(now-60_000, 0.2)).Series...)
		return p, nil
	}).Times(1)
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), []int64{1, 2}).Return(nil, nil).Times(1)
	commits := map[int64]alerting.Commit{}
	f.sched.EXPECT().CommitAll(gomock.Any(), gomock.Len(2)).DoAndReturn(func(_ context.Context, cs []alerting.Commit) ([]bool, error) {
		for _, c := range cs {
			commits[c.RuleID] = c
		}
		return []bool{true, true}, nil
	}) // one transaction for the group
	round, err := f.svc.RunDue(context.Background())
	if err != nil || round.Claimed != 2 || round.Results[alerting.ResultOK] != 2 {
		t.Fatalf("round %+v, %v", round, err)
	}
	a, b := commits[1], commits[2]
	if a.RuleState != alert.Firing || len(a.Transitions) != 1 || len(a.Outbox) != 1 || a.Outbox[0].Kind != alert.NotifyFiring {
		t.Errorf("rule 1 (host a at 0.95 > 0.9, for 0) commit %+v", a)
	}
	if b.RuleState != alert.Normal || len(b.Transitions) != 0 || len(b.Outbox) != 0 {
		t.Errorf("rule 2 (host b at 0.2) commit %+v", b)
	}
	if a.DueAt != now || a.At != now || a.NextEvalAt != alert.DueAfter(1, time.Minute, now) || a.Note != "" {
		t.Errorf("rule 1 times: due %d at %d next %d note %q", a.DueAt, a.At, a.NextEvalAt, a.Note)
	}
	var n alerting.Notification
	if err := json.Unmarshal(a.Outbox[0].Payload, &n); err != nil {
		t.Fatal(err)
	}
	if n.Rule != "High load" || n.Labels["host"] != "a" || n.Labels["alertname"] != "High load" || n.Value == nil || *n.Value != 0.95 || n.Kind != alert.NotifyFiring {
		t.Errorf("notification %+v", n)
	}
}

func TestOneRulePushesItsEqualitiesDown(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return([]alerting.Claim{claimed(1, validRule(), now)}, nil)
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, q metric.Query) (metric.Page, error) {
		if q.Tags["host"] != "a" || len(q.Tags) != 1 {
			t.Errorf("tags %v, want host=a pushed down", q.Tags)
		}
		return metric.Page{}, nil
	})
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), []int64{1}).Return(nil, nil)
	f.sched.EXPECT().CommitAll(gomock.Any(), gomock.Len(1)).Return([]bool{true}, nil)
	if _, err := f.svc.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAReadFailureRecordsErrorAndKeepsTheEpisodeOpen(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return([]alerting.Claim{claimed(1, validRule(), now)}, nil)
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).Return(metric.Page{}, errors.New("db down"))
	firing := alert.Instance{Key: "host=a", State: alert.Firing, Since: now - 60_000, ActiveAt: now - 60_000, FiredAt: now - 60_000}
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), []int64{1}).Return(map[int64][]alert.Instance{1: {firing}}, nil)
	f.sched.EXPECT().CommitAll(gomock.Any(), gomock.Len(1)).DoAndReturn(func(_ context.Context, cs []alerting.Commit) ([]bool, error) {
		c := cs[0]
		if c.RuleState != alert.Error || !strings.Contains(c.LastError, "could not be read") {
			t.Errorf("state %s error %q", c.RuleState, c.LastError)
		}
		if len(c.Instances) != 1 || c.Instances[0].State != alert.Error || c.Instances[0].FiredAt != firing.FiredAt {
			t.Errorf("instances %+v", c.Instances)
		}
		if len(c.Outbox) != 0 {
			t.Errorf("an evaluation error notified: %+v", c.Outbox)
		}
		return []bool{true}, nil
	})
	round, _ := f.svc.RunDue(context.Background())
	if round.Results[alerting.ResultError] != 1 {
		t.Errorf("results %v", round.Results)
	}
}

func TestAfterDowntimeOneEvaluationAtNowWithANote(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	due := alert.DueAtOrBefore(1, time.Minute, now) - 90*60_000 // 90 minutes of missed rounds
	f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return([]alerting.Claim{claimed(1, validRule(), due)}, nil)
	at := alert.DueAtOrBefore(1, time.Minute, now)
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, q metric.Query) (metric.Page, error) {
		if q.End != at {
			t.Errorf("read ends at %d, want the latest due time %d", q.End, at)
		}
		return metric.Page{}, nil
	}).Times(1)
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), []int64{1}).Return(nil, nil)
	f.sched.EXPECT().CommitAll(gomock.Any(), gomock.Len(1)).DoAndReturn(func(_ context.Context, cs []alerting.Commit) ([]bool, error) {
		c := cs[0]
		if c.DueAt != due || c.At != at || !strings.Contains(c.Note, "90 due evaluation(s)") {
			t.Errorf("due %d at %d note %q", c.DueAt, c.At, c.Note)
		}
		return []bool{true}, nil
	})
	if _, err := f.svc.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestACommitAnotherReplicaWonIsAConflict(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return([]alerting.Claim{claimed(1, validRule(), now)}, nil)
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).Return(metric.Page{}, nil)
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), []int64{1}).Return(nil, nil)
	f.sched.EXPECT().CommitAll(gomock.Any(), gomock.Len(1)).Return([]bool{false}, nil)
	round, _ := f.svc.RunDue(context.Background())
	if round.Results[alerting.ResultConflict] != 1 || round.Transitions != 0 {
		t.Errorf("round %+v", round)
	}
}

func TestAFullClaimIsFollowedByAnother(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	var first []alerting.Claim
	for i := range 10 {
		r := validRule()
		r.Metric = "m" + string(rune('a'+i))
		first = append(first, claimed(int64(i+1), r, now))
	}
	gomock.InOrder(
		f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return(first, nil),
		f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return(nil, nil),
	)
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).Return(metric.Page{}, nil).Times(10)
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), gomock.Any()).Return(nil, nil).Times(10)
	f.sched.EXPECT().CommitAll(gomock.Any(), gomock.Len(1)).Return([]bool{true}, nil).Times(10)
	round, err := f.svc.RunDue(context.Background())
	if err != nil || round.Claimed != 10 {
		t.Fatalf("round %+v %v", round, err)
	}
}

func TestALongWindowReadsRollupsForItsAlignedInterior(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli() + 17_000 // not aligned to a minute
	f.now = time.UnixMilli(now)
	r := validRule()
	r.Window = 24 * time.Hour
	c := claimed(1, r, now)
	f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return([]alerting.Claim{c}, nil)
	start := now - 24*3_600_000
	var rawRanges [][2]int64
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, q metric.Query) (metric.Page, error) {
		rawRanges = append(rawRanges, [2]int64{q.Start, q.End})
		return page(map[string]string{"host": "a"}, raw(q.Start, 1)), nil
	}).Times(2)
	f.reader.EXPECT().ReadRollupsAs(gomock.Any(), gomock.Any(), int64(3_600_000), int64(3_600_000)).DoAndReturn(
		func(_ context.Context, q metric.Query, _, _ int64) (metric.Page, error) {
			if q.Start%3_600_000 != 0 || q.End%3_600_000 != 0 || q.Start < start || q.End > now {
				t.Errorf("rollup range [%d, %d) not the aligned interior of [%d, %d)", q.Start, q.End, start, now)
			}
			return page(map[string]string{"host": "a"}, metric.Point{TS: q.Start, Count: 10, Sum: 10, Min: 1, Max: 1}), nil
		})
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), []int64{1}).Return(nil, nil)
	f.sched.EXPECT().CommitAll(gomock.Any(), gomock.Len(1)).DoAndReturn(func(_ context.Context, cs []alerting.Commit) ([]bool, error) {
		c := cs[0]
		if len(c.Instances) != 1 || c.Instances[0].Value != 1 {
			t.Errorf("instances %+v", c.Instances)
		}
		return []bool{true}, nil
	})
	if _, err := f.svc.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rawRanges) != 2 || rawRanges[0][0] != start || rawRanges[1][1] != now {
		t.Errorf("raw edges %v", rawRanges)
	}
}

func TestPreviewRefusesRangesOverItsLimits(t *testing.T) {
	f := newFixture(t) // any store or reader call fails the test
	ctx := context.Background()
	end := f.now
	_, err := f.svc.Preview(ctx, admin, alerting.PreviewRequest{Rule: validRule(), Start: end.Add(-8 * 24 * time.Hour), End: end})
	if !errors.Is(err, alerting.ErrInvalid) || !strings.Contains(err.Error(), "7 days") {
		t.Errorf("8 days: %v", err)
	}
	r := validRule()
	r.Cadence, r.Window = time.Second, time.Minute
	_, err = f.svc.Preview(ctx, admin, alerting.PreviewRequest{Rule: r, Start: end.Add(-6 * time.Hour), End: end})
	if !errors.Is(err, alerting.ErrInvalid) || !strings.Contains(err.Error(), "20000") {
		t.Errorf("21,600 evaluations: %v", err)
	}
	_, err = f.svc.Preview(ctx, admin, alerting.PreviewRequest{Rule: r, Start: end, End: end.Add(-time.Hour)})
	if !errors.Is(err, alerting.ErrInvalid) {
		t.Errorf("end before start: %v", err)
	}
}

func TestPreviewReplaysStoredSamplesAndWritesNothing(t *testing.T) {
	f := newFixture(t) // no Rules or Schedule call is expected
	end := f.now
	start := end.Add(-time.Hour)
	r := validRule()
	r.Window = time.Minute
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, q metric.Query) (metric.Page, error) {
		if q.Start != start.UnixMilli()-60_000 || q.End != end.UnixMilli() {
			t.Errorf("read [%d, %d)", q.Start, q.End)
		}
		var pts []metric.Point
		for ts := q.Start; ts < q.End; ts += 10_000 {
			v := 0.1
			if ts >= start.UnixMilli()+20*60_000 && ts < start.UnixMilli()+30*60_000 {
				v = 0.95 // ten breaching minutes
			}
			pts = append(pts, raw(ts, v))
		}
		return page(map[string]string{"host": "a"}, pts...), nil
	})
	res, err := f.svc.Preview(context.Background(), admin, alerting.PreviewRequest{Rule: r, Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if res.Evaluations != 61 || res.Fired != 1 || res.Notifications != 2 || len(res.Intervals) != 1 {
		t.Fatalf("preview %+v", res)
	}
	iv := res.Intervals[0]
	if iv.Start != start.UnixMilli()+21*60_000 || iv.End != start.UnixMilli()+31*60_000 {
		t.Errorf("interval [%d, %d) relative to start: [%d, %d)", iv.Start, iv.End, iv.Start-start.UnixMilli(), iv.End-start.UnixMilli())
	}
}

func TestOnDemandEvaluationKeepsTheSchedule(t *testing.T) {
	f := newFixture(t)
	due := f.now.Add(30 * time.Second).UnixMilli()
	at := f.now.Add(-time.Hour)
	f.sched.EXPECT().RuleForEval(gomock.Any(), int64(1)).Return(claimed(1, validRule(), due), nil)
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, q metric.Query) (metric.Page, error) {
		if q.End != at.UnixMilli() {
			t.Errorf("read ends at %d, want --at %d", q.End, at.UnixMilli())
		}
		return page(map[string]string{"host": "a"}, raw(at.UnixMilli()-1000, 5)), nil
	})
	f.sched.EXPECT().Instances(gomock.Any(), int64(7), int64(1)).Return(nil, nil)
	f.sched.EXPECT().Commit(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, c alerting.Commit) (bool, error) {
		if c.DueAt != due || c.NextEvalAt != due || c.At != at.UnixMilli() || c.RuleState != alert.Firing {
			t.Errorf("commit due %d next %d at %d state %s", c.DueAt, c.NextEvalAt, c.At, c.RuleState)
		}
		return true, nil
	})
	round, err := f.svc.EvaluateRule(context.Background(), 1, at)
	if err != nil || round.Results[alerting.ResultOK] != 1 || round.Notified != 1 {
		t.Fatalf("round %+v %v", round, err)
	}
}

func TestAFailedGroupCommitIsCountedAsFailed(t *testing.T) {
	f := newFixture(t)
	now := f.now.UnixMilli()
	f.sched.EXPECT().ClaimDue(gomock.Any(), now, 10, "test", 30*time.Second).Return([]alerting.Claim{claimed(1, validRule(), now)}, nil)
	f.reader.EXPECT().ReadRaw(gomock.Any(), gomock.Any()).Return(metric.Page{}, nil)
	f.sched.EXPECT().InstancesOf(gomock.Any(), int64(7), []int64{1}).Return(nil, errors.New("db down"))
	round, _ := f.svc.RunDue(context.Background())
	if round.Results[alerting.ResultFailed] != 1 {
		t.Errorf("results %v", round.Results)
	}
}
