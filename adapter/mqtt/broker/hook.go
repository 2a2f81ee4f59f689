package broker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// authTimeout bounds one token check at CONNECT.
const authTimeout = 2 * time.Second

// usernamePrefix starts every token's public part (token.Parse's prefix):
// the username is "pulse_<id>", the password the whole token.
const usernamePrefix = "pulse_"

// topicRoot is the first level of every tenant topic: metrics/{slug}/...
const topicRoot = "metrics/"

// sharePrefix starts a shared subscription's filter (mochi matches it
// case-insensitively).
const sharePrefix = "$share/"

// authHook is the broker's only auth and ACL hook. It denies by default:
// a client is allowed something only while it has a session, which exists
// from a successful CONNECT until the connection ends or the token is found
// revoked (or its tenant disabled) by the periodic re-check (recheck.go).
type authHook struct {
	mqtt.HookBase
	ctx       context.Context // cancelled by Broker.Close; parent of every auth call
	auth      Authenticator
	onPublish PublishFunc
	log       *slog.Logger
	metrics   *metrics
	server    *mqtt.Server // to disconnect a client whose token is no longer valid

	// sessions maps *mqtt.Client to its *session; conns maps the client's
	// net.Conn to the *mqtt.Client, so that a connection that ends without
	// mochi calling OnDisconnect still drops its session.
	sessions sync.Map
	conns    sync.Map

	// lastWarn is when (unix ns) the re-check last logged a transient
	// failure, to log at most one per warnEvery.
	lastWarn atomic.Int64
}

// session is an authenticated client: what its token may do and who it is.
// Only principal changes after CONNECT (refreshed by the re-check).
type session struct {
	cl  *mqtt.Client
	raw string // the presented token, to re-check it; never logged
	// scope is the scope the token was authenticated for at CONNECT
	// (ingest, or read for a read-only token): the re-check asks for it again.
	scope token.Scope
	// publish and subscribe are what the token's scopes allow: publish
	// needs ingest, subscribe (and delivery) needs read. A token's scopes
	// never change.
	publish, subscribe bool
	principal          atomic.Pointer[tenancy.Principal]
	// pubLogged and subLogged make a scope refusal logged once per session.
	pubLogged, subLogged atomic.Bool
}

func (s *session) who() tenancy.Principal { return *s.principal.Load() }

// ID names the hook in mochi's logs.
func (h *authHook) ID() string { return "pulse-auth" }

// Provides lists the hook methods mochi must call.
func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnPublish,
		mqtt.OnDisconnect,
	}, []byte{b})
}

// OnConnectAuthenticate checks the client id, the username and the token,
// and opens the client's session. On success the client's id is namespaced
// by its tenant ("<slug>/<client id>"), so that one tenant can neither take
// over nor inherit another tenant's session (nor the broker's inline client).
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	s, reason := h.authenticate(cl, pk)
	if reason != "" {
		h.metrics.connectionRefused(reason)
		h.log.Info("mqtt connection refused", "reason", reason, "client", cl.ID, "remote", cl.Net.Remote)
		return false
	}
	cl.ID = s.who().TenantSlug + "/" + cl.ID
	h.sessions.Store(cl, s)
	if cl.Net.Conn != nil {
		h.conns.Store(cl.Net.Conn, cl)
	}
	return true
}

// authenticate returns the client's session, or the reason it is refused.
// A token needs ingest (to publish) or read (to subscribe) to connect.
func (h *authHook) authenticate(cl *mqtt.Client, pk packets.Packet) (*session, string) {
	if strings.ContainsAny(cl.ID, "+#/") {
		return nil, reasonBadClientID
	}
	username, password := string(pk.Connect.Username), string(pk.Connect.Password)
	if len(username) <= len(usernamePrefix) || !strings.HasPrefix(username, usernamePrefix) || strings.ContainsAny(username, "+#/") {
		return nil, reasonBadUsername
	}
	if !strings.HasPrefix(password, username+"_") {
		return nil, reasonUserMismatch
	}

	ctx, cancel := context.WithTimeout(tenancy.WithRemoteAddr(h.ctx, cl.Net.Remote), authTimeout)
	defer cancel()
	scope := token.ScopeIngest
	p, err := h.auth.Authenticate(ctx, password, scope)
	if errors.Is(err, token.ErrForbidden) && !errors.Is(err, tenant.ErrDisabled) {
		// No ingest: a read-only token may still connect to subscribe.
		scope = token.ScopeRead
		p, err = h.auth.Authenticate(ctx, password, scope)
	}
	switch {
	case errors.Is(err, token.ErrUnauthenticated):
		return nil, reasonBadToken
	case errors.Is(err, tenant.ErrDisabled):
		return nil, reasonTenantOff
	case errors.Is(err, token.ErrForbidden):
		return nil, reasonForbidden
	case err != nil:
		h.log.Warn("mqtt authentication failed", "error", err, "remote", cl.Net.Remote)
		return nil, reasonAuthError
	}
	if username != usernamePrefix+p.TokenID {
		return nil, reasonUserMismatch
	}
	if p.TenantSlug == "" || strings.ContainsAny(p.TenantSlug, "+#/") {
		return nil, reasonNoTenant
	}
	s := &session{
		cl: cl, raw: password, scope: scope,
		publish: scope == token.ScopeIngest,
		// An Authenticator that does not report scopes gets no subscribe
		// right for an ingest token: fail closed.
		subscribe: scope == token.ScopeRead || p.Can(token.ScopeRead),
	}
	s.principal.Store(&p)
	// A will is published by the broker on the client's behalf without an
	// ACL check or OnPublish: refuse one outside the tenant, or from a
	// token that may not publish, at CONNECT.
	if pk.Connect.WillFlag && (!s.publish || !canWrite(p.TenantSlug, pk.Connect.WillTopic)) {
		return nil, reasonWillTopic
	}
	return s, ""
}

// OnACLCheck allows a write under metrics/<slug>/... to a token with ingest
// and a read (subscribe or delivery) of a filter under metrics/<slug>/...
// to a token with read; nothing else.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	s, ok := h.session(cl)
	if write {
		switch {
		case ok && !s.publish:
			h.refusedForScope(s, true)
			return false
		case ok && canWrite(s.who().TenantSlug, topic):
			return true
		default:
			h.metrics.publishRefused(reasonACL)
			return false
		}
	}
	switch {
	case ok && !s.subscribe:
		h.refusedForScope(s, false)
		return false
	case ok && canRead(s.who().TenantSlug, topic):
		return true
	default:
		h.metrics.subscriptionRefused(reasonACL)
		return false
	}
}

// refusedForScope counts a publish (or subscription) refused because the
// token lacks ingest (or read), and logs the first one of the session.
func (h *authHook) refusedForScope(s *session, publish bool) {
	p := s.who()
	if publish {
		h.metrics.publishRefused(reasonNoIngest)
		if !s.pubLogged.Swap(true) {
			h.log.Info("mqtt publish refused: the token lacks the ingest scope (logged once per connection)",
				"client", s.cl.ID, "token", p.TokenID, "tenant", p.TenantSlug)
		}
		return
	}
	h.metrics.subscriptionRefused(reasonNoRead)
	if !s.subLogged.Swap(true) {
		h.log.Info("mqtt subscription refused: the token lacks the read scope (logged once per connection)",
			"client", s.cl.ID, "token", p.TokenID, "tenant", p.TenantSlug)
	}
}

// OnPublish checks the topic again (after topic-alias resolution) and runs
// the quota callback. A refused message is dropped: an MQTT 5 client
// publishing at QoS 1 gets a PUBACK with the reason code; otherwise the
// message is acknowledged as usual and silently dropped.
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	s, ok := h.session(cl)
	if ok && !s.publish {
		h.refusedForScope(s, true)
		return pk, refusal(cl, pk, packets.ErrNotAuthorized)
	}
	if !ok || !canWrite(s.who().TenantSlug, pk.TopicName) {
		h.metrics.publishRefused(reasonACL)
		return pk, refusal(cl, pk, packets.ErrNotAuthorized)
	}
	if h.onPublish == nil {
		return pk, nil
	}
	p := s.who()
	if err := h.onPublish(p, pk.TopicName, pk.Payload); err != nil {
		h.metrics.publishRefused(reasonQuota)
		h.log.Debug("mqtt publish refused", "error", err, "client", cl.ID, "topic", pk.TopicName)
		return pk, refusal(cl, pk, packets.ErrQuotaExceeded)
	}
	return pk, nil
}

// refusal is the error that makes mochi drop pk: the reason code itself
// only where mochi sends it back (MQTT 5, QoS 1), CodeSuccessIgnore
// elsewhere (QoS 0, QoS 2, MQTT 3), which still acknowledges the packet
// so the client does not resend it forever.
func refusal(cl *mqtt.Client, pk packets.Packet, code packets.Code) error {
	if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos == 1 {
		return code
	}
	return packets.CodeSuccessIgnore
}

// OnDisconnect closes the client's session and counts a packet refused for
// its size (mochi closes such a connection).
func (h *authHook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	if errors.Is(err, packets.ErrPacketTooLarge) {
		h.metrics.publishRefused(reasonPacketTooLong)
	}
	h.sessions.Delete(cl)
	if cl.Net.Conn != nil {
		h.conns.CompareAndDelete(cl.Net.Conn, cl)
	}
}

// forgetConn drops the session of the client on conn once its connection
// handler has returned.
func (h *authHook) forgetConn(conn net.Conn) {
	if cl, ok := h.conns.LoadAndDelete(conn); ok {
		h.sessions.Delete(cl)
	}
}

func (h *authHook) session(cl *mqtt.Client) (*session, bool) {
	v, ok := h.sessions.Load(cl)
	if !ok {
		return nil, false
	}
	return v.(*session), true
}

// canWrite reports whether a client of the tenant may publish to topic:
// metrics/<slug>/<at least one more level>, no wildcards.
func canWrite(slug, topic string) bool {
	rest, ok := strings.CutPrefix(topic, topicRoot+slug+"/")
	return ok && rest != "" && !strings.ContainsAny(topic, "+#")
}

// canRead reports whether a client of the tenant may subscribe to filter
// (or receive a message on a topic): metrics/<slug>/<at least one more
// level>, wildcards allowed only below the tenant level. A shared
// subscription ($share/<group>/<filter>) is judged by its filter.
func canRead(slug, filter string) bool {
	if len(filter) > len(sharePrefix) && strings.EqualFold(filter[:len(sharePrefix)], sharePrefix) {
		group, f, found := strings.Cut(filter[len(sharePrefix):], "/")
		if !found || group == "" || strings.ContainsAny(group, "+#") {
			return false
		}
		filter = f
	}
	rest, ok := strings.CutPrefix(filter, topicRoot+slug+"/")
	return ok && rest != ""
}
