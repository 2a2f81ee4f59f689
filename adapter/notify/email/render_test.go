package email

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr(v float64) *float64 { return &v }

func sampleAlerts() []Alert {
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	return []Alert{
		{
			Rule: "CPU high", RuleURL: "https://pulse.example.com/rules/42", Severity: "critical",
			Instance: "web-1", Value: ptr(93.5), Threshold: 90, Condition: "avg(cpu)[5m] > 90", At: at,
			Labels:      map[string]string{"env": "prod", "host": "web-1"},
			Annotations: map[string]string{"summary": "CPU above 90%", "runbook": "see wiki"},
		},
		{Rule: "CPU high", Status: StatusResolved, Instance: "web-2", Value: ptr(12), Threshold: 90, At: at},
		{Rule: "CPU high", Status: StatusNoData, Instance: "web-3", Threshold: 90},
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	m := Render(sampleAlerts(), StatusFiring)
	if m.Subject != "[FIRING] CPU high (3)" {
		t.Errorf("subject = %q", m.Subject)
	}
	golden(t, "firing.txt", m.Text)
	golden(t, "firing.html", m.HTML)

	one := Render(sampleAlerts()[1:2], StatusResolved)
	if one.Subject != "[RESOLVED] CPU high (1)" {
		t.Errorf("subject = %q", one.Subject)
	}
	golden(t, "resolved.txt", one.Text)
}

func TestRenderEscapesUserText(t *testing.T) {
	a := sampleAlerts()[0]
	a.Labels = map[string]string{"x": "<script>alert(1)</script>"}
	a.Rule = `<b onmouseover="x">rule</b>`
	a.RuleURL = "javascript:alert(1)"
	m := Render([]Alert{a}, StatusFiring)
	for _, bad := range []string{"<script>", "<b onmouseover", "javascript:"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("HTML contains %q:\n%s", bad, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("label not escaped in HTML:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "x=<script>alert(1)</script>") {
		t.Errorf("text part should show the label as is:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "View rule") {
		t.Errorf("a javascript: link must be left out:\n%s", m.Text)
	}
}

func TestRenderSubjectHeaderSafe(t *testing.T) {
	a := Alert{Rule: "disk\r\nBcc: victim@example.com\nfull", Threshold: 1}
	m := Render([]Alert{a}, StatusFiring)
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("subject has CR/LF: %q", m.Subject)
	}
	if m.Subject != "[FIRING] disk  Bcc: victim@example.com full (1)" {
		t.Errorf("subject = %q", m.Subject)
	}
	// Lines of the text part cannot be forged either.
	a.Instance = "web\nSeverity: info"
	if strings.Contains(Render([]Alert{a}, StatusFiring).Text, "\nSeverity: info") {
		t.Error("a newline in a field starts a line of the text part")
	}
}

func TestRenderCaps(t *testing.T) {
	long := strings.Repeat("é", 1000)
	m := Render([]Alert{{Rule: long, Threshold: 1}}, StatusFiring)
	if n := utf8.RuneCountInString(m.Subject); n > MaxSubject {
		t.Errorf("subject has %d runes, cap %d", n, MaxSubject)
	}
	if !strings.HasSuffix(m.Subject, "…") || !utf8.ValidString(m.Subject) {
		t.Errorf("subject not cut cleanly: %q", m.Subject)
	}
	var many []Alert
	for range MaxAlertsShown + 7 {
		many = append(many, Alert{Rule: "r", Threshold: 1})
	}
	m = Render(many, StatusFiring)
	if !strings.Contains(m.Text, "… and 7 more alerts") || !strings.Contains(m.HTML, "… and 7 more alerts") {
		t.Errorf("missing the count of the alerts left out:\n%s", m.Text)
	}
	if strings.Count(m.Text, "\nAlert ") != MaxAlertsShown {
		t.Errorf("shown %d alerts, want %d", strings.Count(m.Text, "\nAlert "), MaxAlertsShown)
	}
	if m.Subject != "[FIRING] r (57)" {
		t.Errorf("subject = %q", m.Subject)
	}
	if got := Render(nil, "weird\nstatus").Subject; got != "[WEIRD STATUS] (unnamed rule) (0)" {
		t.Errorf("subject = %q", got)
	}
}
