package features_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// ---- what the receivers got ----

func (n *notifySteps) registerChecks(sc *godog.ScenarioContext) {
	sc.Step(`^the receiver has received nothing$`, func() error { return n.received("", 0) })
	sc.Step(`^the receiver "([^"]*)" has received nothing$`, func(name string) error { return n.received(name, 0) })
	sc.Step(`^the receiver has received (\d+) requests?$`, func(count int) error { return n.received("", count) })
	sc.Step(`^the receiver has received (\d+) requests?, all with one webhook-id$`, n.receivedWithOneID)
	sc.Step(`^the receiver holds exactly (\d+) "(firing|resolved)" messages? of "([^"]*)"(?:, with (\d+) alerts)?$`, n.holdsExactly)
	sc.Step(`^its alerts? started at (\{\{[^}]*\}\})(?:, and ended at (\{\{[^}]*\}\}))?$`, n.itsAlertsStarted)
	sc.Step(`^its alerts are those of hosts (.+)$`, n.itsAlertsAreOfHosts)
	sc.Step(`^the channel "([^"]*)" has received (\d+) messages? of one alert each and (no digest|1 digest of (\d+) alerts)$`, n.channelReceived)
	sc.Step(`^the alerts "([^"]*)" to "([^"]*)" each reached the channel "([^"]*)" exactly once$`, n.eachReachedOnce)
}

// received checks the number of requests of a receiver; every one must be
// a signed message of one of the scenario's channels.
func (n *notifySteps) received(name string, count int) error {
	r, err := n.receiver(name)
	if err != nil {
		return err
	}
	ms, err := n.messages(r)
	if err != nil {
		return err
	}
	if len(ms) != count {
		return fmt.Errorf("the receiver %q has received %d requests, want %d:%s", name, len(ms), count, describe(ms))
	}
	return nil
}

func describe(ms []signedMessage) string {
	var b strings.Builder
	for _, m := range ms {
		var names []string
		for _, a := range m.msg.Alerts {
			names = append(names, a.Labels["alertname"]+"/"+a.Status)
		}
		fmt.Fprintf(&b, "\n  %s %s to %q key %s: %v", m.id, m.msg.Status, m.msg.Receiver, m.msg.GroupKey, names)
	}
	return b.String()
}

var webhookIDRE = regexp.MustCompile(`^msg_[0-9]+$`)

func (n *notifySteps) receivedWithOneID(count int) error {
	if err := n.received("", count); err != nil {
		return err
	}
	ms, _ := n.messages(n.receivers[""])
	for _, m := range ms {
		if !webhookIDRE.MatchString(m.id) || m.id != ms[0].id {
			return fmt.Errorf("the requests' webhook-ids differ or are not msg_<message id>:%s", describe(ms))
		}
	}
	return nil
}

// holdsExactly finds the receiver's messages of status about the alert
// name (every alert's alertname; for a rule of the scenario, the rule's
// groupKey too) and remembers them for the steps that follow.
func (n *notifySteps) holdsExactly(count int, status, name, alerts string) error {
	ms, err := n.messages(n.receivers[""])
	if err != nil {
		return err
	}
	key := ""
	if r, ok := n.a.rules[name]; ok {
		t, err := n.s.tenant(r.tenant)
		if err != nil {
			return err
		}
		key = fmt.Sprintf("pulse/%d/rule/%d", t.id, r.id)
	}
	n.picked = nil
	for _, m := range ms {
		if m.msg.Status != status || m.msg.GroupLabels["alertname"] != name {
			continue
		}
		if key != "" && m.msg.GroupKey != key {
			return fmt.Errorf("a message of %q has the groupKey %q, want %q", name, m.msg.GroupKey, key)
		}
		for i, a := range m.msg.Alerts {
			if a.Status != status || a.Labels["alertname"] != name {
				return fmt.Errorf("alert %d of a %s message of %q is %s of %q", i, status, name, a.Status, a.Labels["alertname"])
			}
		}
		if alerts != "" && strconv.Itoa(len(m.msg.Alerts)) != alerts {
			return fmt.Errorf("a %s message of %q has %d alerts, want %s:%s", status, name, len(m.msg.Alerts), alerts, describe(ms))
		}
		n.picked = append(n.picked, m)
	}
	if len(n.picked) != count {
		return fmt.Errorf("the receiver holds %d %s messages of %q, want %d:%s", len(n.picked), status, name, count, describe(ms))
	}
	return nil
}

func (n *notifySteps) itsAlertsStarted(started, ended string) error {
	if len(n.picked) == 0 {
		return fmt.Errorf("no message picked by a previous step")
	}
	starts, err := n.a.at(started)
	if err != nil {
		return err
	}
	var ends time.Time
	if ended != "" {
		if ends, err = n.a.at(ended); err != nil {
			return err
		}
	}
	for _, m := range n.picked {
		for i, a := range m.msg.Alerts {
			if err := sameTime(fmt.Sprintf("alerts[%d].startsAt", i), &a.StartsAt, starts); err != nil {
				return err
			}
			if !ends.IsZero() {
				if err := sameTime(fmt.Sprintf("alerts[%d].endsAt", i), &a.EndsAt, ends); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (n *notifySteps) itsAlertsAreOfHosts(hosts string) error {
	var want []string
	for _, m := range quotedRE.FindAllStringSubmatch(hosts, -1) {
		want = append(want, m[1])
	}
	for _, m := range n.picked {
		var got, prints []string
		for _, a := range m.msg.Alerts {
			got = append(got, a.Labels["host"])
			prints = append(prints, a.Fingerprint)
		}
		slices.Sort(got)
		slices.Sort(prints)
		if !slices.Equal(got, want) || len(slices.Compact(prints)) != len(want) {
			return fmt.Errorf("the message's alerts are of hosts %v with fingerprints %v, want one each of %v", got, prints, want)
		}
	}
	return nil
}

// byChannel is the receiver's messages of one channel.
func (n *notifySteps) byChannel(name string) ([]signedMessage, error) {
	all, err := n.messages(n.receivers[""])
	if err != nil {
		return nil, err
	}
	var out []signedMessage
	for _, m := range all {
		if m.msg.Receiver == name {
			out = append(out, m)
		}
	}
	return out, nil
}

// channelReceived counts a channel's messages: those of one rule (each of
// one alert here) and the digests, told by their groupKey.
func (n *notifySteps) channelReceived(name string, count int, digest, digestAlerts string) error {
	ms, err := n.byChannel(name)
	if err != nil {
		return err
	}
	var rules, digests []signedMessage
	for _, m := range ms {
		switch {
		case strings.HasSuffix(m.msg.GroupKey, "/digest"):
			digests = append(digests, m)
		case strings.Contains(m.msg.GroupKey, "/rule/") && len(m.msg.Alerts) == 1:
			rules = append(rules, m)
		default:
			return fmt.Errorf("channel %q received a message that is neither one alert nor a digest:%s", name, describe([]signedMessage{m}))
		}
	}
	wantDigests := 0
	if digest != "no digest" {
		wantDigests = 1
	}
	if len(rules) != count || len(digests) != wantDigests {
		return fmt.Errorf("channel %q received %d messages of one alert and %d digests, want %d and %d:%s", name, len(rules), len(digests), count, wantDigests, describe(ms))
	}
	if wantDigests == 1 && strconv.Itoa(len(digests[0].msg.Alerts)) != digestAlerts {
		return fmt.Errorf("channel %q received a digest of %d alerts, want %s", name, len(digests[0].msg.Alerts), digestAlerts)
	}
	return nil
}

// eachReachedOnce checks that the alert names first…last ("disk 01" to
// "disk 30") each came exactly once to the channel, and no other.
func (n *notifySteps) eachReachedOnce(first, last, name string) error {
	prefix, from, ok1 := cutNumber(first)
	prefix2, to, ok2 := cutNumber(last)
	if !ok1 || !ok2 || prefix != prefix2 || to < from {
		return fmt.Errorf(`want "<name> 01" to "<name> 30", got %q to %q`, first, last)
	}
	ms, err := n.byChannel(name)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, m := range ms {
		for _, a := range m.msg.Alerts {
			seen[a.Labels["alertname"]]++
		}
	}
	width := len(first) - len(prefix)
	for i := from; i <= to; i++ {
		alertname := fmt.Sprintf("%s%0*d", prefix, width, i)
		if seen[alertname] != 1 {
			return fmt.Errorf("%q reached channel %q %d times, want once:%s", alertname, name, seen[alertname], describe(ms))
		}
		delete(seen, alertname)
	}
	if len(seen) > 0 {
		return fmt.Errorf("channel %q also received %v", name, seen)
	}
	return nil
}

// cutNumber splits "disk 07" into "disk " and 7.
func cutNumber(s string) (string, int, bool) {
	i := strings.LastIndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	v, err := strconv.Atoi(s[i+1:])
	return s[:i+1], v, err == nil
}
