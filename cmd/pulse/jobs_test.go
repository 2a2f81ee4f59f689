package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// `pulse rollup run` and `pulse retention run` work on the configured
// database and say what they did; bad settings stop them with one line.
func TestJobCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	data := t.TempDir()
	pulse := func(env []string, args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "pulse"), args...)
		cmd.Env = append(append(os.Environ(), "PULSE_DATA_DIR="+data, "PULSE_DATABASE_URL="), env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	if out, errOut, err := pulse(nil, "tenant", "create", "acme", "--retention-days", "30"); err != nil {
		t.Fatalf("tenant create: %v %s %s", err, out, errOut)
	}
	// Three samples in one minute and one 20 days old, written as the workers would.
	st, err := sqldbtest.OpenSQLite(filepath.Join(data, "pulse.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Minute)
	var samples []metric.Sample
	for i, ts := range []time.Time{now.Add(-time.Hour), now.Add(-time.Hour + time.Second), now.Add(-time.Hour + 2*time.Second), now.Add(-20 * 24 * time.Hour)} {
		samples = append(samples, metric.Rehydrate("cli.cpu", float64(i), nil, ts.UnixMilli(), ""))
	}
	if _, err := st.WriteBatches(context.Background(), []metric.Batch{{ID: "cli", TenantID: 1, AcceptedAt: now, Samples: samples}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	if out, errOut, err := pulse(nil, "rollup", "run"); err != nil || !strings.Contains(out, "rolled up 4 raw samples") {
		t.Fatalf("rollup run: %v %q %q", err, out, errOut)
	}
	if out, errOut, err := pulse(nil, "rollup", "run"); err != nil || !strings.Contains(out, "rolled up 0 raw samples") {
		t.Fatalf("second rollup run: %v %q %q", err, out, errOut)
	}
	if out, errOut, err := pulse(nil, "tenant", "update", "acme", "--retention-days", "10"); err != nil {
		t.Fatalf("tenant update: %v %s %s", err, out, errOut)
	}
	if out, errOut, err := pulse(nil, "retention", "run"); err != nil || !strings.Contains(out, "1 raw samples and 0 rollup rows deleted over 1 tenants") {
		t.Fatalf("retention run: %v %q %q", err, out, errOut)
	}

	st, err = sqldbtest.OpenSQLite(filepath.Join(data, "pulse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := metric.Query{TenantID: 1, Name: "cli.cpu", Start: now.Add(-30 * 24 * time.Hour).UnixMilli(), End: now.UnixMilli(), MaxPoints: 100}
	raw, err := st.ReadRaw(context.Background(), q)
	if err != nil || len(raw.Series) != 1 || len(raw.Series[0].Points) != 3 {
		t.Fatalf("raw after retention: %+v, %v", raw, err)
	}
	five, err := st.ReadRollups(context.Background(), q, 300_000)
	if err != nil || len(five.Series) != 1 || len(five.Series[0].Points) != 2 || five.Series[0].Points[1].Count != 3 {
		t.Fatalf("5m rollups (the old bucket outlives its raw sample): %+v, %v", five, err)
	}

	for _, bad := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"PULSE_ROLLUP_INTERVALS=5m,1m"}, []string{"rollup", "run"}, "PULSE_ROLLUP_INTERVALS"},
		{[]string{"PULSE_ROLLUP_INTERVALS=1m,7m"}, []string{"rollup", "run"}, "PULSE_ROLLUP_INTERVALS"},
		{[]string{"PULSE_ROLLUP_RETENTION=1m=90"}, []string{"retention", "run"}, "no retention for the 5m rollups"},
		{[]string{"PULSE_ROLLUP_RETENTION=1m=-1,5m=400"}, []string{"retention", "run"}, "PULSE_ROLLUP_RETENTION"},
		{[]string{"PULSE_PARTITIONS_AHEAD=0"}, []string{"retention", "run"}, "PULSE_PARTITIONS_AHEAD"},
		{nil, []string{"rollup", "run", "now"}, "unknown command"},
	} {
		_, errOut, err := pulse(bad.env, bad.args...)
		if err == nil || !strings.Contains(errOut, bad.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v %v: want one error line containing %q, got err=%v stderr=%q", bad.env, bad.args, bad.want, err, errOut)
		}
	}
}
