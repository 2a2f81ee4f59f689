package wiring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pulsemetrics/pulse/adapter/mqtt/dynsec"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// SyncMQTT reconciles the external Mosquitto's accounts with Pulse's active
// ingest and read tokens (`pulse mqtt sync`) and writes what it changed to out.
// Pulse stores token hashes only, so a token whose broker account is
// missing cannot be re-created: it is reported, to be re-issued.
func SyncMQTT(ctx context.Context, cfg *config.Config, ten *tenancy.Service, out io.Writer) error {
	if cfg.MQTTURL == "" || cfg.MQTTDynsecUsername == "" {
		return errors.New("pulse mqtt sync needs PULSE_MQTT_URL and PULSE_MQTT_DYNSEC_USERNAME/PASSWORD (the embedded broker needs no sync)")
	}
	p, err := dynsec.New(dynsec.Options{BrokerURL: cfg.MQTTURL, Username: cfg.MQTTDynsecUsername, Password: cfg.MQTTDynsecPassword})
	if err != nil {
		return fmt.Errorf("Mosquitto dynamic security at %s: %w", cfg.MQTTURL, err)
	}
	defer p.Close()
	var want []dynsec.Account
	var after int64
	for {
		tenants, err := ten.ListTenantsAfter(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, t := range tenants {
			after = t.ID
			var afterTok string
			for {
				toks, err := ten.ListTokens(ctx, t.ID, afterTok, 500)
				if err != nil {
					return err
				}
				for _, tok := range toks {
					afterTok = tok.ID
					if tok.RevokedAt == nil && (tok.Has(token.ScopeIngest) || tok.Has(token.ScopeRead)) {
						want = append(want, dynsec.Account{TokenID: tok.ID, TenantSlug: t.Slug, Disabled: t.Disabled, Scopes: tok.Scopes})
					}
				}
				if len(toks) < 500 {
					break
				}
			}
		}
		if len(tenants) < 500 {
			break
		}
	}
	rep, err := p.Sync(ctx, want)
	if err != nil {
		return fmt.Errorf("sync Mosquitto accounts: %w", err)
	}
	fmt.Fprintf(out, "active ingest and read tokens: %d\n", len(want))
	line := func(what string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(out, "%s: %s\n", what, strings.Join(names, ", "))
		}
	}
	line("deleted clients", rep.DeletedClients)
	line("deleted roles", rep.DeletedRoles)
	line("repaired clients", rep.RepairedClients)
	line("repaired roles", rep.RepairedRoles)
	line("missing (re-issue these tokens)", rep.Missing)
	return nil
}
