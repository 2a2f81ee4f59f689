// Command pulse-agent measures its host (CPU, memory, swap, filesystems,
// disks, network, load, uptime) every interval and publishes one JSON
// batch per interval to Pulse over MQTT (QoS 1, optionally TLS). Batches the
// broker has not acknowledged wait in an on-disk spool that survives
// restarts and drains, oldest first, before newer data once the broker is
// back. Settings: flags, PULSE_AGENT_* variables, then an optional YAML
// --config file (see README.md, "Agent").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pulsemetrics/pulse/adapter/agent/hostmetrics"
	"github.com/pulsemetrics/pulse/adapter/agent/spool"
	"github.com/pulsemetrics/pulse/adapter/mqtt/publish"
	"github.com/pulsemetrics/pulse/infrastructure/logging"
	"github.com/pulsemetrics/pulse/usecase/agentloop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "pulse-agent:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, err := parseSettings(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := logging.New(stderr, s.LogLevel, s.LogFormat).With("app", "pulse-agent")
	col, err := hostmetrics.New(s.Collectors)
	if err != nil {
		return err
	}
	tags := map[string]string{"host": s.Host, "agent_id": s.AgentID}
	for k, v := range s.Tags {
		tags[k] = v
	}
	cfg := agentloop.Config{Topic: s.topic(), Interval: s.Interval, Tags: tags, DrainRate: s.DrainRate}

	if s.Once && s.DryRun {
		loop := agentloop.New(cfg, col, nil, noSpool{}, publish.Encode, time.Now, log)
		_, payload, err := loop.Once(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", payload)
		return err
	}

	sp, err := spool.Open(s.SpoolDir, spool.Options{MaxBytes: s.SpoolMaxBytes, MaxAge: s.SpoolMaxAge})
	if err != nil {
		return err
	}
	pub, err := publish.New(publish.Options{
		Broker: s.Broker, ClientID: s.ClientID, Username: s.username(), Password: s.Token,
		TLS: publish.TLSOptions{
			CAFile: s.CAFile, CertFile: s.CertFile, KeyFile: s.KeyFile,
			ServerName: s.ServerName, InsecureSkipVerify: s.Insecure,
		},
		AckTimeout: s.AckTimeout, Log: log,
	})
	if err != nil {
		return err
	}
	if s.Insecure {
		log.Warn("--insecure-skip-verify: the broker's certificate is NOT verified; the token can be stolen by anyone in the path")
	}
	loop := agentloop.New(cfg, col, pub, spoolPort{sp}, publish.Encode, time.Now, log)
	st := sp.Stats()
	log.Info("pulse-agent starting", "broker", s.Broker, "topic", s.topic(), "interval", s.Interval,
		"collectors", col.Enabled(), "spool", s.SpoolDir, "spooled_batches", st.Batches)

	if s.Once {
		return runOnce(ctx, s, loop, pub, log)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return pub.Run(gctx) })
	g.Go(func() error { return loop.Run(gctx) })
	if s.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.HTTPAddr)
		if err != nil {
			return fmt.Errorf("--http-addr %s: %w", s.HTTPAddr, err)
		}
		srv := &http.Server{Handler: handler(loop, sp, pub), ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
		log.Info("serving /metrics, /healthz, /readyz", "addr", ln.Addr().String())
	}
	err = g.Wait()
	log.Info("pulse-agent stopped", "spooled_batches", sp.Stats().Batches)
	return err
}

// runOnce collects one batch and publishes it (spooling it when that fails),
// first draining nothing: --once is for checking a setup by hand.
func runOnce(ctx context.Context, s *settings, loop *agentloop.Service, pub *publish.Publisher, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 2*s.AckTimeout+5*time.Second)
	defer cancel()
	b, payload, err := loop.Once(ctx)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	pctx, stopPub := context.WithCancel(gctx)
	g.Go(func() error { return pub.Run(pctx) })
	var perr error
	select {
	case <-pub.ConnectedSignal():
		perr = pub.Publish(ctx, s.topic(), payload)
	case <-ctx.Done():
		perr = fmt.Errorf("no connection to %s: %w", s.Broker, ctx.Err())
	}
	stopPub()
	_ = g.Wait()
	if perr != nil {
		return perr
	}
	log.Info("published one batch", "samples", len(b.Samples), "bytes", len(payload), "topic", s.topic())
	return nil
}

// spoolPort adapts *spool.Spool to the loop's Spool port.
type spoolPort struct{ s *spool.Spool }

func (p spoolPort) Append(at time.Time, payload []byte) (int, error) { return p.s.Append(at, payload) }
func (p spoolPort) Remove(seq uint64) error                          { return p.s.Remove(seq) }
func (p spoolPort) Oldest() (agentloop.Spooled, bool, error) {
	e, ok, err := p.s.Oldest()
	return agentloop.Spooled{Seq: e.Seq, At: e.At, Payload: e.Payload}, ok, err
}
func (p spoolPort) Stats() agentloop.SpoolStats {
	st := p.s.Stats()
	return agentloop.SpoolStats{Batches: st.Batches, Bytes: st.Bytes, Dropped: st.Dropped}
}

// noSpool is the spool of --dry-run: always empty.
type noSpool struct{}

func (noSpool) Append(time.Time, []byte) (int, error)    { return 0, errors.New("dry run: no spool") }
func (noSpool) Remove(uint64) error                      { return nil }
func (noSpool) Oldest() (agentloop.Spooled, bool, error) { return agentloop.Spooled{}, false, nil }
func (noSpool) Stats() agentloop.SpoolStats              { return agentloop.SpoolStats{} }
