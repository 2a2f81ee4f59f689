package publish_test

import (
	"crypto/tls"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/mqtt/publish"
	"github.com/pulsemetrics/pulse/domain/agentmetric"
)

func TestEncodeIsPulseSampleJSON(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_123)
	p, err := publish.Encode(agentmetric.Batch{At: at, Samples: []agentmetric.Sample{
		{Name: "system.memory.usage", Value: 123456789012, Tags: map[string]string{"state": "used", "host": "h\"1"}},
		{Name: "system.cpu.utilization", Value: 0.125},
		{Name: "system.uptime", Value: math.Pi},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Name  string            `json:"name"`
		Value float64           `json:"value"`
		Tags  map[string]string `json:"tags"`
		TS    int64             `json:"ts"`
	}
	if err := json.Unmarshal(p, &got); err != nil {
		t.Fatalf("%v: %s", err, p)
	}
	if len(got) != 3 || got[0].Value != 123456789012 || got[0].Tags["host"] != "h\"1" || got[1].Value != 0.125 ||
		got[2].Value != math.Pi || got[1].Tags == nil {
		t.Fatalf("decoded %+v from %s", got, p)
	}
	for _, s := range got {
		if s.TS != at.UnixMilli() {
			t.Fatalf("ts %d, want the batch time in Unix ms %d", s.TS, at.UnixMilli())
		}
	}
}

func TestTLSOptions(t *testing.T) {
	cfg, err := publish.TLSOptions{ServerName: "broker"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.InsecureSkipVerify || cfg.ServerName != "broker" {
		t.Fatalf("config = min %x insecure %v name %q", cfg.MinVersion, cfg.InsecureSkipVerify, cfg.ServerName)
	}
	if _, err := (publish.TLSOptions{CertFile: "c.pem"}).Config(); err == nil {
		t.Fatal("a client certificate without its key was accepted")
	}
	empty := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(empty, []byte("not a certificate"), 0o600)
	if _, err := (publish.TLSOptions{CAFile: empty}).Config(); err == nil {
		t.Fatal("a CA file without a certificate was accepted")
	}
	if _, err := publish.New(publish.Options{Broker: "tcp://h:1883", TLS: publish.TLSOptions{CAFile: empty}}); err == nil {
		t.Fatal("TLS settings for a tcp:// broker were accepted silently")
	}
	if _, err := publish.New(publish.Options{Broker: "http://h:1883"}); err == nil {
		t.Fatal("an http:// broker was accepted")
	}
}
