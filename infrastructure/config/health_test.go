package config

import (
	"strings"
	"testing"
	"time"
)

func TestHealthEvery(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.HealthEvery != 10*time.Second {
		t.Fatalf("default = %v, %v; want 10s", c.HealthEvery, err)
	}
	if c, err := load(t, map[string]string{"PULSE_HEALTH_EVERY": "0"}); err != nil || c.HealthEvery != 0 {
		t.Fatalf("0 (off) = %v, %v", c.HealthEvery, err)
	}
	for _, bad := range []string{"500ms", "-1s", "soon"} {
		_, err := load(t, map[string]string{"PULSE_HEALTH_EVERY": bad})
		if err == nil || !strings.Contains(err.Error(), "PULSE_HEALTH_EVERY") {
			t.Errorf("PULSE_HEALTH_EVERY=%s: %v, want an error naming it", bad, err)
		}
	}
}
