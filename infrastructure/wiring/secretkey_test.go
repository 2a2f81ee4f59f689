package wiring

import (
	"os"
	"path/filepath"
	"testing"

	"log/slog"

	"github.com/pulsemetrics/pulse/infrastructure/config"
)

// Without PULSE_SECRET_KEY the key lives in the data dir, which nothing
// else makes when the samples are in MariaDB: the key file's folder is
// made, and the same key is read back on the next start.
func TestSecretKeyFileInADataDirNotYetMade(t *testing.T) {
	cfg := &config.Config{DataDir: filepath.Join(t.TempDir(), "not", "yet")}
	first, err := secretKey(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("secretKey: %v", err)
	}
	again, err := secretKey(cfg, slog.New(slog.DiscardHandler))
	if err != nil || string(again) != string(first) {
		t.Fatalf("second start: %v, same key %v", err, string(again) == string(first))
	}
	if fi, err := os.Stat(cfg.DataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", fi, err)
	}
}
