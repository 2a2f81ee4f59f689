package spool_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/agent/spool"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func payload(i int, size int) []byte {
	p := fmt.Appendf(nil, `[{"name":"n","value":%d}]`, i)
	if len(p) < size {
		p = append(p, bytes.Repeat([]byte(" "), size-len(p))...)
	}
	return p
}

func mustOpen(t *testing.T, dir string, o spool.Options) *spool.Spool {
	t.Helper()
	s, err := spool.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drain removes every batch in order and returns their payloads' numbers.
func drain(t *testing.T, s *spool.Spool) []string {
	t.Helper()
	var out []string
	for {
		e, ok, err := s.Oldest()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, strings.TrimSpace(string(e.Payload)))
		if err := s.Remove(e.Seq); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOldestFirstAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	c := &clock{time.UnixMilli(1_800_000_000_000)}
	s := mustOpen(t, dir, spool.Options{Now: c.now})
	for i := range 5 {
		if _, err := s.Append(c.t.Add(time.Duration(i)*time.Second), payload(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	e, _, _ := s.Oldest()
	if err := s.Remove(e.Seq); err != nil {
		t.Fatal(err)
	}
	// Reopen: the four left, in order, with their own times, then new ones behind them.
	s = mustOpen(t, dir, spool.Options{Now: c.now})
	e, ok, err := s.Oldest()
	if err != nil || !ok || !e.At.Equal(c.t.Add(time.Second)) {
		t.Fatalf("oldest after reopen = %v %v %v, want the batch of +1s", e.At, ok, err)
	}
	if _, err := s.Append(c.t.Add(time.Minute), payload(5, 0)); err != nil {
		t.Fatal(err)
	}
	got := drain(t, s)
	want := []string{}
	for i := 1; i <= 5; i++ {
		want = append(want, string(payload(i, 0)))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("drained %v, want %v", got, want)
	}
	if st := s.Stats(); st.Batches != 0 || st.Bytes != 0 || st.Dropped != 0 {
		t.Fatalf("stats after drain = %+v", st)
	}
}

func TestSizeBoundDropsOldestAndCounts(t *testing.T) {
	dir := t.TempDir()
	c := &clock{time.UnixMilli(1_800_000_000_000)}
	// Each file is 20 + 100 bytes: 5 fit in 600.
	s := mustOpen(t, dir, spool.Options{MaxBytes: 600, Now: c.now})
	total := 0
	for i := range 8 {
		n, err := s.Append(c.t, payload(i, 100))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if st := s.Stats(); st.Batches != 5 || st.Bytes != 600 || st.Dropped != 3 || total != 3 {
		t.Fatalf("stats = %+v, dropped reported %d; want 5 batches, 600 bytes, 3 dropped", st, total)
	}
	// The counter survives a restart.
	s = mustOpen(t, dir, spool.Options{MaxBytes: 600, Now: c.now})
	if st := s.Stats(); st.Dropped != 3 {
		t.Fatalf("dropped after reopen = %d, want 3", st.Dropped)
	}
	got := drain(t, s)
	if len(got) != 5 || !strings.HasPrefix(got[0], string(payload(3, 0))) {
		t.Fatalf("left %d batches starting %q, want 5 starting with batch 3", len(got), got[0])
	}
	if _, err := s.Append(c.t, payload(9, 700)); err == nil {
		t.Fatal("a batch larger than the whole spool was accepted")
	}
}

func TestAgeBoundDropsExpired(t *testing.T) {
	dir := t.TempDir()
	c := &clock{time.UnixMilli(1_800_000_000_000)}
	s := mustOpen(t, dir, spool.Options{MaxAge: time.Hour, Now: c.now})
	for i := range 3 {
		if _, err := s.Append(c.t.Add(time.Duration(i)*30*time.Minute), payload(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(90 * time.Minute) // batch 0 is 90m old now, batch 1 exactly 60m (kept)
	e, ok, err := s.Oldest()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !e.At.Equal(time.UnixMilli(1_800_000_000_000).Add(30 * time.Minute)) {
		t.Fatalf("oldest at %v, want the batch of +30m (the one of 0m expired)", e.At)
	}
	if st := s.Stats(); st.Dropped != 1 || st.Batches != 2 {
		t.Fatalf("stats = %+v, want 1 dropped, 2 left", st)
	}
	// Expired batches are dropped at Open too.
	c.t = c.t.Add(2 * time.Hour)
	s = mustOpen(t, dir, spool.Options{MaxAge: time.Hour, Now: c.now})
	if st := s.Stats(); st.Batches != 0 || st.Dropped != 3 {
		t.Fatalf("stats after reopen = %+v, want empty with 3 dropped", st)
	}
}

func TestCorruptAndHalfWrittenFiles(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, spool.Options{})
	now := time.UnixMilli(1_800_000_000_000)
	for i := range 3 {
		if _, err := s.Append(now, payload(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.batch"))
	if len(files) != 3 {
		t.Fatalf("%d batch files, want 3", len(files))
	}
	// Flip a payload byte of the middle batch; leave a half-written temp file.
	b, _ := os.ReadFile(files[1])
	b[len(b)-3] ^= 0xff
	if err := os.WriteFile(files[1], b, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "00000000000000000004-1800000000000.batch.tmp")
	if err := os.WriteFile(tmp, []byte("PSP1 half"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, spool.Options{})
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the half-written temp file is still there (%v)", err)
	}
	got := drain(t, s)
	if len(got) != 2 || got[0] != string(payload(0, 0)) || got[1] != string(payload(2, 0)) {
		t.Fatalf("drained %q, want batches 0 and 2 (1 is corrupt)", got)
	}
	if st := s.Stats(); st.Dropped != 1 {
		t.Fatalf("dropped = %d, want the corrupt batch counted", st.Dropped)
	}
}
