package deliverer

import (
	"fmt"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/email"
	"github.com/pulsemetrics/pulse/adapter/notify/slack"
	"github.com/pulsemetrics/pulse/adapter/notify/webhook"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// ruleURL is the rule's page in Pulse ("" without an external URL).
func ruleURL(base string, ruleID int64) string {
	if base == "" || ruleID == 0 {
		return ""
	}
	return strings.TrimRight(base, "/") + fmt.Sprintf("/alerts/%d", ruleID)
}

func at(n notification.Notification) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, n.At) // the alerting use case writes RFC 3339; a zero time renders as unknown
	return t
}

// webhookBody is the Alertmanager-style payload: every notification of
// the message as an alert (a digest's too, so a receiver gets each one).
func webhookBody(ch notify.Channel, m notification.Outgoing) ([]byte, error) {
	g := webhook.Group{Receiver: ch.Name, ExternalURL: m.ExternalURL}
	switch {
	case m.Kind == notification.MessageDigest:
		g.Key = fmt.Sprintf("pulse/%d/channel/%d/digest", m.TenantID, ch.ID)
	case len(m.Notifications) > 0:
		g.Key = fmt.Sprintf("pulse/%d/rule/%d", m.TenantID, m.Notifications[0].RuleID)
	}
	for _, n := range m.Notifications {
		a, err := webhook.AlertOf(n)
		if err != nil {
			return nil, err
		}
		a.GeneratorURL = ruleURL(m.ExternalURL, n.RuleID)
		g.Alerts = append(g.Alerts, a)
	}
	return webhook.Payload(g)
}

func status(k alert.Notify) string {
	switch k {
	case alert.NotifyResolved:
		return notify.NoticeResolved
	case alert.NotifyNoData:
		return notify.NoticeNoData
	}
	return notify.NoticeFiring
}

func slackBody(m notification.Outgoing) ([]byte, error) {
	if m.Digest != nil {
		info := slack.DigestInfo{Count: m.Digest.Count, Since: time.UnixMilli(m.Digest.Since), Until: time.UnixMilli(m.Digest.Until), Status: m.Status}
		for _, r := range m.Digest.ByRule {
			info.ByRule = append(info.ByRule, slack.RuleCount{Rule: r.Rule, URL: ruleURL(m.ExternalURL, r.RuleID), N: r.N})
		}
		return slack.Digest(info)
	}
	alerts := make([]slack.Alert, 0, len(m.Notifications))
	for _, n := range m.Notifications {
		alerts = append(alerts, slack.Alert{Rule: n.Rule, RuleURL: ruleURL(m.ExternalURL, n.RuleID), Status: status(n.Kind),
			Severity: string(n.Severity), Instance: n.Instance, Labels: n.Labels, Annotations: n.Annotations, Value: n.Value,
			Threshold: n.Threshold, Condition: n.Condition, At: at(n)})
	}
	return slack.Message(alerts, m.Status)
}

func emailMessage(m notification.Outgoing) email.Message {
	alerts := make([]email.Alert, 0, len(m.Notifications))
	for _, n := range m.Notifications {
		alerts = append(alerts, email.Alert{Rule: n.Rule, RuleURL: ruleURL(m.ExternalURL, n.RuleID), Status: status(n.Kind),
			Severity: string(n.Severity), Instance: n.Instance, Labels: n.Labels, Annotations: n.Annotations, Value: n.Value,
			Threshold: n.Threshold, Condition: n.Condition, At: at(n)})
	}
	msg := email.Render(alerts, m.Status)
	if m.Digest != nil {
		msg.Subject = "[Pulse] " + m.Digest.Text(5)
		msg.Text = m.Digest.Text(0) + "\n\n" + msg.Text
	}
	return msg
}
