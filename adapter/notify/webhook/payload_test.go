package webhook

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/payload.golden.json")

func ptr(v float64) *float64 { return &v }

func exampleGroup() Group {
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return Group{
		Key: "rule:42/channel:7", Receiver: "ops-webhook", ExternalURL: "https://pulse.example.com/alerts/42",
		Alerts: []Alert{
			{
				Status:      StatusFiring,
				Labels:      map[string]string{"alertname": "HighCPU", "host": "web-1", "severity": "critical", "team": "ops"},
				Annotations: map[string]string{"summary": "CPU high on web-1", "runbook": "https://runbooks.example.com/cpu"},
				StartsAt:    start, Value: ptr(97.5),
				GeneratorURL: "https://pulse.example.com/alerts/42",
			},
			{
				Status:      StatusResolved,
				Labels:      map[string]string{"alertname": "HighCPU", "host": "web-2", "severity": "critical", "team": "ops"},
				Annotations: map[string]string{"summary": "CPU high on web-2", "runbook": "https://runbooks.example.com/cpu"},
				StartsAt:    start.Add(-time.Hour).In(time.FixedZone("CET", 3600)), EndsAt: start.Add(-time.Minute), Value: ptr(12),
			},
		},
	}
}

// The payload's shape, byte for byte, against a golden file whose field
// names are Alertmanager's (notify/webhook Message and template.Alert).
func TestPayloadGolden(t *testing.T) {
	b, err := Payload(exampleGroup())
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	const golden = "testdata/payload.golden.json"
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("payload differs from %s:\n%s", golden, pretty.Bytes())
	}
}

// The field names, checked apart from the golden file so that updating it
// cannot rename one: exactly Alertmanager's, plus each alert's value.
func TestPayloadFieldNames(t *testing.T) {
	b, err := Payload(exampleGroup())
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(top), "alerts commonAnnotations commonLabels externalURL groupKey groupLabels receiver status truncatedAlerts version"; got != want {
		t.Errorf("fields %q, want %q", got, want)
	}
	var alerts []map[string]json.RawMessage
	if err := json.Unmarshal(top["alerts"], &alerts); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(alerts[0]), "annotations endsAt fingerprint generatorURL labels startsAt status value"; got != want {
		t.Errorf("alert fields %q, want %q", got, want)
	}
}

func keys(m map[string]json.RawMessage) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, " ")
}

func TestPayloadCommonAndStatus(t *testing.T) {
	decode := func(g Group) message {
		t.Helper()
		b, err := Payload(g)
		if err != nil {
			t.Fatal(err)
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := decode(exampleGroup())
	if m.Version != "4" || m.Status != StatusFiring || m.GroupKey != "rule:42/channel:7" {
		t.Errorf("version %q status %q key %q", m.Version, m.Status, m.GroupKey)
	}
	if got := m.CommonLabels; len(got) != 3 || got["alertname"] != "HighCPU" || got["team"] != "ops" || got["severity"] != "critical" {
		t.Errorf("commonLabels %v, want alertname, severity and team (host differs)", got)
	}
	if got := m.CommonAnnotations; len(got) != 1 || got["runbook"] == "" {
		t.Errorf("commonAnnotations %v, want the runbook only", got)
	}
	if got := m.GroupLabels; len(got) != 1 || got["alertname"] != "HighCPU" {
		t.Errorf("groupLabels %v, want the alertname", got)
	}
	if !m.Alerts[0].EndsAt.IsZero() || m.Alerts[1].StartsAt.Location() != time.UTC {
		t.Errorf("endsAt %v startsAt %v", m.Alerts[0].EndsAt, m.Alerts[1].StartsAt)
	}
	if m.Alerts[0].Fingerprint != Fingerprint(exampleGroup().Alerts[0].Labels) {
		t.Errorf("fingerprint %q not computed from the labels", m.Alerts[0].Fingerprint)
	}

	g := exampleGroup()
	g.Alerts[0].Status = StatusResolved
	g.Alerts[0].EndsAt = g.Alerts[0].StartsAt.Add(time.Minute)
	if m := decode(g); m.Status != StatusResolved {
		t.Errorf("all resolved: status %q", m.Status)
	}
	g.Status = StatusFiring // the caller's word wins
	if m := decode(g); m.Status != StatusFiring {
		t.Errorf("given status: %q", m.Status)
	}

	// Nil maps are objects; alerts disagreeing on alertname group by nothing.
	bare := Group{Key: "k", Alerts: []Alert{
		{Status: StatusFiring, StartsAt: time.Unix(1, 0), Labels: map[string]string{"alertname": "A"}},
		{Status: StatusFiring, StartsAt: time.Unix(1, 0)},
	}}
	b, err := Payload(bare)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"groupLabels":{}`, `"commonLabels":{}`, `"commonAnnotations":{}`, `"labels":{}`, `"annotations":{}`, `"value":null`, `"endsAt":"0001-01-01T00:00:00Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("payload lacks %s: %s", want, b)
		}
	}
}

func TestPayloadRefusesWhatIsNoMessage(t *testing.T) {
	nan := 0.0
	nan /= nan
	cases := map[string]func(*Group){
		"no alerts":         func(g *Group) { g.Alerts = nil },
		"group status":      func(g *Group) { g.Status = "nodata" },
		"alert status":      func(g *Group) { g.Alerts[1].Status = "pending" },
		"no start":          func(g *Group) { g.Alerts[0].StartsAt = time.Time{} },
		"value not JSON":    func(g *Group) { g.Alerts[0].Value = &nan },
		"alert status \"\"": func(g *Group) { g.Alerts[0].Status = "" },
	}
	for name, change := range cases {
		g := exampleGroup()
		change(&g)
		if _, err := Payload(g); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Alertmanager's fingerprints (Prometheus model.LabelSet.Fingerprint),
// recorded from that library.
func TestFingerprintIsAlertmanagers(t *testing.T) {
	cases := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{}, "cbf29ce484222325"},
		{map[string]string{"alertname": "HighCPU"}, "b5160f6bd9249a48"},
		{map[string]string{"alertname": "HighCPU", "host": "web-1", "severity": "critical"}, "dac487595491f970"},
		{map[string]string{"a": "é", "b": ""}, "2dd41e793e45b2ea"},
	}
	for _, c := range cases {
		if got := Fingerprint(c.labels); got != c.want {
			t.Errorf("Fingerprint(%v) = %s, want %s", c.labels, got, c.want)
		}
	}
}
