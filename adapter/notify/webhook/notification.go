package webhook

import (
	"fmt"
	"maps"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// AlertOf is the alert an outbox notification becomes:
//
//   - firing and nodata are firing (no data is a problem to look at; its
//     Value is null, which tells the two apart), resolved is resolved;
//   - labels are the notification's (rule labels, instance labels and
//     alertname), with severity added unless a label already sets it, since
//     Alertmanager receivers route on a severity label;
//   - startsAt is when the episode began firing (At when it has no FiredAt),
//     endsAt the transition's time when resolved.
func AlertOf(n alerting.Notification) (Alert, error) {
	at, err := time.Parse(time.RFC3339, n.At)
	if err != nil {
		return Alert{}, fmt.Errorf("notification of rule %d: time %q: %w", n.RuleID, n.At, err)
	}
	starts := at
	if n.FiredAt != "" {
		if starts, err = time.Parse(time.RFC3339, n.FiredAt); err != nil {
			return Alert{}, fmt.Errorf("notification of rule %d: fired at %q: %w", n.RuleID, n.FiredAt, err)
		}
	}
	a := Alert{Status: StatusFiring, Labels: maps.Clone(n.Labels), Annotations: maps.Clone(n.Annotations), StartsAt: starts, Value: n.Value}
	switch n.Kind {
	case alert.NotifyFiring, alert.NotifyNoData:
	case alert.NotifyResolved:
		a.Status, a.EndsAt = StatusResolved, at
	default:
		return Alert{}, fmt.Errorf("notification of rule %d: kind %q sends nothing", n.RuleID, n.Kind)
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if _, ok := a.Labels["severity"]; !ok && n.Severity != "" {
		a.Labels["severity"] = string(n.Severity)
	}
	a.Fingerprint = Fingerprint(a.Labels)
	return a, nil
}
