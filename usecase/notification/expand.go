package notification

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pulsemetrics/pulse/domain/notify"
)

// expand turns the oldest unexpanded outbox rows into deliveries, one per
// channel the rule named when it fired (the payload's channels, so a
// rule's later edit does not reroute what already happened). A resolved
// notice to a channel that does not send them is stored skipped, so the
// history tells why nothing went out. A channel deleted since is counted
// and logged as dropped: there is nowhere left to send it.
func (s *Service) expand(ctx context.Context, now int64, rep *PassReport) error {
	items, err := s.store.PendingOutbox(ctx, s.opts.Batch, s.opts.PerTenant)
	if err != nil || len(items) == 0 {
		return err
	}
	// Each payload is decoded once: its channels, looked up per tenant in
	// one query, then its deliveries.
	named := make([][]int64, len(items))
	bad := make([]error, len(items))
	ids := map[int64][]int64{}
	for i, it := range items {
		var n struct {
			Channels []int64 `json:"channels"`
		}
		if bad[i] = json.Unmarshal(it.Payload, &n); bad[i] == nil {
			named[i] = uniq(n.Channels)
			ids[it.TenantID] = append(ids[it.TenantID], named[i]...)
		}
	}
	channels, err := s.loadChannels(ctx, ids)
	if err != nil {
		return err
	}
	es := make([]Expansion, 0, len(items))
	for i, it := range items {
		if err := bad[i]; err != nil {
			// Written by the alerting use case as JSON: never expected, but one
			// bad row must not stop the queue behind it.
			s.log.Error("outbox row does not decode; expanded without deliveries", "outbox", it.ID, "err", err)
			rep.Dropped++
			es = append(es, Expansion{Outbox: it})
			continue
		}
		e := Expansion{Outbox: it}
		for _, id := range named[i] {
			ch, ok := channels[it.TenantID][id]
			if !ok {
				s.log.Warn("notification dropped: its channel was deleted", "tenant", it.TenantID, "rule", it.RuleID, "channel", id, "outbox", it.ID)
				rep.Dropped++
				continue
			}
			state := DeliveryWaiting
			if it.Kind == notify.NoticeResolved && !ch.SendResolved {
				state = DeliverySkipped
				rep.Skipped++
			}
			e.Deliveries = append(e.Deliveries, NewDelivery{ChannelID: id, State: state})
		}
		rep.Deliveries += len(e.Deliveries)
		es = append(es, e)
	}
	if err := s.store.Expand(ctx, now, es); err != nil {
		return fmt.Errorf("expand %d outbox rows: %w", len(es), err)
	}
	rep.Expanded += len(es)
	return nil
}

func (s *Service) loadChannels(ctx context.Context, ids map[int64][]int64) (map[int64]map[int64]notify.Channel, error) {
	out := make(map[int64]map[int64]notify.Channel, len(ids))
	for tenant, list := range ids {
		m, err := s.channels.ChannelsByID(ctx, tenant, uniq(list))
		if err != nil {
			return nil, fmt.Errorf("load channels of tenant %d: %w", tenant, err)
		}
		out[tenant] = m
	}
	return out, nil
}

func uniq(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
