package webhook

import (
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

func TestAlertOf(t *testing.T) {
	v := 97.5
	n := alerting.Notification{
		RuleID: 42, Rule: "HighCPU", Kind: alert.NotifyFiring, Severity: alert.SeverityCritical,
		Labels:      map[string]string{"alertname": "HighCPU", "host": "web-1"},
		Annotations: map[string]string{"summary": "high"},
		Value:       &v, At: "2026-03-01T10:05:00Z", FiredAt: "2026-03-01T10:00:00Z",
	}
	a, err := AlertOf(n)
	if err != nil {
		t.Fatal(err)
	}
	fired := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if a.Status != StatusFiring || !a.StartsAt.Equal(fired) || !a.EndsAt.IsZero() || a.Value != &v || a.Annotations["summary"] != "high" {
		t.Errorf("firing: %+v", a)
	}
	if a.Labels["severity"] != "critical" || n.Labels["severity"] != "" {
		t.Errorf("severity label %q (and the notification's map changed: %v)", a.Labels["severity"], n.Labels)
	}
	if a.Fingerprint != Fingerprint(a.Labels) {
		t.Errorf("fingerprint %q", a.Fingerprint)
	}

	n.Kind = alert.NotifyResolved
	r, err := AlertOf(n)
	if err != nil || r.Status != StatusResolved || !r.EndsAt.Equal(fired.Add(5*time.Minute)) || r.Fingerprint != a.Fingerprint {
		t.Errorf("resolved: %+v %v, want endsAt the transition and the firing alert's fingerprint", r, err)
	}

	n.Kind, n.Value, n.FiredAt = alert.NotifyNoData, nil, ""
	n.Labels["severity"] = "page"
	d, err := AlertOf(n)
	if err != nil || d.Status != StatusFiring || d.Value != nil || !d.StartsAt.Equal(fired.Add(5*time.Minute)) || d.Labels["severity"] != "page" {
		t.Errorf("nodata: %+v %v", d, err)
	}

	for _, bad := range []alerting.Notification{{Kind: alert.NotifyNone, At: n.At}, {Kind: alert.NotifyFiring, At: "yesterday"}, {Kind: alert.NotifyFiring, At: n.At, FiredAt: "x"}} {
		if _, err := AlertOf(bad); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
