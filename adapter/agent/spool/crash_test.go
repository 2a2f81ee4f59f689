package spool_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/agent/spool"
)

// TestMain lets the test binary act as the crash helper: a process that
// appends numbered batches (and removes the oldest now and then, as a
// drain does) as fast as it can, reporting each operation once it returned,
// until the test kills it with SIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("SPOOL_CRASH_HELPER"); dir != "" {
		crashHelper(dir)
		return
	}
	os.Exit(m.Run())
}

func crashHelper(dir string) {
	s, err := spool.Open(dir, spool.Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	next := 0
	if _, ok, _ := s.Oldest(); ok { // continue the numbering after a previous round
		all, _ := spool.List(dir)
		next = batchNo(all[len(all)-1].Payload) + 1
	}
	w := bufio.NewWriter(os.Stdout)
	for i := next; ; i++ {
		if _, err := s.Append(time.UnixMilli(1_800_000_000_000+int64(i)), payload(i, 200+i%3000)); err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(w, "appended", i)
		if i%3 == 0 {
			e, ok, err := s.Oldest()
			if err == nil && ok {
				if err := s.Remove(e.Seq); err == nil {
					fmt.Fprintln(w, "removed", batchNo(e.Payload))
				}
			}
		}
		w.Flush()
	}
}

func batchNo(p []byte) int {
	s := strings.TrimPrefix(string(p), `[{"name":"n","value":`)
	n, _ := strconv.Atoi(s[:strings.IndexByte(s, '}')])
	return n
}

// TestKill9 kills the helper at arbitrary moments, several times over the
// same spool: after each kill the spool holds every batch the helper
// reported appended and not removed, in order, intact, plus at most the one
// batch whose append (or removal) was under way, and no temp file.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SPOOL_CRASH_HELPER="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lastAppended, lastRemoved := -1, -1
		sc := bufio.NewScanner(out)
		stopAfter := 50 + round*37
		for n := 0; sc.Scan(); n++ {
			f := strings.Fields(sc.Text())
			if f[0] == "error" {
				t.Fatalf("helper: %s", sc.Text())
			}
			v, _ := strconv.Atoi(f[1])
			if f[0] == "appended" {
				lastAppended = v
			} else {
				lastRemoved = v
			}
			if n == stopAfter {
				_ = cmd.Process.Kill() // SIGKILL, mid-operation
				break
			}
		}
		_ = cmd.Wait()
		// Lines written before the kill but not read yet still count.
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 {
				v, _ := strconv.Atoi(f[1])
				if f[0] == "appended" {
					lastAppended = v
				} else if f[0] == "removed" {
					lastRemoved = v
				}
			}
		}
		if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmps) > 1 {
			t.Fatalf("round %d: %d temp files after a kill, want at most the one being written", round, len(tmps))
		}
		all, err := spool.List(dir) // opens the spool as the restarted agent would
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmps) != 0 {
			t.Fatalf("round %d: Open left temp files %v", round, tmps)
		}
		if len(all) == 0 {
			t.Fatalf("round %d: empty spool, last appended %d", round, lastAppended)
		}
		first, last := batchNo(all[0].Payload), batchNo(all[len(all)-1].Payload)
		for i, e := range all {
			if got := batchNo(e.Payload); got != first+i {
				t.Fatalf("round %d: batch %d at position %d, want %d (gap or disorder)", round, got, i, first+i)
			}
			if want := time.UnixMilli(1_800_000_000_000 + int64(first+i)); !e.At.Equal(want) {
				t.Fatalf("round %d: batch %d has time %v, want %v", round, first+i, e.At, want)
			}
		}
		if last != lastAppended && last != lastAppended+1 {
			t.Fatalf("round %d: newest batch %d, helper last reported appending %d", round, last, lastAppended)
		}
		if lastRemoved >= 0 && first != lastRemoved+1 && first != lastRemoved+2 {
			t.Fatalf("round %d: oldest batch %d, helper last reported removing %d", round, first, lastRemoved)
		}
		t.Logf("round %d: killed after append %d / remove %d; spool holds %d..%d", round, lastAppended, lastRemoved, first, last)
	}
}
