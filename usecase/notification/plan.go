package notification

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/pulsemetrics/pulse/domain/notify"
)

// planInput is what one planner pass decides on.
type planInput struct {
	Now        int64
	Deliveries []Delivery // waiting, held or silenced
	Repeats    []Firing   // due
	Channels   map[int64]map[int64]notify.Channel
	Silences   map[int64][]notify.Silence
	PerMinute  func(tenantID int64) int
	Sent       []Sent // the last minute's messages
	// Queued are the groups with a message not yet sent: nothing newer of
	// theirs is planned until it is.
	Queued map[GroupKey]bool
}

type chanKey struct{ tenant, channel int64 }

type groupKey struct{ tenant, rule, channel int64 }

// planner is one pass's working state.
type planner struct {
	in        planInput
	plan      Plan
	rep       PassReport
	budgets   map[chanKey]*notify.Budget
	slackNext map[string]int64 // Slack URL (RateKey) → earliest next message
	touched   map[FiringKey]bool
}

// buildPlan decides a pass: which deliveries go out in which message,
// which wait, which a silence holds, which flood protection holds for
// the next digest, and which still-firing groups are repeated. Pure.
func buildPlan(in planInput) (Plan, PassReport) {
	p := &planner{in: in, plan: Plan{Now: in.Now, States: map[int64]string{}},
		budgets: map[chanKey]*notify.Budget{}, slackNext: map[string]int64{}, touched: map[FiringKey]bool{}}
	p.replaySent()
	ready, held := p.classify()
	p.spend(ready, held)
	p.repeat()
	return p.plan, p.rep
}

func (p *planner) channel(tenant, id int64) (notify.Channel, bool) {
	c, ok := p.in.Channels[tenant][id]
	return c, ok
}

func (p *planner) budget(k chanKey) *notify.Budget {
	b, ok := p.budgets[k]
	if !ok {
		nb := notify.NewBudget(p.in.PerMinute(k.tenant))
		b = &nb
		p.budgets[k] = b
	}
	return b
}

// replaySent spends the budgets on the last minute's messages.
func (p *planner) replaySent() {
	for _, s := range p.in.Sent {
		b := p.budget(chanKey{s.TenantID, s.ChannelID})
		for _, at := range s.At {
			b.Allow(min(at, p.in.Now))
			if ch, ok := p.channel(s.TenantID, s.ChannelID); ok && ch.Kind == notify.KindSlack {
				k := ch.RateKey()
				p.slackNext[k] = max(p.slackNext[k], at+1000)
			}
		}
	}
}

func labelsOf(payload []byte) map[string]string {
	var n struct {
		Labels map[string]string `json:"labels"`
	}
	_ = json.Unmarshal(payload, &n) // an undecodable payload has no labels: only rule-wide silences match it
	return n.Labels
}

func (p *planner) muted(tenant, rule int64, payload []byte) bool {
	ss := p.in.Silences[tenant]
	return len(ss) > 0 && notify.Muted(ss, rule, labelsOf(payload), p.in.Now)
}

// classify sorts the deliveries: ready groups (group_wait passed, not
// muted, or released by a silence's end), held ones per channel, and the
// state changes of the rest.
func (p *planner) classify() (ready map[groupKey][]Delivery, held map[chanKey][]Delivery) {
	ready, held = map[groupKey][]Delivery{}, map[chanKey][]Delivery{}
	waiting := map[groupKey][]Delivery{}
	var released []Delivery
	for _, d := range p.in.Deliveries {
		if _, ok := p.channel(d.TenantID, d.ChannelID); !ok {
			p.plan.States[d.ID] = DeliverySuppressed
			p.rep.Dropped++
			continue
		}
		switch d.State {
		case DeliverySilenced:
			if !p.muted(d.TenantID, d.RuleID, d.Payload) {
				released = append(released, d)
			}
		case DeliveryHeld:
			k := chanKey{d.TenantID, d.ChannelID}
			held[k] = append(held[k], d)
		default:
			k := groupKey{d.TenantID, d.RuleID, d.ChannelID}
			waiting[k] = append(waiting[k], d)
		}
	}
	for k, ds := range waiting {
		ch, _ := p.channel(k.tenant, k.channel)
		first := ds[0].CreatedAt
		for _, d := range ds {
			first = min(first, d.CreatedAt)
		}
		if p.in.Now-first < ch.GroupWait.Milliseconds() {
			continue
		}
		for _, d := range ds {
			if p.muted(d.TenantID, d.RuleID, d.Payload) {
				p.plan.States[d.ID] = DeliverySilenced
				p.rep.Silenced++
			} else {
				ready[k] = append(ready[k], d)
			}
		}
	}
	for _, d := range p.collapse(released) {
		k := groupKey{d.TenantID, d.RuleID, d.ChannelID}
		ready[k] = append(ready[k], d)
	}
	return ready, held
}

// collapse keeps, of what a silence held, what is still news per instance
// and channel: its latest notice. Every notice before the latest is moot,
// and so is a resolved notice of an instance whose first held notice was a
// firing one: it fired and resolved while muted, so the channel never
// heard it fire. (When the first held notice is a resolved one, the
// instance fired before the silence began and its end is news.)
func (p *planner) collapse(released []Delivery) []Delivery {
	type instKey struct {
		channel, rule int64
		instance      string
	}
	byInst := map[instKey][]Delivery{}
	var order []instKey
	for _, d := range released {
		k := instKey{d.ChannelID, d.RuleID, d.InstanceKey}
		if _, ok := byInst[k]; !ok {
			order = append(order, k)
		}
		byInst[k] = append(byInst[k], d)
	}
	var keep []Delivery
	for _, k := range order {
		ds := byInst[k]
		slices.SortFunc(ds, func(a, b Delivery) int { return cmp.Compare(a.ID, b.ID) })
		last := ds[len(ds)-1]
		firedWhileMuted := ds[0].Kind == notify.NoticeFiring
		for _, d := range ds[:len(ds)-1] {
			p.plan.States[d.ID] = DeliverySuppressed
			p.rep.Suppressed++
		}
		if last.Kind == notify.NoticeResolved && firedWhileMuted {
			p.plan.States[last.ID] = DeliverySuppressed
			p.rep.Suppressed++
			fk := FiringKey{last.ChannelID, last.RuleID, last.InstanceKey}
			p.plan.Resolved = append(p.plan.Resolved, fk)
			p.touched[fk] = true // a later notice this pass overrides it
			continue
		}
		p.rep.Released++
		keep = append(keep, last)
	}
	return keep
}
