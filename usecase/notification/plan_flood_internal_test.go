package notification

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
)

// floodStore is the planner's store in memory: the deliveries with their
// states and the messages planned so far.
type floodStore struct {
	ds       map[int64]*Delivery
	messages []NewMessage
	carried  map[int64]int // delivery → how many messages carry it
}

// unplanned is what Store.Unplanned answers: waiting, held or silenced
// deliveries, oldest first, at most perTenant of one tenant's.
func (s *floodStore) unplanned(limit, perTenant int) []Delivery {
	var all []Delivery
	for _, d := range s.ds {
		switch d.State {
		case DeliveryWaiting, DeliveryHeld, DeliverySilenced:
			all = append(all, *d)
		}
	}
	slices.SortFunc(all, func(a, b Delivery) int { return cmp.Compare(a.ID, b.ID) })
	var out []Delivery
	taken := map[int64]int{}
	for _, d := range all {
		if len(out) < limit && taken[d.TenantID] < perTenant {
			taken[d.TenantID]++
			out = append(out, d)
		}
	}
	return out
}

// sentSince is what Store.SentSince answers.
func (s *floodStore) sentSince(since int64) []Sent {
	by := map[chanKey][]int64{}
	for _, m := range s.messages {
		if m.NotBefore >= since {
			k := chanKey{m.TenantID, m.ChannelID}
			by[k] = append(by[k], m.NotBefore)
		}
	}
	var out []Sent
	for k, at := range by {
		slices.Sort(at)
		out = append(out, Sent{TenantID: k.tenant, ChannelID: k.channel, At: at})
	}
	return out
}

func (s *floodStore) commit(t *testing.T, p Plan) {
	t.Helper()
	for _, m := range p.Messages {
		if len(m.Deliveries) == 0 {
			t.Fatalf("an empty message: %+v", m)
		}
		for _, id := range m.Deliveries {
			d := s.ds[id]
			if d.State == DeliveryPlanned {
				t.Fatalf("delivery %d planned again at %d", id, p.Now)
			}
			d.State = DeliveryPlanned
			s.carried[id]++
		}
		s.messages = append(s.messages, m)
	}
	for id, st := range p.States {
		if s.ds[id].State == DeliveryPlanned {
			t.Fatalf("delivery %d both planned and %s", id, st)
		}
		s.ds[id].State = st
	}
}

// A flood of one tenant costs its channel the budget and a few digests,
// loses nothing, and does not delay another tenant's alert.
func TestBuildPlanFloodOfOneTenant(t *testing.T) {
	const (
		tenantA, tenantB = 1, 2
		chanA, chanB     = 1, 2
		perMinute        = 10
	)
	wait := 10 * time.Second
	channels := map[int64]map[int64]notify.Channel{
		tenantA: {chanA: hook(tenantA, chanA, wait)},
		tenantB: {chanB: hook(tenantB, chanB, wait)},
	}
	s := &floodStore{ds: map[int64]*Delivery{}, carried: map[int64]int{}}
	for i := int64(1); i <= 1000; i++ {
		rule := 1 + i%100
		d := dv(i, tenantA, rule, chanA, firing, fmt.Sprint("h", i), 0)
		d.CreatedAt = now0
		s.ds[i] = &d
	}
	b := dv(1001, tenantB, 500, chanB, firing, "b", 0)
	b.CreatedAt = now0
	s.ds[b.ID] = &b

	start := now0 + wait.Milliseconds() // the flood's group_wait has passed
	var passes int
	for now := start; now <= start+5*time.Minute.Milliseconds(); now += 1000 {
		in := planInput{Now: now, Deliveries: s.unplanned(2000, 500), Channels: channels,
			PerMinute: func(int64) int { return perMinute }, Sent: s.sentSince(now - time.Minute.Milliseconds())}
		if len(in.Deliveries) == 0 {
			continue
		}
		passes++
		p, _ := buildPlan(in)
		s.commit(t, p)
		if now == start && s.ds[b.ID].State != DeliveryPlanned {
			t.Errorf("tenant B's delivery not planned in the first pass: %s", s.ds[b.ID].State)
		}
	}

	var atA []int64
	kinds := map[string]int{}
	for _, m := range s.messages {
		if m.TenantID == tenantA {
			atA = append(atA, m.NotBefore)
			kinds[m.Kind]++
		}
	}
	slices.Sort(atA)
	for i := perMinute; i < len(atA); i++ {
		if atA[i]-atA[i-perMinute] < time.Minute.Milliseconds() {
			t.Fatalf("tenant A got %d messages within %d ms (from %d)", perMinute+1, atA[i]-atA[i-perMinute], atA[i-perMinute]-start)
		}
	}
	for id, d := range s.ds {
		if n := s.carried[id]; n != 1 || d.State != DeliveryPlanned {
			t.Errorf("delivery %d (tenant %d) is in %d messages, state %s; want exactly one", id, d.TenantID, n, d.State)
		}
	}
	if kinds[MessageDigest] == 0 {
		t.Errorf("no digest folded the flood: %v", kinds)
	}
	t.Logf("1000 deliveries of tenant A went out in %d messages (%v) over %d passes, the last %d s after the first",
		len(atA), kinds, passes, (atA[len(atA)-1]-atA[0])/1000)
}
