package notify

import "time"

// The notice kinds a pending notification carries (alert.Notify's values).
const (
	NoticeFiring   = "firing"
	NoticeResolved = "resolved"
	NoticeNoData   = "nodata"
)

// Pending is one claimed outbox row bound for one channel. At is the
// transition's time, Unix milliseconds.
type Pending struct {
	OutboxID  int64
	TenantID  int64
	RuleID    int64
	ChannelID int64
	Kind      string
	Instance  string
	At        int64
}

// Group is the pending notifications of one rule for one channel of one
// tenant: what is sent as one message. FirstAt is the oldest item's At.
type Group struct {
	TenantID  int64
	RuleID    int64
	ChannelID int64
	Items     []Pending
	FirstAt   int64
}

type groupKey struct{ tenant, rule, channel int64 }

// GroupPending groups items by (tenant, rule, channel). Groups come in the
// order their first item appears in items, and each group's items keep
// their input order: every item is in exactly one group.
func GroupPending(items []Pending) []Group {
	var groups []Group
	index := map[groupKey]int{}
	for _, it := range items {
		k := groupKey{it.TenantID, it.RuleID, it.ChannelID}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, Group{TenantID: it.TenantID, RuleID: it.RuleID, ChannelID: it.ChannelID, FirstAt: it.At})
		}
		g := &groups[i]
		g.Items = append(g.Items, it)
		if it.At < g.FirstAt {
			g.FirstAt = it.At
		}
	}
	return groups
}

// Ready reports whether the group's oldest item has waited groupWait at
// now (Unix ms). A groupWait of 0 (or less) sends at once.
func (g Group) Ready(now int64, groupWait time.Duration) bool {
	if groupWait <= 0 {
		return true
	}
	return now-g.FirstAt >= groupWait.Milliseconds()
}

// FilterResolved splits items into those to send and those to skip: with
// sendResolved false, resolved notices are skipped; everything else is
// sent. Both keep the input order.
func FilterResolved(items []Pending, sendResolved bool) (send, skip []Pending) {
	for _, it := range items {
		if !sendResolved && it.Kind == NoticeResolved {
			skip = append(skip, it)
		} else {
			send = append(send, it)
		}
	}
	return send, skip
}

// RepeatDue reports whether a still-firing group last sent at lastSent
// (Unix ms) is due to be sent again at now. A repeat of 0 (or less) is the
// default, 4h, as Normalize fills it.
func RepeatDue(lastSent, now int64, repeat time.Duration) bool {
	if repeat <= 0 {
		repeat = DefaultRepeatInterval
	}
	return now-lastSent >= repeat.Milliseconds()
}
