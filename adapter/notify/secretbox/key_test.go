package secretbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestParseKey(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(0xF0 + i) // bytes whose base64 uses + and / (std) or - and _ (URL)
	}
	std, rawURL := base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)
	if !strings.ContainsAny(std, "+/") || !strings.ContainsAny(rawURL, "-_") {
		t.Fatalf("test key does not tell the alphabets apart: %s %s", std, rawURL)
	}
	for _, c := range []struct {
		name, in string
		ok       bool
		errHas   string
	}{
		{"std padded (openssl rand -base64 32)", std, true, ""},
		{"std with newline", std + "\n", true, ""},
		{"std unpadded", strings.TrimRight(std, "="), true, ""},
		{"raw url", rawURL, true, ""},
		{"url padded", base64.URLEncoding.EncodeToString(key), true, ""},
		{"empty", "", false, "is empty"},
		{"blank", "  \n", false, "is empty"},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), false, "decodes to 16 bytes, want 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), false, "decodes to 33 bytes"},
		{"hex", strings.Repeat("ab", 32) + "zz", false, "not base64"},
		{"mixed alphabets", std[:10] + "-_" + std[12:], false, "not base64"},
		{"passphrase", "correct horse battery staple", false, "not base64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseKey(c.in)
			if c.ok {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("ParseKey = %x, %v", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q", c.in)
			}
			msg := err.Error()
			for _, want := range []string{c.errHas, "PULSE_SECRET_KEY", "openssl rand -base64 32"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.TrimSpace(c.in) != "" && strings.Contains(msg, strings.TrimSpace(c.in)) {
				t.Errorf("error repeats the value: %q", msg)
			}
		})
	}
}

func TestKeyFileCreatedThenReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	random := bytes.NewReader(bytes.Repeat([]byte{7}, 64))
	key, created, err := LoadOrCreateKeyFile(path, random)
	if err != nil || !created || !bytes.Equal(key, bytes.Repeat([]byte{7}, KeySize)) {
		t.Fatalf("first start: %x, %v, %v", key, created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	content, _ := os.ReadFile(path)
	if got, err := ParseKey(string(content)); err != nil || !bytes.Equal(got, key) {
		t.Errorf("file holds %q: %v", content, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	again, created, err := LoadOrCreateKeyFile(path, bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("restart: %x, %v, %v; want the same key, not created", again, created, err)
	}
}

func TestKeyFileRefusedWhenOpenToOthers(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		path := filepath.Join(t.TempDir(), "secret.key")
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(testKey(1))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		key, _, err := LoadOrCreateKeyFile(path, nil)
		if err == nil || key != nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %04o: %x, %v; want a refusal naming chmod 600 and the file", mode, key, err)
		}
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(bad, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("garbage key file: %v", err)
	}
	if _, _, err := LoadOrCreateKeyFile(dir, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	if _, _, err := LoadOrCreateKeyFile(filepath.Join(dir, "missing", "secret.key"), nil); err == nil {
		t.Error("created a key in a directory that does not exist")
	}
	short := filepath.Join(dir, "short.key")
	if _, _, err := LoadOrCreateKeyFile(short, bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Error("a short random source made a key")
	}
	if _, err := os.Stat(short); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed creation left a file: %v", err)
	}
}

// Two processes starting at once on a fresh data dir end up with one
// key between them.
func TestKeyFileRaceHasOneWinner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key, _, err := LoadOrCreateKeyFile(path, nil)
			if err != nil {
				t.Error(err)
			}
			keys[i] = key
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("processes disagree on the key")
		}
	}
	onDisk, _, err := LoadOrCreateKeyFile(path, nil)
	if err != nil || !bytes.Equal(onDisk, keys[0]) {
		t.Fatalf("the key on disk is not the one in use: %v", err)
	}
}
