package demostate_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/demostate"
	"github.com/pulsemetrics/pulse/usecase/demo"
)

func TestNoFileIsTheZeroState(t *testing.T) {
	st, err := demostate.InDir(t.TempDir()).Load(context.Background())
	if err != nil || !reflect.DeepEqual(st, demo.Saved{}) {
		t.Fatalf("Load = %+v, %v; want the zero state", st, err)
	}
}

func TestRoundTripMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f := demostate.InDir(dir)
	if f.Where() != filepath.Join(dir, "demo.json") {
		t.Fatalf("Where = %s", f.Where())
	}
	// An older temp file with a wider mode does not widen the state's.
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Where()+".tmp", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	to := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for _, want := range []demo.Saved{
		{TenantID: 3, Token: "pulse_abc_def"},
		{TenantID: 3, Token: "pulse_abc_def", Backfill: &demo.BackfillRange{From: to.Add(-time.Hour), To: to, Done: true, Samples: 60, Series: 1}},
	} {
		if err := f.Save(context.Background(), want); err != nil {
			t.Fatal(err)
		}
		got, err := f.Load(context.Background())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
		}
		st, err := os.Stat(f.Where())
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode: %v, %v", st, err)
		}
		if _, err := os.Stat(f.Where() + ".tmp"); !os.IsNotExist(err) {
			t.Fatalf("temp file left: %v", err)
		}
	}
	b, _ := os.ReadFile(f.Where())
	for _, key := range []string{`"tenant_id": 3`, `"token": "pulse_abc_def"`, `"backfill"`, `"done": true`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("no %s in %s", key, b)
		}
	}
}

func TestUnreadableStateSaysHowToRecover(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := demostate.InDir(dir).Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "remove it to make a new demo token") {
		t.Fatalf("Load = %v", err)
	}
}
