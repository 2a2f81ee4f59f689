// Package dynsec provisions Pulse tokens as Mosquitto clients through
// the dynamic security plugin's control API ($CONTROL/dynamic-security/v1).
//
// Model: every token gets a client "pulse_<id>" whose password is the whole
// token and whose only role is its tenant's role for its scopes (RoleFor):
// "tenant-<slug>" for an ingest-only token, allowed to publish to
// metrics/<slug>/# only; "tenant-<slug>:read" for a read-only token, allowed
// to subscribe to and receive from metrics/<slug>/# only; and
// "tenant-<slug>:ingest-read" for a token with both. Every role denies
// everything else explicitly, whatever the broker's default ACL access is:
// subscribing to a tenant's topics, and so reading every device's payloads,
// needs the read scope, as on the embedded broker.
//
// Pulse stores only hashes of tokens, so a broker password can be set only
// when the token is created (ProvisionToken, ProvisionTokenScopes). Sync
// reconciles what it can without the plain tokens: it deletes broker clients
// "pulse_*" that are not active tokens in Pulse, repairs the role of the ones
// that are, gives the tenant roles exactly their ACLs (taking the subscribe
// right away from roles provisioned before it required read), and deletes
// "tenant-*" roles no active token uses. Clients and roles without those
// prefixes (the dynsec admin, the ingestor service account) are never touched.
// SetTenantEnabled disables a disabled tenant's clients (kept, so that
// enabling the tenant again restores them, since passwords cannot be re-set).
//
// The control API answers on $CONTROL/dynamic-security/v1/response to every
// admin subscriber; each command carries a unique correlationData so several
// Provisioners (one per API replica) can share the broker.
package dynsec

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const (
	controlTopic  = "$CONTROL/dynamic-security/v1"
	responseTopic = "$CONTROL/dynamic-security/v1/response"
)

// ErrClosed is returned by calls on a closed Provisioner.
var ErrClosed = errors.New("mosquittodynsec: provisioner is closed")

// Options configures a Provisioner. BrokerURL, Username and Password are
// required.
type Options struct {
	// BrokerURL is the broker address, e.g. "tcp://mosquitto:1883".
	BrokerURL string
	// Username and Password are the dynamic security admin's (the client
	// created by `mosquitto_ctrl dynsec init`).
	Username string
	Password string
	// Timeout bounds connecting and each command round trip (default 5s).
	Timeout time.Duration
	// Logger receives connection reports (default slog.Default()).
	Logger *slog.Logger
}

// CommandError is a command the dynamic security plugin answered with an
// error, e.g. {Command: "createRole", Message: "Role already exists"}.
type CommandError struct {
	Command string
	Message string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("dynsec %s: %s", e.Command, e.Message)
}

// Error messages of the plugin (mosquitto 2.0) that the provisioner treats
// as "already done".
const (
	msgRoleExists    = "Role already exists"
	msgClientExists  = "Client already exists"
	msgACLExists     = "ACL with this topic already exists"
	msgClientMissing = "Client not found"
	msgRoleMissing   = "Role not found"
)

func isCommandError(err error, msg string) bool {
	var ce *CommandError
	return errors.As(err, &ce) && ce.Message == msg
}

// command is one entry of a control batch; fields follow the plugin's JSON.
type command map[string]any

type response struct {
	Command         string          `json:"command"`
	Error           string          `json:"error"`
	Data            json.RawMessage `json:"data"`
	CorrelationData string          `json:"correlationData"`
}

// Provisioner talks to the dynamic security plugin. It is safe for
// concurrent use; Close releases the connection.
type Provisioner struct {
	client  mqtt.Client
	timeout time.Duration
	log     *slog.Logger
	prefix  string // unique per Provisioner, prefixes correlation data
	seq     atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan response
	closed  bool
}

// New connects to the broker as the dynsec admin and subscribes to the
// control API's answers. It fails if the broker refuses the admin.
func New(opts Options) (*Provisioner, error) {
	if opts.BrokerURL == "" || opts.Username == "" || opts.Password == "" {
		return nil, errors.New("mosquittodynsec: BrokerURL, Username and Password are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var raw [6]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("mosquittodynsec: client id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	p := &Provisioner{
		timeout: opts.Timeout,
		log:     opts.Logger,
		prefix:  id + "-",
		pending: make(map[string]chan response),
	}
	subscribed := make(chan error, 1)
	co := mqtt.NewClientOptions().
		AddBroker(opts.BrokerURL).
		SetClientID("pulse-dynsec-" + id).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetCleanSession(true).
		SetConnectTimeout(opts.Timeout).
		SetAutoReconnect(true).
		SetOrderMatters(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			p.log.Warn("mosquittodynsec: connection lost", "broker", opts.BrokerURL, "err", err)
		}).
		SetOnConnectHandler(func(c mqtt.Client) {
			// A clean session loses its subscription on every reconnect.
			t := c.Subscribe(responseTopic, 1, p.onResponse)
			var err error
			if !t.WaitTimeout(opts.Timeout) {
				err = fmt.Errorf("no SUBACK within %s", opts.Timeout)
			} else {
				err = t.Error()
			}
			if err != nil {
				p.log.Error("mosquittodynsec: subscribe to control responses", "err", err)
			}
			select {
			case subscribed <- err:
			default:
			}
		})
	p.client = mqtt.NewClient(co)
	t := p.client.Connect()
	if !t.WaitTimeout(opts.Timeout) {
		p.client.Disconnect(0)
		return nil, fmt.Errorf("mosquittodynsec: connect to %s: no answer within %s", opts.BrokerURL, opts.Timeout)
	}
	if err := t.Error(); err != nil {
		return nil, fmt.Errorf("mosquittodynsec: connect to %s as %s: %w", opts.BrokerURL, opts.Username, err)
	}
	select {
	case err := <-subscribed:
		if err != nil {
			p.client.Disconnect(0)
			return nil, fmt.Errorf("mosquittodynsec: subscribe %s: %w", responseTopic, err)
		}
	case <-time.After(2 * opts.Timeout):
		p.client.Disconnect(0)
		return nil, fmt.Errorf("mosquittodynsec: subscribe %s: no answer within %s", responseTopic, 2*opts.Timeout)
	}
	return p, nil
}

// Close disconnects; pending and later calls fail with ErrClosed.
func (p *Provisioner) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for k, ch := range p.pending {
		close(ch)
		delete(p.pending, k)
	}
	p.mu.Unlock()
	p.client.Disconnect(250)
}

func (p *Provisioner) onResponse(_ mqtt.Client, m mqtt.Message) {
	var body struct {
		Responses []response `json:"responses"`
	}
	if err := json.Unmarshal(m.Payload(), &body); err != nil {
		p.log.Warn("mosquittodynsec: unreadable control response", "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range body.Responses {
		if ch, ok := p.pending[r.CorrelationData]; ok {
			ch <- r // buffered 1, one answer per id
			delete(p.pending, r.CorrelationData)
		}
	}
}

// exec sends cmds as one batch (the plugin runs them in order) and returns
// one error per command (nil when it succeeded) with the answers. The
// returned error is a transport failure or a timeout.
func (p *Provisioner) exec(ctx context.Context, cmds ...command) ([]response, []error, error) {
	ids := make([]string, len(cmds))
	chans := make([]chan response, len(cmds))
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, nil, ErrClosed
	}
	for i, c := range cmds {
		ids[i] = fmt.Sprintf("%s%d", p.prefix, p.seq.Add(1))
		chans[i] = make(chan response, 1)
		c["correlationData"] = ids[i]
		p.pending[ids[i]] = chans[i]
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		for _, id := range ids {
			delete(p.pending, id)
		}
		p.mu.Unlock()
	}()

	payload, err := json.Marshal(map[string]any{"commands": cmds})
	if err != nil {
		return nil, nil, fmt.Errorf("mosquittodynsec: encode %s: %w", names(cmds), err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	t := p.client.Publish(controlTopic, 1, false, payload)
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return nil, nil, fmt.Errorf("mosquittodynsec: publish %s: %w", names(cmds), err)
		}
	case <-ctx.Done():
		return nil, nil, p.timeoutError(ctx, cmds)
	}
	out := make([]response, len(cmds))
	errs := make([]error, len(cmds))
	for i, ch := range chans {
		select {
		case r, ok := <-ch:
			if !ok {
				return nil, nil, ErrClosed
			}
			out[i] = r
			if r.Error != "" {
				errs[i] = &CommandError{Command: r.Command, Message: r.Error}
			}
		case <-ctx.Done():
			return nil, nil, p.timeoutError(ctx, cmds)
		}
	}
	return out, errs, nil
}

func (p *Provisioner) timeoutError(ctx context.Context, cmds []command) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("mosquittodynsec: %s: no answer from the dynamic security plugin within %s "+
			"(is mosquitto_dynamic_security.so loaded, and is the provisioner's user its admin?): %w",
			names(cmds), p.timeout, ctx.Err())
	}
	return fmt.Errorf("mosquittodynsec: %s: %w", names(cmds), ctx.Err())
}

// one runs a single command and returns its error, if any.
func (p *Provisioner) one(ctx context.Context, c command) (response, error) {
	rs, errs, err := p.exec(ctx, c)
	if err != nil {
		return response{}, err
	}
	return rs[0], errs[0]
}

func names(cmds []command) string {
	s := ""
	for i, c := range cmds {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(c["command"])
	}
	return s
}
