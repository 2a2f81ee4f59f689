package notificationstest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

const minute = int64(60_000)

// silence stores a valid silence of the tenant from start to end.
func (f fx) silence(t *testing.T, tenant, rule, start, end int64, ms ...alert.Matcher) notify.Silence {
	t.Helper()
	sl := notify.Silence{TenantID: tenant, RuleID: rule, Matchers: ms, StartsAt: start, EndsAt: end, Comment: "maintenance — ünï",
		CreatedBy: "ops@example.com", CreatedAt: base - 1}
	if err := sl.Validate(); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	got, err := f.s.CreateSilence(sqldbtest.Ctx(t), sl)
	if err != nil {
		t.Fatalf("CreateSilence: %v", err)
	}
	if got.ID <= 0 || got.CreatedAt != base-1 {
		t.Fatalf("CreateSilence answered id %d created %d", got.ID, got.CreatedAt)
	}
	return got
}

// plain is silences without the matchers' compiled regexes, to compare.
func plain(ss []notify.Silence) []notify.Silence {
	out := make([]notify.Silence, len(ss))
	for i, s := range ss {
		ms := alert.Matchers{}
		for _, m := range s.Matchers {
			ms = append(ms, alert.Matcher{Tag: m.Tag, Op: m.Op, Value: m.Value})
		}
		s.Matchers = ms
		out[i] = s
	}
	return out
}

func testSilences(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "silence")
	re := alert.Matcher{Tag: "host", Op: alert.MatchRegexp, Value: "db-[0-9]+"}
	past := f.silence(t, tn, 0, base-60*minute, base-30*minute, alert.Matcher{Tag: "env", Op: alert.MatchEqual, Value: "prod"})
	active := f.silence(t, tn, 7, base-minute, base+60*minute, re, alert.Matcher{Tag: "env", Op: alert.MatchNotEqual, Value: "dev"})
	future := f.silence(t, tn, 7, base+30*minute, base+90*minute)
	all, err := f.s.ListSilences(c, tn, false, base)
	if err != nil || !reflect.DeepEqual(plain(all), plain([]notify.Silence{future, active, past})) {
		t.Fatalf("ListSilences: %v\n got  %+v\n want %+v", err, plain(all), plain([]notify.Silence{future, active, past}))
	}
	got, err := f.s.ListSilences(c, tn, true, base)
	if err != nil || !reflect.DeepEqual(plain(got), plain([]notify.Silence{future, active})) {
		t.Errorf("ListSilences active only: %+v, %v", plain(got), err)
	}
	act, err := f.s.ActiveSilences(c, []int64{tn, tn, 0}, base)
	if err != nil || len(act) != 1 || !reflect.DeepEqual(plain(act[tn]), plain([]notify.Silence{active})) {
		t.Fatalf("ActiveSilences: %+v, %v", act, err)
	}
	// Read back, the matchers work: the regex is compiled.
	labels := map[string]string{"host": "db-12", "env": "prod"}
	if !act[tn][0].Mutes(7, labels, base) || act[tn][0].Mutes(7, map[string]string{"host": "web-1"}, base) || act[tn][0].Mutes(8, labels, base) {
		t.Errorf("the stored silence does not mute as it was made to")
	}
	if act, err := f.s.ActiveSilences(c, []int64{tn}, base+60*minute); err != nil || len(act[tn]) != 1 || act[tn][0].ID != future.ID {
		t.Errorf("ActiveSilences at its end: %+v, %v; want the future one only", act, err)
	}
	if act, err := f.s.ActiveSilences(c, nil, base); err != nil || len(act) != 0 {
		t.Errorf("ActiveSilences of no tenant: %+v, %v", act, err)
	}
	// Ending: the active one now, the future one now too (its start moves
	// to now), the past one stays.
	now := base + 5*minute
	for _, id := range []int64{active.ID, future.ID, past.ID} {
		if err := f.s.EndSilence(c, tn, id, now); err != nil {
			t.Errorf("EndSilence %d: %v", id, err)
		}
	}
	all, err = f.s.ListSilences(c, tn, false, now)
	if err != nil || len(all) != 3 || all[0].StartsAt != now || all[0].EndsAt != now || all[1].EndsAt != now || all[1].StartsAt != active.StartsAt || all[2].EndsAt != past.EndsAt {
		t.Errorf("after EndSilence: %+v, %v", all, err)
	}
	if got, err := f.s.ListSilences(c, tn, true, now); err != nil || len(got) != 0 {
		t.Errorf("active after EndSilence: %+v, %v", got, err)
	}
	if err := f.s.EndSilence(c, tn, future.ID+1000, now); !errors.Is(err, notify.ErrSilenceNotFound) {
		t.Errorf("EndSilence of no silence: %v", err)
	}
	empty := sqldbtest.MkTenant(t, f.st, "silence-empty")
	if got, err := f.s.ListSilences(c, empty, false, now); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ListSilences of a tenant without: %#v, %v; want empty, not nil", got, err)
	}
}

func testSilencesIsolation(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, f.st, "sil-a"), sqldbtest.MkTenant(t, f.st, "sil-b")
	m := alert.Matcher{Tag: "env", Op: alert.MatchEqual, Value: "prod"}
	as := f.silence(t, a, 0, base-minute, base+minute, m)
	bs := f.silence(t, b, 0, base-minute, base+minute, m)
	if got, err := f.s.ListSilences(c, b, false, base); err != nil || len(got) != 1 || got[0].ID != bs.ID {
		t.Errorf("B's silences: %+v, %v", got, err)
	}
	if err := f.s.EndSilence(c, b, as.ID, base); !errors.Is(err, notify.ErrSilenceNotFound) {
		t.Errorf("B ends A's silence: %v", err)
	}
	act, err := f.s.ActiveSilences(c, []int64{a, b}, base)
	if err != nil || len(act) != 2 || act[a][0].ID != as.ID || act[b][0].ID != bs.ID || act[a][0].TenantID != a {
		t.Errorf("ActiveSilences of both: %+v, %v", act, err)
	}
	if act, err := f.s.ActiveSilences(c, []int64{b}, base); err != nil || len(act) != 1 || len(act[b]) != 1 {
		t.Errorf("ActiveSilences of B: %+v, %v", act, err)
	}
}

func testPerMinute(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b, n := sqldbtest.MkTenant(t, f.st, "pm-a"), sqldbtest.MkTenant(t, f.st, "pm-b"), sqldbtest.MkTenant(t, f.st, "pm-none")
	check := func(want map[int64]int) {
		t.Helper()
		if got, err := f.s.PerMinute(c, []int64{a, b, n}); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("PerMinute: %v, %v; want %v", got, err, want)
		}
	}
	check(map[int64]int{})
	for tn, v := range map[int64]int{a: 30, b: 5} {
		if err := f.s.SetPerMinute(c, tn, v); err != nil {
			t.Fatal(err)
		}
	}
	check(map[int64]int{a: 30, b: 5})
	if err := f.s.SetPerMinute(c, a, 40); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetPerMinute(c, b, 0); err != nil {
		t.Fatal(err)
	}
	check(map[int64]int{a: 40})
	if err := f.s.SetPerMinute(c, n, -1); err != nil {
		t.Errorf("removing an absent override: %v", err)
	}
	if got, err := f.s.PerMinute(c, nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("PerMinute of none: %v, %v", got, err)
	}
}

// Every method on one tenant's data refuses a missing tenant.
func testTenantRequired(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	calls := map[string]func(tn int64) error{
		"ListMessages": func(tn int64) error { _, _, err := f.s.ListMessages(c, tn, notification.MessageFilter{}); return err },
		"MessageItems": func(tn int64) error { _, err := f.s.MessageItems(c, tn, 1); return err },
		"Requeue":      func(tn int64) error { return f.s.Requeue(c, tn, 1, base) },
		"CreateSilence": func(tn int64) error {
			_, err := f.s.CreateSilence(c, notify.Silence{TenantID: tn, RuleID: 1, StartsAt: base, EndsAt: base + 1})
			return err
		},
		"ListSilences": func(tn int64) error { _, err := f.s.ListSilences(c, tn, false, base); return err },
		"EndSilence":   func(tn int64) error { return f.s.EndSilence(c, tn, 1, base) },
		"SetPerMinute": func(tn int64) error { return f.s.SetPerMinute(c, tn, 1) },
		"Commit": func(tn int64) error {
			return f.s.Commit(c, notification.Plan{Now: base, Messages: []notification.NewMessage{{TenantID: tn, ChannelID: 1, NotBefore: base}}})
		},
	}
	for name, call := range calls {
		if err := call(0); !errors.Is(err, sqldb.ErrTenantRequired) {
			t.Errorf("%s without a tenant: %v", name, err)
		}
	}
	if n := sqldbtest.Count(t, f.db, "notification_messages"); n != 0 {
		t.Errorf("%d messages written without a tenant", n)
	}
}
