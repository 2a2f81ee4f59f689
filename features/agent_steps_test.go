package features_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
)

// agentSteps is one scenario's agent, relay and watcher (agent.feature).
type agentSteps struct {
	s        *scenario
	bin      string
	tmp      string
	agentID  string
	spoolDir string
	interval time.Duration
	relay    *relay
	watch    *arrivals
	procs    []*agentProc
	printed  []byte
	downAt   time.Time
	upAt     time.Time
	spooled  []int64
	killedAt time.Time
	mu       sync.Mutex
}

func newAgentSteps(s *scenario, bin, tmp string) *agentSteps {
	return &agentSteps{s: s, bin: bin, tmp: tmp, agentID: uniqueSlug("agent")}
}

func (a *agentSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^I run the agent with "([^"]*)"$`, a.iRunTheAgentWith)
	sc.Step(`^it prints a JSON array whose every sample carries the tags "([^"]*)"$`, a.itPrintsTagged)
	sc.Step(`^the array holds samples named:$`, a.theArrayHolds)
	sc.Step(`^the agent publishes to the embedded broker every (\S+)$`, a.publishesDirect)
	sc.Step(`^the agent publishes through a relay to the embedded broker every (\S+)$`, a.publishesThroughRelay)
	sc.Step(`^within (\d+) seconds these metrics have points tagged with the agent's id:$`, a.metricsHavePoints)
	sc.Step(`^(\d+) batches have arrived$`, a.batchesArrived)
	sc.Step(`^the relay is down for (\d+) seconds$`, a.relayDownFor)
	sc.Step(`^the relay goes down$`, a.relayDown)
	sc.Step(`^the relay is back$`, a.relayBack)
	sc.Step(`^the agent's spool holds (\d+) batches$`, a.spoolHolds)
	sc.Step(`^the agent is killed with SIGKILL$`, a.killed)
	sc.Step(`^a new agent starts on the same spool$`, a.newAgent)
	sc.Step(`^within (\d+) seconds the agent's spool is empty and live batches arrive again$`, a.drained)
	sc.Step(`^every batch arrived once and in the order it was collected$`, a.onceInOrder)
	sc.Step(`^no batch is missing between the first and the last$`, a.noneMissing)
	sc.Step(`^at least (\d+) batches stamped inside the outage arrived$`, a.outageArrived)
	sc.Step(`^every batch that arrived is stored under the time it was collected at$`, a.storedUnderOwnTime)
	sc.Step(`^every batch spooled before the kill arrived with its original time$`, a.spooledArrived)
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		a.close()
		if err != nil && len(a.procs) > 0 {
			fmt.Println(a.procs[len(a.procs)-1].tail())
		}
		return ctx, nil
	})
}

func (a *agentSteps) close() {
	for _, p := range a.procs {
		p.kill()
	}
	if a.relay != nil {
		a.relay.down()
	}
	if a.watch != nil {
		a.watch.close()
	}
}

func (a *agentSteps) iRunTheAgentWith(args string) error {
	out, err := exec.Command(a.bin, strings.Fields(args)...).Output()
	if err != nil {
		return fmt.Errorf("pulse-agent %s: %w", args, err)
	}
	a.printed = out
	return nil
}

type printedSample struct {
	Name  string            `json:"name"`
	Value float64           `json:"value"`
	Tags  map[string]string `json:"tags"`
	TS    int64             `json:"ts"`
}

func (a *agentSteps) printedBatch() ([]printedSample, error) {
	var b []printedSample
	if err := json.Unmarshal(a.printed, &b); err != nil {
		return nil, fmt.Errorf("the agent printed no JSON array: %v: %.300s", err, a.printed)
	}
	return b, nil
}

func (a *agentSteps) itPrintsTagged(tags string) error {
	b, err := a.printedBatch()
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return errors.New("the agent printed an empty array")
	}
	for _, s := range b {
		for _, k := range strings.Split(tags, ",") {
			if s.Tags[k] == "" {
				return fmt.Errorf("sample %s lacks tag %q: %v", s.Name, k, s.Tags)
			}
		}
		if s.TS < 1e11 || s.TS != b[0].TS {
			return fmt.Errorf("sample %s has ts %d; want one Unix-ms batch time for all", s.Name, s.TS)
		}
	}
	return nil
}

func (a *agentSteps) theArrayHolds(table *godog.Table) error {
	b, err := a.printedBatch()
	if err != nil {
		return err
	}
	for _, row := range table.Rows {
		name := row.Cells[0].Value
		if !slices.ContainsFunc(b, func(s printedSample) bool { return s.Name == name }) {
			return fmt.Errorf("no sample named %s", name)
		}
	}
	return nil
}

func (a *agentSteps) start(broker string, extra ...string) error {
	t := a.s.tenants[""]
	if t == nil {
		return errors.New("no tenant")
	}
	p, err := startAgent(a.bin, nil, agentArgs(broker, t, a.agentID, a.spoolDir, a.interval, extra...)...)
	if err != nil {
		return err
	}
	a.procs = append(a.procs, p)
	return nil
}

func (a *agentSteps) publishesDirect(interval string) (err error) {
	if a.interval, err = time.ParseDuration(interval); err != nil {
		return err
	}
	a.spoolDir = filepath.Join(a.tmp, a.agentID)
	return a.start("tcp://" + a.s.srv.mqttAddr)
}

func (a *agentSteps) publishesThroughRelay(interval string) (err error) {
	if a.interval, err = time.ParseDuration(interval); err != nil {
		return err
	}
	a.spoolDir = filepath.Join(a.tmp, a.agentID)
	if a.relay, err = newRelay(a.s.srv.mqttAddr); err != nil {
		return err
	}
	if a.watch, err = watchAgent("tcp://"+a.s.srv.mqttAddr, a.s.tenants[""], a.agentID); err != nil {
		return err
	}
	return a.start("tcp://"+a.relay.addr, "--collectors", "memory,load,uptime", "--drain-rate", "20")
}

func (a *agentSteps) metricsHavePoints(ctx context.Context, secs int, table *godog.Table) error {
	var names []string
	for _, row := range table.Rows {
		names = append(names, row.Cells[0].Value)
	}
	return a.s.waitAgentMetrics(ctx, "", a.agentID, names, time.Duration(secs)*time.Second)
}

func (a *agentSteps) batchesArrived(n int) error { return a.watch.waitCount(n, 20*time.Second) }

func (a *agentSteps) relayDown() error {
	a.relay.down()
	a.downAt = time.Now()
	return nil
}

func (a *agentSteps) relayDownFor(secs int) error {
	_ = a.relayDown()
	time.Sleep(time.Duration(secs) * time.Second)
	return nil
}

func (a *agentSteps) relayBack() error {
	a.upAt = time.Now()
	return a.relay.up()
}

func (a *agentSteps) spoolHolds(ctx context.Context, n int) error {
	return waitUntil(ctx, 20*time.Second, fmt.Sprintf("%d batches spooled", n), func() (bool, error) {
		return spoolCount(a.spoolDir) >= n, nil
	})
}

func (a *agentSteps) killed() (err error) {
	a.procs[len(a.procs)-1].kill()
	a.killedAt = time.Now()
	a.spooled, err = spooledTimes(a.spoolDir)
	if err == nil && len(a.spooled) == 0 {
		err = errors.New("the spool is empty after the kill")
	}
	return err
}

func (a *agentSteps) newAgent() error {
	if err := a.start("tcp://"+a.relay.addr, "--collectors", "memory,load,uptime", "--drain-rate", "20"); err != nil {
		return err
	}
	time.Sleep(time.Second) // it spools behind the killed agent's batches
	return nil
}

func (a *agentSteps) drained(ctx context.Context, secs int) error {
	return waitUntil(ctx, time.Duration(secs)*time.Second, "the spool drained and live batches follow", func() (bool, error) {
		if a.procs[len(a.procs)-1].exited() {
			return false, errAgentExited
		}
		ts := a.watch.snapshot()
		return spoolCount(a.spoolDir) == 0 && len(ts) > 0 && ts[len(ts)-1] > a.upAt.UnixMilli()+500, nil
	})
}

func (a *agentSteps) onceInOrder() error { return a.watch.checkOnceInOrder() }

func (a *agentSteps) noneMissing() error {
	ts := a.watch.snapshot()
	for i := 1; i < len(ts); i++ {
		if gap := time.Duration(ts[i]-ts[i-1]) * time.Millisecond; gap > a.interval*3/2+100*time.Millisecond {
			return fmt.Errorf("a %s gap between batches %d and %d: one is missing\n%v", gap, i-1, i, ts)
		}
	}
	return nil
}

func (a *agentSteps) outageArrived(n int) error {
	got := 0
	for _, ts := range a.watch.snapshot() {
		if ts > a.downAt.UnixMilli() && ts < a.upAt.UnixMilli() {
			got++
		}
	}
	if got < n {
		return fmt.Errorf("%d batches stamped inside the outage arrived, want ≥ %d", got, n)
	}
	return nil
}

func (a *agentSteps) storedUnderOwnTime(ctx context.Context) error {
	return a.s.checkStoredBatches(ctx, a.agentID, a.watch.snapshot())
}

func (a *agentSteps) spooledArrived() error {
	got := a.watch.snapshot()
	for _, ts := range a.spooled {
		if !slices.Contains(got, ts) {
			return fmt.Errorf("batch %d, spooled before the kill, never arrived\nspooled: %v\narrived: %v", ts, a.spooled, got)
		}
		if ts > a.killedAt.UnixMilli() {
			return fmt.Errorf("spooled batch stamped %d, after the kill: not its original time", ts)
		}
	}
	return nil
}
