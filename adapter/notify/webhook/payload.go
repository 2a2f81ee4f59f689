package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"time"
)

// Statuses of a group and of an alert, as Alertmanager spells them.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Version is the payload version Alertmanager's webhook sends, which
// receivers check.
const Version = "4"

// Group is the alerts of one message: in Pulse, the notifications of one
// rule for one channel.
type Group struct {
	// Key identifies the group across messages (Alertmanager's groupKey):
	// the same rule and channel give the same key.
	Key string
	// Status is firing or resolved; empty means firing when any alert
	// fires, resolved otherwise — Alertmanager's rule.
	Status string
	// Receiver names the channel (Alertmanager's receiver).
	Receiver string
	// ExternalURL links back to Pulse.
	ExternalURL string
	// TruncatedAlerts counts alerts the caller left out of Alerts.
	TruncatedAlerts int
	Alerts          []Alert
}

// Alert is one alert instance of the group.
type Alert struct {
	Status      string // firing or resolved
	Labels      map[string]string
	Annotations map[string]string
	StartsAt    time.Time
	// EndsAt is when a resolved alert ended; zero while firing, sent as
	// 0001-01-01T00:00:00Z as Alertmanager does.
	EndsAt       time.Time
	GeneratorURL string
	// Fingerprint identifies the alert by its labels; empty means
	// computed from Labels as Alertmanager does (Fingerprint).
	Fingerprint string
	// Value is the value that made the transition; nil when there was
	// none (no data). Not in Alertmanager's payload: an addition.
	Value *float64
}

// message is the JSON, field for field and in the order of Alertmanager's
// notify/webhook Message (template.Data, then version, groupKey,
// truncatedAlerts).
type message struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []alertJSON       `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
}

type alertJSON struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Value        *float64          `json:"value"`
}

// Payload is the JSON body of the group's message. commonLabels and
// commonAnnotations are the pairs every alert has. groupLabels is
// {"alertname": <the rule's name>}: Pulse groups by rule, and every alert of
// a rule carries its name as alertname, so the group is what Alertmanager's
// default group_by [alertname] would make (empty if the alerts disagree,
// which a group of one rule never does).
func Payload(g Group) ([]byte, error) {
	if len(g.Alerts) == 0 {
		return nil, errors.New("webhook payload: a group without alerts is no message")
	}
	m := message{
		Receiver: g.Receiver, Status: g.Status, ExternalURL: g.ExternalURL, Version: Version,
		GroupKey: g.Key, TruncatedAlerts: g.TruncatedAlerts, GroupLabels: map[string]string{},
	}
	firing := false
	for i, a := range g.Alerts {
		if a.Status != StatusFiring && a.Status != StatusResolved {
			return nil, fmt.Errorf("webhook payload: alert %d: status %q is neither firing nor resolved", i, a.Status)
		}
		if a.StartsAt.IsZero() {
			return nil, fmt.Errorf("webhook payload: alert %d: no start time", i)
		}
		if a.Value != nil && (math.IsNaN(*a.Value) || math.IsInf(*a.Value, 0)) {
			return nil, fmt.Errorf("webhook payload: alert %d: value %v is not a JSON number", i, *a.Value)
		}
		firing = firing || a.Status == StatusFiring
		j := alertJSON{
			Status: a.Status, Labels: orEmpty(a.Labels), Annotations: orEmpty(a.Annotations),
			StartsAt: a.StartsAt.UTC(), EndsAt: a.EndsAt.UTC(), GeneratorURL: a.GeneratorURL,
			Fingerprint: a.Fingerprint, Value: a.Value,
		}
		if j.Fingerprint == "" {
			j.Fingerprint = Fingerprint(a.Labels)
		}
		m.Alerts = append(m.Alerts, j)
	}
	switch m.Status {
	case "":
		m.Status = StatusResolved
		if firing {
			m.Status = StatusFiring
		}
	case StatusFiring, StatusResolved:
	default:
		return nil, fmt.Errorf("webhook payload: group status %q is neither firing nor resolved", m.Status)
	}
	m.CommonLabels = common(g.Alerts, func(a Alert) map[string]string { return a.Labels })
	m.CommonAnnotations = common(g.Alerts, func(a Alert) map[string]string { return a.Annotations })
	if name, ok := m.CommonLabels["alertname"]; ok {
		m.GroupLabels["alertname"] = name
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("webhook payload: %w", err)
	}
	return b, nil
}

// common is the pairs that every alert's map has.
func common(alerts []Alert, of func(Alert) map[string]string) map[string]string {
	out := maps.Clone(orEmpty(of(alerts[0])))
	for _, a := range alerts[1:] {
		m := of(a)
		maps.DeleteFunc(out, func(k, v string) bool {
			w, ok := m[k]
			return !ok || w != v
		})
	}
	return out
}

// orEmpty makes a nil map {}: Alertmanager always sends objects, and
// receivers index them without a null check.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
