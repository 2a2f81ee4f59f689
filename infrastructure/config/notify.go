package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Notify is the notification dispatcher's settings.
type Notify struct {
	// SecretKey seals channel secrets (PULSE_SECRET_KEY: 32 bytes in
	// base64). Read from the environment only, never a flag, so it is
	// not shown by --help nor in a process list. Empty in embedded mode
	// means the key file in the data dir (made on first start).
	SecretKey string
	// AllowHosts are host:port pairs a channel may reach although private
	// or over plain http/SMTP (PULSE_NOTIFY_ALLOW_HOSTS), for development
	// and tests on loopback.
	AllowHosts string
	// Tick is how often the planner and the senders look for work.
	Tick time.Duration
	// PerMinute is the default budget per tenant and channel.
	PerMinute int
	// Senders is how many messages one process sends at once.
	Senders int
	// ExternalURL is Pulse's address as receivers' readers reach it, for
	// links in messages ("" means http://localhost and PULSE_HTTP_ADDR's
	// port).
	ExternalURL string
}

type (
	strFlag = func(p *string, name, env, def, help string)
	numFlag = func(p *int, name, env string, def int, help string)
	durFlag = func(p *time.Duration, name, env string, def time.Duration, help string)
)

func registerNotify(n *Notify, str strFlag, num numFlag, dur durFlag, getenv func(string) string) {
	n.SecretKey = getenv("PULSE_SECRET_KEY")
	str(&n.AllowHosts, "notify-allow-hosts", "PULSE_NOTIFY_ALLOW_HOSTS", "", "host:port list notifications may reach although private or without TLS (development, tests)")
	dur(&n.Tick, "notify-tick", "PULSE_NOTIFY_TICK", 250*time.Millisecond, "how often the notification dispatcher looks for work")
	num(&n.PerMinute, "notify-per-minute", "PULSE_NOTIFY_PER_MINUTE", 10, "default notifications per tenant and channel per minute (more are folded into a digest)")
	num(&n.Senders, "notify-senders", "PULSE_NOTIFY_SENDERS", 16, "notifications one process sends at once")
	str(&n.ExternalURL, "external-url", "PULSE_EXTERNAL_URL", "", "Pulse's base URL for links in notifications (default http://localhost:<port>)")
}

func (n Notify) validate() error {
	if n.Tick <= 0 || n.Tick > time.Minute {
		return fmt.Errorf("PULSE_NOTIFY_TICK=%s: want between 1ms and 1m", n.Tick)
	}
	if n.PerMinute < 1 || n.PerMinute > 10_000 {
		return fmt.Errorf("PULSE_NOTIFY_PER_MINUTE=%d: want 1 to 10000", n.PerMinute)
	}
	if n.Senders < 1 || n.Senders > 1024 {
		return fmt.Errorf("PULSE_NOTIFY_SENDERS=%d: want 1 to 1024", n.Senders)
	}
	if n.ExternalURL != "" {
		u, err := url.Parse(n.ExternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("PULSE_EXTERNAL_URL: want an absolute http(s) URL such as https://pulse.example.com")
		}
	}
	return nil
}
