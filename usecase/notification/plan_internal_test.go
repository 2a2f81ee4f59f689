package notification

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
)

// now0 is the pass's time in the planner's tests.
var now0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixMilli()

const (
	firing   = notify.NoticeFiring
	resolved = notify.NoticeResolved
	nodata   = notify.NoticeNoData
)

func hook(tenant, id int64, wait time.Duration) notify.Channel {
	return notify.Channel{ID: id, TenantID: tenant, Name: fmt.Sprint("channel ", id), Kind: notify.KindWebhook,
		Webhook: &notify.WebhookSettings{URL: "https://example.com/hook"}, SendResolved: true, GroupWait: wait,
		RepeatInterval: 4 * time.Hour}
}

func slackChannel(tenant, id int64) notify.Channel {
	c := hook(tenant, id, 0)
	c.Kind, c.Webhook, c.Slack = notify.KindSlack, nil, &notify.SlackSettings{}
	return c
}

func payloadOf(rule int64, host string) []byte {
	b, err := json.Marshal(Notification{RuleID: rule, Rule: fmt.Sprint("rule ", rule), Instance: "host=" + host,
		Labels: map[string]string{"alertname": fmt.Sprint("rule ", rule), "host": host}})
	if err != nil {
		panic(err)
	}
	return b
}

// dv is delivery id (of outbox row 100+id) of the tenant's rule to the
// channel, for host, created ago before now0, waiting.
func dv(id, tenant, rule, channel int64, kind, host string, ago time.Duration) Delivery {
	at := now0 - ago.Milliseconds()
	return Delivery{ID: id, OutboxID: 100 + id, TenantID: tenant, RuleID: rule, ChannelID: channel, Kind: kind,
		InstanceKey: "host=" + host, At: at, State: DeliveryWaiting, CreatedAt: at, Payload: payloadOf(rule, host)}
}

func in(state string, d Delivery) Delivery { d.State = state; return d }

// times is n times at.
func times(at int64, n int) []int64 { return slices.Repeat([]int64{at}, n) }

// world is one pass's input.
type world struct {
	now       int64 // now0 when 0
	chans     []notify.Channel
	ds        []Delivery
	repeats   []Firing
	sent      []Sent
	silences  []notify.Silence
	perMinute map[int64]int // tenant → budget; 10 otherwise
	queued    []GroupKey    // groups with a message not sent yet
}

func (w world) input(t testing.TB) planInput {
	t.Helper()
	in := planInput{Now: cmpOr(w.now, now0), Deliveries: w.ds, Repeats: w.repeats, Sent: w.sent,
		Channels: map[int64]map[int64]notify.Channel{}, Silences: map[int64][]notify.Silence{}, Queued: map[GroupKey]bool{}}
	for _, k := range w.queued {
		in.Queued[k] = true
	}
	for _, c := range w.chans {
		if in.Channels[c.TenantID] == nil {
			in.Channels[c.TenantID] = map[int64]notify.Channel{}
		}
		in.Channels[c.TenantID][c.ID] = c
	}
	for _, s := range w.silences {
		if err := s.Validate(); err != nil {
			t.Fatalf("silence of the test: %v", err)
		}
		in.Silences[s.TenantID] = append(in.Silences[s.TenantID], s)
	}
	in.PerMinute = func(tenant int64) int {
		if n, ok := w.perMinute[tenant]; ok {
			return n
		}
		return notify.DefaultPerMinute
	}
	return in
}

func cmpOr(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

func (w world) plan(t testing.TB) (Plan, PassReport) {
	t.Helper()
	return buildPlan(w.input(t))
}

// show is a message in one line: its kind, tenant, channel, rule, the
// deliveries (d) or outbox rows (o) it carries, and its NotBefore past now.
func show(m NewMessage, now int64) string {
	s := fmt.Sprintf("%s t%d c%d r%d", m.Kind, m.TenantID, m.ChannelID, m.RuleID)
	if len(m.Deliveries) > 0 {
		s += fmt.Sprint(" d", m.Deliveries)
	}
	if len(m.Repeats) > 0 {
		s += fmt.Sprint(" o", m.Repeats)
	}
	if m.NotBefore != now {
		s += fmt.Sprintf(" +%dms", m.NotBefore-now)
	}
	return s
}

func shown(p Plan) []string {
	out := make([]string, 0, len(p.Messages))
	for _, m := range p.Messages {
		out = append(out, show(m, p.Now))
	}
	slices.Sort(out)
	return out
}

// msg is the line of a message planned at now0 carrying deliveries ids.
func msg(kind string, tenant, channel, rule int64, ids ...int64) string {
	return show(NewMessage{Kind: kind, TenantID: tenant, ChannelID: channel, RuleID: rule, Deliveries: ids, NotBefore: now0}, now0)
}

func sorted(ss []string) []string { slices.Sort(ss); return ss }

func checkPlan(t *testing.T, p Plan, want []string, states map[int64]string) {
	t.Helper()
	if got := shown(p); !slices.Equal(got, sorted(slices.Clone(want))) {
		t.Errorf("messages:\n got %q\nwant %q", got, sorted(slices.Clone(want)))
	}
	if !maps.Equal(p.States, states) && (len(p.States) > 0 || len(states) > 0) {
		t.Errorf("states = %v, want %v", p.States, states)
	}
}

func TestBuildPlanGroupsAndBudgets(t *testing.T) {
	wait := 10 * time.Second
	c1, c2, c3 := hook(1, 1, wait), hook(1, 2, wait), hook(2, 3, wait)
	var fifteen []Delivery
	var firstTen []string
	lastFive := map[int64]string{}
	for i := int64(1); i <= 15; i++ {
		fifteen = append(fifteen, dv(i, 1, i, 1, firing, "a", 30*time.Second))
		if i <= 10 {
			firstTen = append(firstTen, msg(MessageAlerts, 1, 1, i, i))
		} else {
			lastFive[i] = DeliveryHeld
		}
	}
	full := []Sent{{TenantID: 1, ChannelID: 1, At: times(now0-30_000, 10)}}
	ready := func(id, tenant, rule, channel int64) Delivery {
		return dv(id, tenant, rule, channel, firing, "a", 20*time.Second)
	}
	cases := []struct {
		name   string
		w      world
		want   []string
		states map[int64]string
	}{
		{"group_wait not yet passed: nothing planned",
			world{chans: []notify.Channel{c1}, ds: []Delivery{dv(1, 1, 1, 1, firing, "a", 9*time.Second)}}, nil, nil},
		{"group_wait passed: one message per tenant, rule and channel with exactly its deliveries",
			world{chans: []notify.Channel{c1, c2, c3}, ds: []Delivery{
				ready(1, 1, 1, 1), dv(2, 1, 1, 1, firing, "b", 15*time.Second),
				dv(3, 1, 1, 1, resolved, "c", time.Second), // the group's wait is its oldest's
				ready(4, 1, 2, 1), ready(5, 1, 1, 2), ready(6, 2, 9, 3),
				dv(7, 1, 3, 1, firing, "a", 5*time.Second), // its own group still waits
			}},
			[]string{msg(MessageAlerts, 1, 1, 1, 1, 2, 3), msg(MessageAlerts, 1, 1, 2, 4), msg(MessageAlerts, 1, 2, 1, 5), msg(MessageAlerts, 2, 3, 9, 6)}, nil},
		{"group_wait 0 sends at once",
			world{chans: []notify.Channel{hook(1, 1, 0)}, ds: []Delivery{dv(1, 1, 1, 1, firing, "a", 0)}},
			[]string{msg(MessageAlerts, 1, 1, 1, 1)}, nil},
		{"the budget caps a channel's messages in a minute: 15 groups, budget 10",
			world{chans: []notify.Channel{c1}, ds: fifteen}, firstTen, lastFive},
		{"the last minute's messages spend the budget",
			world{chans: []notify.Channel{c1}, ds: []Delivery{ready(1, 1, 1, 1), ready(2, 1, 2, 1), ready(3, 1, 3, 1)},
				sent: []Sent{{TenantID: 1, ChannelID: 1, At: append([]int64{now0 - 60_000}, times(now0-59_000, 8)...)}}},
			[]string{msg(MessageAlerts, 1, 1, 1, 1), msg(MessageAlerts, 1, 1, 2, 2)}, map[int64]string{3: DeliveryHeld}},
		{"held deliveries and a free budget: one digest of every held delivery and what became ready meanwhile",
			world{chans: []notify.Channel{c1}, ds: []Delivery{
				in(DeliveryHeld, ready(1, 1, 1, 1)), in(DeliveryHeld, dv(2, 1, 2, 1, firing, "a", 2*time.Minute)),
				ready(3, 1, 3, 1), dv(4, 1, 3, 1, firing, "b", 20*time.Second), ready(5, 1, 4, 1),
				dv(6, 1, 5, 1, firing, "a", time.Second), // not ready: waits for a later message
			}, sent: []Sent{{TenantID: 1, ChannelID: 1, At: times(now0-61_000, 10)}}},
			[]string{msg(MessageDigest, 1, 1, 0, 1, 2, 3, 4, 5)}, nil},
		{"held deliveries and no budget: what becomes ready is held too",
			world{chans: []notify.Channel{c1}, ds: []Delivery{in(DeliveryHeld, ready(1, 1, 1, 1)), ready(2, 1, 2, 1)}, sent: full},
			nil, map[int64]string{2: DeliveryHeld}},
		{"two channels and two tenants never share a budget",
			world{chans: []notify.Channel{c1, c2, c3}, ds: []Delivery{ready(1, 1, 1, 1), ready(2, 1, 1, 2), ready(3, 2, 9, 3)}, sent: full},
			[]string{msg(MessageAlerts, 1, 2, 1, 2), msg(MessageAlerts, 2, 3, 9, 3)}, map[int64]string{1: DeliveryHeld}},
		{"the budget is the tenant's own",
			world{chans: []notify.Channel{c1, c3}, perMinute: map[int64]int{2: 1},
				ds: []Delivery{ready(1, 2, 8, 3), ready(2, 2, 9, 3), ready(3, 1, 1, 1), ready(4, 1, 2, 1)}},
			[]string{msg(MessageAlerts, 2, 3, 8, 1), msg(MessageAlerts, 1, 1, 1, 3), msg(MessageAlerts, 1, 1, 2, 4)},
			map[int64]string{2: DeliveryHeld}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, rep := tc.w.plan(t)
			checkPlan(t, p, tc.want, tc.states)
			if rep.Messages != len(p.Messages) {
				t.Errorf("report counts %d messages, plan has %d", rep.Messages, len(p.Messages))
			}
		})
	}
}

func TestBuildPlanSpacesSlackMessagesASecondApart(t *testing.T) {
	w := world{chans: []notify.Channel{slackChannel(1, 1), hook(1, 2, 0)}, ds: []Delivery{
		dv(1, 1, 1, 1, firing, "a", 0), dv(2, 1, 2, 1, firing, "a", 0), dv(3, 1, 3, 1, firing, "a", 0),
		dv(4, 1, 1, 2, firing, "a", 0), dv(5, 1, 2, 2, firing, "a", 0), // a webhook is not spaced
	}, repeats: []Firing{{TenantID: 1, ChannelID: 1, RuleID: 9, InstanceKey: "host=z", OutboxID: 90, LastSentAt: now0 - 5*3600e3}}}
	p, _ := w.plan(t)
	checkPlan(t, p, []string{
		msg(MessageAlerts, 1, 1, 1, 1), msg(MessageAlerts, 1, 1, 2, 2) + " +1000ms", msg(MessageAlerts, 1, 1, 3, 3) + " +2000ms",
		"repeat t1 c1 r9 o[90] +3000ms", msg(MessageAlerts, 1, 2, 1, 4), msg(MessageAlerts, 1, 2, 2, 5),
	}, nil)

	// Also after the last pass's messages, planned up to 700 ms ahead.
	w.sent = []Sent{{TenantID: 1, ChannelID: 1, At: []int64{now0 - 2000, now0 + 700}}}
	w.repeats = nil
	p, _ = w.plan(t)
	var at []int64
	for _, m := range p.Messages {
		if m.ChannelID == 1 {
			at = append(at, m.NotBefore)
		}
	}
	slices.Sort(at)
	if want := []int64{now0 + 1700, now0 + 2700, now0 + 3700}; !slices.Equal(at, want) {
		t.Errorf("Slack NotBefore = %v, want %v", at, want)
	}
}

func TestBuildPlanSuppressesDeliveriesToADeletedChannel(t *testing.T) {
	w := world{chans: []notify.Channel{hook(1, 1, 0)}, ds: []Delivery{dv(1, 1, 1, 9, firing, "a", time.Minute),
		in(DeliveryHeld, dv(2, 1, 1, 9, firing, "b", time.Minute)), dv(3, 1, 1, 1, firing, "a", time.Minute)}}
	p, rep := w.plan(t)
	checkPlan(t, p, []string{msg(MessageAlerts, 1, 1, 1, 3)}, map[int64]string{1: DeliverySuppressed, 2: DeliverySuppressed})
	if rep.Dropped != 2 {
		t.Errorf("dropped = %d, want 2", rep.Dropped)
	}
}

func TestBuildPlanRecordsWhatEachChannelWasTold(t *testing.T) {
	w := world{chans: []notify.Channel{hook(1, 1, 0)}, ds: []Delivery{
		dv(1, 1, 1, 1, firing, "a", 0), dv(2, 1, 1, 1, nodata, "b", 0), dv(3, 1, 1, 1, resolved, "c", 0)}}
	p, _ := w.plan(t)
	// A no-data notice is not repeated (nothing ever tells when data is
	// back), so it ends the instance's schedule as a resolved one does.
	wantFired := []Firing{{TenantID: 1, ChannelID: 1, RuleID: 1, InstanceKey: "host=a", OutboxID: 101, LastSentAt: now0}}
	if !slices.EqualFunc(p.Fired, wantFired, firingEqual) {
		t.Errorf("fired = %+v, want %+v", p.Fired, wantFired)
	}
	if want := []FiringKey{{ChannelID: 1, RuleID: 1, InstanceKey: "host=b"}, {ChannelID: 1, RuleID: 1, InstanceKey: "host=c"}}; !slices.Equal(p.Resolved, want) {
		t.Errorf("resolved = %+v, want %+v", p.Resolved, want)
	}
}

func firingEqual(a, b Firing) bool {
	return a.TenantID == b.TenantID && a.ChannelID == b.ChannelID && a.RuleID == b.RuleID && a.InstanceKey == b.InstanceKey &&
		a.OutboxID == b.OutboxID && a.LastSentAt == b.LastSentAt && a.Payload == nil && b.Payload == nil
}

// The store upserts Fired, then forgets Resolved: an instance must be in
// at most one of them, the one its latest notice of the pass says.
func TestBuildPlanTheLatestNoticeDecidesTheRepeatSchedule(t *testing.T) {
	w := world{chans: []notify.Channel{hook(1, 1, 0)}, ds: []Delivery{
		dv(1, 1, 1, 1, resolved, "a", 0), dv(2, 1, 1, 1, firing, "a", 0), // resolved, then fired again: still firing
		dv(3, 1, 1, 1, firing, "b", 0), dv(4, 1, 1, 1, resolved, "b", 0), // fired, then resolved
		// fired and resolved while muted (suppressed), then fired again once the silence ended
		in(DeliverySilenced, dv(5, 1, 1, 1, firing, "c", time.Hour)), in(DeliverySilenced, dv(6, 1, 1, 1, resolved, "c", time.Hour)),
		dv(7, 1, 1, 1, firing, "c", 0),
	}}
	p, _ := w.plan(t)
	fired := map[string]int64{}
	for _, f := range p.Fired {
		fired[f.InstanceKey] = f.OutboxID
	}
	forgotten := map[string]bool{}
	for _, k := range p.Resolved {
		forgotten[k.InstanceKey] = true
	}
	if fired["host=a"] != 102 || forgotten["host=a"] {
		t.Errorf("host=a fired again: fired %v, resolved %v; want it fired (outbox 102) and not forgotten", fired, forgotten)
	}
	if _, ok := fired["host=b"]; ok || !forgotten["host=b"] {
		t.Errorf("host=b resolved: fired %v, resolved %v; want it forgotten only", fired, forgotten)
	}
	if fired["host=c"] != 107 || forgotten["host=c"] {
		t.Errorf("host=c fired after its silence: fired %v, resolved %v; want it fired (outbox 107) and not forgotten", fired, forgotten)
	}
}

// While a group's earlier message is not sent (a killed sender's, waiting
// for its claim to end; or one being retried), nothing newer of the group
// is planned: a resolved never overtakes its firing. Other groups go on.
func TestBuildPlanKeepsAGroupsNoticesInOrder(t *testing.T) {
	w := world{chans: []notify.Channel{hook(1, 1, 0)}, queued: []GroupKey{{TenantID: 1, ChannelID: 1, RuleID: 1}},
		ds:      []Delivery{dv(1, 1, 1, 1, resolved, "a", 0), dv(2, 1, 2, 1, firing, "a", 0)},
		repeats: []Firing{{TenantID: 1, ChannelID: 1, RuleID: 1, InstanceKey: "host=b", OutboxID: 7, LastSentAt: now0 - 5*3600e3}}}
	p, _ := w.plan(t)
	checkPlan(t, p, []string{msg(MessageAlerts, 1, 1, 2, 2)}, map[int64]string{})
	// Once it is sent, the resolved notice and the due repeat go out.
	w.queued = nil
	p, _ = w.plan(t)
	if got, want := shown(p), []string{"alerts t1 c1 r1 d[1]", "alerts t1 c1 r2 d[2]", "repeat t1 c1 r1 o[7]"}; !slices.Equal(got, want) {
		t.Errorf("after the queued message was sent: %q, want %q", got, want)
	}
	// A digest waits for the channel's previous digest the same way; what
	// becomes ready meanwhile is held for the next one.
	w = world{chans: []notify.Channel{hook(1, 1, 0)}, queued: []GroupKey{{TenantID: 1, ChannelID: 1, RuleID: 0}},
		ds: []Delivery{in(DeliveryHeld, dv(1, 1, 1, 1, firing, "a", time.Minute)), dv(2, 1, 2, 1, firing, "a", 0)}}
	p, _ = w.plan(t)
	checkPlan(t, p, nil, map[int64]string{2: DeliveryHeld})
}

// Slack's limit is per webhook URL: two channels (of two tenants even)
// posting to one URL share the one message a second.
func TestBuildPlanSpacesSlackMessagesPerURL(t *testing.T) {
	key := notify.SlackURLKey("https://hooks.slack.com/services/T/B/shared")
	a, b := slackChannel(1, 1), slackChannel(2, 2)
	a.Slack, b.Slack = &notify.SlackSettings{URLKey: key}, &notify.SlackSettings{URLKey: key}
	other := slackChannel(1, 3) // a URL of its own
	w := world{chans: []notify.Channel{a, b, other}, ds: []Delivery{
		dv(1, 1, 1, 1, firing, "a", 0), dv(2, 2, 2, 2, firing, "a", 0), dv(3, 1, 3, 3, firing, "a", 0)}}
	p, _ := w.plan(t)
	at := map[int64]int64{}
	for _, m := range p.Messages {
		at[m.ChannelID] = m.NotBefore
	}
	if shared := []int64{at[1], at[2]}; slices.Min(shared) != now0 || slices.Max(shared) != now0+1000 || at[3] != now0 {
		t.Errorf("NotBefore by channel = %v, want the shared URL's two a second apart and the other at once", at)
	}
}
