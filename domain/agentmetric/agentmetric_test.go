package agentmetric_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/agentmetric"
)

func TestValidateRefusesWhatPulseWouldRefuse(t *testing.T) {
	ok := agentmetric.Batch{At: time.Unix(1, 0), Samples: []agentmetric.Sample{{Name: agentmetric.CPUUtilization, Value: 0.5}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid batch refused: %v", err)
	}
	for name, s := range map[string]agentmetric.Sample{
		"NaN":         {Name: "a", Value: math.NaN()},
		"+Inf":        {Name: "a", Value: math.Inf(1)},
		"-Inf":        {Name: "a", Value: math.Inf(-1)},
		"empty name":  {Name: "", Value: 1},
		"digit first": {Name: "1abc", Value: 1},
		"space":       {Name: "a b", Value: 1},
		"too long":    {Name: strings.Repeat("a", 201), Value: 1},
	} {
		b := agentmetric.Batch{Samples: []agentmetric.Sample{{Name: "ok", Value: 1}, s}}
		if err := b.Validate(); err == nil || !strings.Contains(err.Error(), "sample 1") {
			t.Errorf("%s: Validate = %v, want an error naming sample 1", name, err)
		}
	}
}

func TestWithTagsCopiesAndKeepsTheSamplesOwnTags(t *testing.T) {
	orig := agentmetric.Batch{Samples: []agentmetric.Sample{{Name: "a", Value: 1, Tags: map[string]string{"device": "eth0", "host": "own"}}}}
	got := orig.WithTags(map[string]string{"host": "h1", "agent_id": "a1"})
	tags := got.Samples[0].Tags
	if tags["host"] != "own" || tags["agent_id"] != "a1" || tags["device"] != "eth0" {
		t.Fatalf("tags = %v", tags)
	}
	if _, leaked := orig.Samples[0].Tags["agent_id"]; leaked {
		t.Fatal("WithTags changed the original batch")
	}
}
