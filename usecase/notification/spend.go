package notification

import (
	"cmp"
	"slices"

	"github.com/pulsemetrics/pulse/domain/notify"
)

// spend turns ready groups into messages while each channel's budget
// allows. What exceeds it is held; held deliveries, and every group that
// becomes ready while some are held, go out together in one digest as
// soon as the budget frees: a storm costs the channel its budget and a
// few digests, and loses nothing.
func (p *planner) spend(ready map[groupKey][]Delivery, held map[chanKey][]Delivery) {
	byChan := map[chanKey][]notify.Group{}
	items := map[groupKey][]Delivery{}
	for k, ds := range ready {
		if p.in.Queued[GroupKey{k.tenant, k.channel, k.rule}] {
			// An earlier message of the group is not sent yet: these wait
			// for it, so the channel hears the rule's notices in order.
			continue
		}
		slices.SortFunc(ds, func(a, b Delivery) int { return cmp.Compare(a.ID, b.ID) })
		items[k] = ds
		g := notify.Group{TenantID: k.tenant, RuleID: k.rule, ChannelID: k.channel, FirstAt: ds[0].CreatedAt}
		for _, d := range ds {
			g.Items = append(g.Items, notify.Pending{OutboxID: d.OutboxID, TenantID: d.TenantID, RuleID: d.RuleID,
				ChannelID: d.ChannelID, Kind: d.Kind, Instance: d.InstanceKey, At: d.CreatedAt})
			g.FirstAt = min(g.FirstAt, d.CreatedAt)
		}
		ck := chanKey{k.tenant, k.channel}
		byChan[ck] = append(byChan[ck], g)
	}
	for ck := range held {
		if _, ok := byChan[ck]; !ok {
			byChan[ck] = nil
		}
	}
	keys := make([]chanKey, 0, len(byChan))
	for k := range byChan {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b chanKey) int {
		return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(a.channel, b.channel))
	})
	for _, ck := range keys {
		groups := byChan[ck]
		// Oldest first, so a budget spends on what has waited longest.
		slices.SortFunc(groups, func(a, b notify.Group) int {
			return cmp.Or(cmp.Compare(a.FirstAt, b.FirstAt), cmp.Compare(a.RuleID, b.RuleID))
		})
		budget := p.budget(ck)
		of := func(g notify.Group) []Delivery { return items[groupKey{g.TenantID, g.RuleID, g.ChannelID}] }
		if len(held[ck]) == 0 {
			send, hold := notify.Plan(groups, budget, p.in.Now)
			for _, g := range send {
				p.message(ck, g.RuleID, MessageAlerts, of(g))
			}
			for _, g := range hold {
				p.hold(of(g))
			}
			continue
		}
		all := slices.Clone(held[ck])
		for _, g := range groups {
			all = append(all, of(g)...)
		}
		if !p.in.Queued[GroupKey{ck.tenant, ck.channel, 0}] && budget.Allow(p.in.Now) {
			slices.SortFunc(all, func(a, b Delivery) int { return cmp.Compare(a.ID, b.ID) })
			p.message(ck, 0, MessageDigest, all)
			p.rep.Digests++
			continue
		}
		for _, g := range groups {
			p.hold(of(g))
		}
	}
}

func (p *planner) hold(ds []Delivery) {
	for _, d := range ds {
		p.plan.States[d.ID] = DeliveryHeld
		p.rep.Held++
	}
}

// message plans one message of ds on channel ck, and records what the
// channel is told of each instance (the repeat schedule).
func (p *planner) message(ck chanKey, rule int64, kind string, ds []Delivery) {
	m := NewMessage{TenantID: ck.tenant, ChannelID: ck.channel, RuleID: rule, Kind: kind, NotBefore: p.notBefore(ck)}
	for _, d := range ds {
		m.Deliveries = append(m.Deliveries, d.ID)
		p.told(d.TenantID, d.ChannelID, d.RuleID, d.InstanceKey, d.Kind, d.OutboxID)
	}
	p.plan.Messages = append(p.plan.Messages, m)
	p.rep.Messages++
}

// notBefore is now, except on Slack, which takes one message a second
// per webhook URL: the next message to a URL is spaced a second after the
// last, whichever of the channels sharing it sent that.
func (p *planner) notBefore(ck chanKey) int64 {
	ch, _ := p.channel(ck.tenant, ck.channel)
	if ch.Kind != notify.KindSlack {
		return p.in.Now
	}
	k := ch.RateKey()
	at := max(p.in.Now, p.slackNext[k])
	p.slackNext[k] = at + 1000
	return at
}

func (p *planner) told(tenant, channel, rule int64, instance, kind string, outbox int64) {
	k := FiringKey{ChannelID: channel, RuleID: rule, InstanceKey: instance}
	if p.touched[k] {
		p.forget(k)
	}
	p.touched[k] = true
	// A no-data notice is not repeated: no notice tells when data is back
	// (nodata → normal is silent), so its schedule would never end.
	if kind == notify.NoticeResolved || kind == notify.NoticeNoData {
		p.plan.Resolved = append(p.plan.Resolved, k)
		return
	}
	p.plan.Fired = append(p.plan.Fired, Firing{TenantID: tenant, ChannelID: channel, RuleID: rule, InstanceKey: instance,
		OutboxID: outbox, LastSentAt: p.in.Now})
}

// forget drops what the pass already decided of an instance's schedule:
// its latest notice decides (the store upserts Fired before it forgets
// Resolved, so an instance in both would be forgotten while firing).
func (p *planner) forget(k FiringKey) {
	p.plan.Resolved = slices.DeleteFunc(p.plan.Resolved, func(r FiringKey) bool { return r == k })
	p.plan.Fired = slices.DeleteFunc(p.plan.Fired, func(f Firing) bool {
		return FiringKey{ChannelID: f.ChannelID, RuleID: f.RuleID, InstanceKey: f.InstanceKey} == k
	})
}

// repeat plans the still-firing instances whose repeat_interval passed,
// one message per rule and channel, within the budget; a muted one waits
// (it is repeated as soon as the silence ends), and so does one the
// budget cannot afford this pass.
func (p *planner) repeat() {
	type key struct{ tenant, channel, rule int64 }
	groups := map[key][]Firing{}
	var order []key
	for _, f := range p.in.Repeats {
		k := FiringKey{ChannelID: f.ChannelID, RuleID: f.RuleID, InstanceKey: f.InstanceKey}
		queued := p.in.Queued[GroupKey{f.TenantID, f.ChannelID, f.RuleID}]
		if _, ok := p.channel(f.TenantID, f.ChannelID); !ok || queued || p.touched[k] || p.muted(f.TenantID, f.RuleID, f.Payload) {
			continue
		}
		gk := key{f.TenantID, f.ChannelID, f.RuleID}
		if _, ok := groups[gk]; !ok {
			order = append(order, gk)
		}
		groups[gk] = append(groups[gk], f)
	}
	for _, gk := range order {
		ck := chanKey{gk.tenant, gk.channel}
		if !p.budget(ck).Allow(p.in.Now) {
			continue
		}
		m := NewMessage{TenantID: gk.tenant, ChannelID: gk.channel, RuleID: gk.rule, Kind: MessageRepeat, NotBefore: p.notBefore(ck)}
		for _, f := range groups[gk] {
			m.Repeats = append(m.Repeats, f.OutboxID)
			f.LastSentAt, f.Payload = p.in.Now, nil
			p.plan.Fired = append(p.plan.Fired, f)
		}
		p.plan.Messages = append(p.plan.Messages, m)
		p.rep.Messages++
		p.rep.Repeats++
	}
}
