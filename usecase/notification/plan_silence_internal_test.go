package notification

import (
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
)

func silence(tenant, rule int64, from, to int64, ms ...alert.Matcher) notify.Silence {
	return notify.Silence{ID: 1, TenantID: tenant, RuleID: rule, Matchers: ms, StartsAt: from, EndsAt: to}
}

func hostIs(v string) alert.Matcher {
	return alert.Matcher{Tag: "host", Op: alert.MatchEqual, Value: v}
}

func TestBuildPlanSilences(t *testing.T) {
	c1 := hook(1, 1, 10*time.Second)
	hour := time.Hour.Milliseconds()
	ready := func(id, rule int64, host string) Delivery { return dv(id, 1, rule, 1, firing, host, 20*time.Second) }
	cases := []struct {
		name     string
		silences []notify.Silence
		ds       []Delivery
		want     []string
		states   map[int64]string
	}{
		{"a rule-wide silence moves the rule's ready deliveries to silenced",
			[]notify.Silence{silence(1, 1, now0-hour, now0+hour)}, []Delivery{ready(1, 1, "a"), ready(2, 1, "b"), ready(3, 2, "a")},
			[]string{msg(MessageAlerts, 1, 1, 2, 3)}, map[int64]string{1: DeliverySilenced, 2: DeliverySilenced}},
		{"a silence by label matchers mutes what they select, of any rule",
			[]notify.Silence{silence(1, 0, now0-hour, now0+hour, hostIs("a"))}, []Delivery{ready(1, 1, "a"), ready(2, 1, "b"), ready(3, 2, "a")},
			[]string{msg(MessageAlerts, 1, 1, 1, 2)}, map[int64]string{1: DeliverySilenced, 3: DeliverySilenced}},
		{"a silence mutes only in its window (its end excluded)",
			[]notify.Silence{silence(1, 1, now0-hour, now0), silence(1, 1, now0+1, now0+hour)}, []Delivery{ready(1, 1, "a")},
			[]string{msg(MessageAlerts, 1, 1, 1, 1)}, nil},
		{"another tenant's silence mutes nothing",
			[]notify.Silence{silence(2, 1, now0-hour, now0+hour)}, []Delivery{ready(1, 1, "a")},
			[]string{msg(MessageAlerts, 1, 1, 1, 1)}, nil},
		{"silenced deliveries stay while muted",
			[]notify.Silence{silence(1, 1, now0-hour, now0+hour)},
			[]Delivery{in(DeliverySilenced, ready(1, 1, "a")), in(DeliverySilenced, dv(2, 1, 1, 1, resolved, "a", 0))}, nil, nil},
		{"a muted delivery still in its group_wait waits",
			[]notify.Silence{silence(1, 1, now0-hour, now0+hour)}, []Delivery{dv(1, 1, 1, 1, firing, "a", time.Second)}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, rep := world{chans: []notify.Channel{c1}, ds: tc.ds, silences: tc.silences}.plan(t)
			checkPlan(t, p, tc.want, tc.states)
			silenced := 0
			for _, st := range p.States {
				if st == DeliverySilenced {
					silenced++
				}
			}
			if rep.Silenced != silenced {
				t.Errorf("report counts %d silenced, plan %d", rep.Silenced, silenced)
			}
		})
	}
}

func TestBuildPlanReleasesWhatASilenceHeld(t *testing.T) {
	c1, c2 := hook(1, 1, 10*time.Second), hook(1, 2, 10*time.Second)
	held := func(id, channel int64, kind, host string) Delivery {
		return in(DeliverySilenced, dv(id, 1, 1, channel, kind, host, time.Hour-time.Duration(id)*time.Minute))
	}
	key := func(channel int64, host string) FiringKey {
		return FiringKey{ChannelID: channel, RuleID: 1, InstanceKey: "host=" + host}
	}
	cases := []struct {
		name       string
		silences   []notify.Silence
		ds         []Delivery
		want       []string
		states     map[int64]string
		resolved   []FiringKey
		released   int
		suppressed int
	}{
		{"only the latest notice of an instance goes out, the older ones are suppressed",
			nil, []Delivery{held(1, 1, firing, "a"), held(2, 1, resolved, "a"), held(3, 1, firing, "a"), held(4, 1, firing, "b")},
			[]string{msg(MessageAlerts, 1, 1, 1, 3, 4)}, map[int64]string{1: DeliverySuppressed, 2: DeliverySuppressed}, nil, 2, 2},
		{"fired and resolved while muted: both suppressed, the instance forgotten",
			nil, []Delivery{held(1, 1, firing, "a"), held(2, 1, resolved, "a")},
			nil, map[int64]string{1: DeliverySuppressed, 2: DeliverySuppressed}, []FiringKey{key(1, "a")}, 0, 2},
		{"the first held notice is a resolved one: the channel heard it fire, the resolved is sent",
			nil, []Delivery{held(1, 1, resolved, "a")}, []string{msg(MessageAlerts, 1, 1, 1, 1)}, nil, []FiringKey{key(1, "a")}, 1, 0},
		{"each channel has its own news",
			nil, []Delivery{held(1, 1, firing, "a"), held(2, 2, firing, "a"), held(3, 2, resolved, "a")},
			[]string{msg(MessageAlerts, 1, 1, 1, 1)}, map[int64]string{2: DeliverySuppressed, 3: DeliverySuppressed}, []FiringKey{key(2, "a")}, 1, 2},
		{"a silence muting only another instance releases this one",
			[]notify.Silence{silence(1, 0, now0-1, now0+1, hostIs("b"))}, []Delivery{held(1, 1, firing, "a"), held(2, 1, firing, "b")},
			[]string{msg(MessageAlerts, 1, 1, 1, 1)}, nil, nil, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, rep := world{chans: []notify.Channel{c1, c2}, ds: tc.ds, silences: tc.silences}.plan(t)
			checkPlan(t, p, tc.want, tc.states)
			if !slices.Equal(p.Resolved, tc.resolved) {
				t.Errorf("resolved = %+v, want %+v", p.Resolved, tc.resolved)
			}
			if rep.Released != tc.released || rep.Suppressed != tc.suppressed {
				t.Errorf("released %d suppressed %d, want %d and %d", rep.Released, rep.Suppressed, tc.released, tc.suppressed)
			}
		})
	}
}

func TestBuildPlanRepeats(t *testing.T) {
	due := now0 - 5*time.Hour.Milliseconds()
	fire := func(tenant, channel, rule int64, host string, outbox int64) Firing {
		return Firing{TenantID: tenant, ChannelID: channel, RuleID: rule, InstanceKey: "host=" + host, OutboxID: outbox,
			LastSentAt: due, Payload: payloadOf(rule, host)}
	}
	repeats := []Firing{fire(1, 1, 1, "a", 11), fire(1, 1, 1, "b", 12), fire(1, 1, 2, "a", 13), fire(1, 2, 1, "a", 14),
		fire(1, 9, 1, "a", 15)} // channel 9 was deleted
	chans := []notify.Channel{hook(1, 1, 0), hook(1, 2, 0)}

	t.Run("one repeat message per tenant, channel and rule, its schedule moved to now", func(t *testing.T) {
		p, rep := world{chans: chans, repeats: repeats}.plan(t)
		checkPlan(t, p, []string{"repeat t1 c1 r1 o[11 12]", "repeat t1 c1 r2 o[13]", "repeat t1 c2 r1 o[14]"}, nil)
		want := slices.Clone(repeats[:4])
		for i := range want {
			want[i].LastSentAt, want[i].Payload = now0, nil
		}
		if !slices.EqualFunc(p.Fired, want, firingEqual) {
			t.Errorf("fired = %+v, want %+v", p.Fired, want)
		}
		if rep.Repeats != 3 {
			t.Errorf("repeats = %d, want 3", rep.Repeats)
		}
	})
	t.Run("a muted repeat is not planned", func(t *testing.T) {
		ss := []notify.Silence{silence(1, 2, now0-1, now0+1), silence(1, 0, now0-1, now0+1, hostIs("b"))}
		p, _ := world{chans: chans, repeats: repeats, silences: ss}.plan(t)
		checkPlan(t, p, []string{"repeat t1 c1 r1 o[11]", "repeat t1 c2 r1 o[14]"}, nil)
	})
	t.Run("an instance with a notice planned in the pass is not repeated", func(t *testing.T) {
		ds := []Delivery{dv(1, 1, 1, 1, resolved, "a", 0), dv(2, 1, 2, 2, firing, "a", 0)}
		p, _ := world{chans: chans, repeats: repeats, ds: ds}.plan(t)
		checkPlan(t, p, []string{msg(MessageAlerts, 1, 1, 1, 1), msg(MessageAlerts, 1, 2, 2, 2),
			"repeat t1 c1 r1 o[12]", "repeat t1 c1 r2 o[13]", "repeat t1 c2 r1 o[14]"}, nil)
	})
	t.Run("a repeat spends the budget and waits when it is spent", func(t *testing.T) {
		sent := []Sent{{TenantID: 1, ChannelID: 1, At: times(now0-1000, 9)}}
		p, _ := world{chans: chans, repeats: repeats, sent: sent}.plan(t)
		checkPlan(t, p, []string{"repeat t1 c1 r1 o[11 12]", "repeat t1 c2 r1 o[14]"}, nil)
		for _, f := range p.Fired {
			if f.RuleID == 2 {
				t.Errorf("a repeat not planned moved its schedule: %+v", f)
			}
		}
	})
}
