package broker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// DefaultRecheckInterval is how often live sessions are re-authenticated
// when Options.RecheckInterval is 0.
const DefaultRecheckInterval = 2 * time.Second

// recheckWorkers bounds the token checks one sweep runs at once.
const recheckWorkers = 4

// warnEvery rate-limits the warning about a transient re-check failure.
const warnEvery = time.Minute

// recheckLoop re-authenticates every live session's token every interval
// until the hook's context ends (Broker.Close), then closes done.
func (h *authHook) recheckLoop(every time.Duration, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
			h.recheck()
		}
	}
}

// recheck runs one sweep: each distinct token of the live sessions is
// authenticated once more (no lock is held meanwhile: the session map is
// copied first). A token now unknown or revoked, or whose tenant is
// disabled, has every session closed; a transient failure (storage down)
// closes nothing. A sweep that overruns the interval delays the next one
// (the ticker drops ticks), it never runs two at once.
func (h *authHook) recheck() {
	byToken := map[string][]*session{}
	h.sessions.Range(func(_, v any) bool {
		s := v.(*session)
		byToken[s.raw] = append(byToken[s.raw], s)
		return true
	})
	if len(byToken) == 0 {
		return
	}
	work := make(chan []*session)
	var wg sync.WaitGroup
	for range min(recheckWorkers, len(byToken)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ss := range work {
				h.recheckToken(ss)
			}
		}()
	}
	for _, ss := range byToken {
		if h.ctx.Err() != nil {
			break
		}
		work <- ss
	}
	close(work)
	wg.Wait()
}

// recheckToken re-authenticates the token of sessions (all presented the
// same token) and refreshes or closes them.
func (h *authHook) recheckToken(ss []*session) {
	first := ss[0]
	ctx, cancel := context.WithTimeout(h.ctx, authTimeout)
	p, err := h.auth.Authenticate(ctx, first.raw, first.scope)
	cancel()
	old := first.who()
	switch {
	case err == nil && (p.TenantID != old.TenantID || p.TenantSlug != old.TenantSlug):
		// A token never changes tenant; if the Authenticator says otherwise,
		// trust neither answer.
		h.drop(ss, reasonForbidden)
	case err == nil:
		for _, s := range ss {
			s.principal.Store(&p)
		}
	case errors.Is(err, token.ErrUnauthenticated):
		h.drop(ss, reasonRevoked)
	case errors.Is(err, tenant.ErrDisabled):
		h.drop(ss, reasonTenantOff)
	case errors.Is(err, token.ErrForbidden):
		h.drop(ss, reasonForbidden)
	case h.ctx.Err() != nil:
		// Closing: the answer means nothing.
	default:
		h.warnTransient(err, old)
	}
}

// warnTransient logs a failed re-check at most once per warnEvery.
func (h *authHook) warnTransient(err error, p tenancy.Principal) {
	now := time.Now().UnixNano()
	last := h.lastWarn.Load()
	if last != 0 && now-last < int64(warnEvery) {
		return
	}
	if !h.lastWarn.CompareAndSwap(last, now) {
		return
	}
	h.log.Warn("mqtt: re-checking a live session's token failed; sessions stay open (logged at most once a minute)",
		"error", err, "token", p.TokenID, "tenant", p.TenantSlug)
}

// drop closes the sessions of a token that is no longer valid. The session
// is forgotten first, so the ACL refuses the client's next packet even
// before its connection has ended; its will is not published.
func (h *authHook) drop(ss []*session, reason string) {
	for _, s := range ss {
		if _, ok := h.sessions.LoadAndDelete(s.cl); !ok {
			continue // gone already
		}
		p := s.who()
		h.metrics.sessionDropped(reason)
		h.log.Info("mqtt session closed: its token is no longer valid",
			"reason", reason, "client", s.cl.ID, "token", p.TokenID, "tenant", p.TenantSlug, "remote", s.cl.Net.Remote)
		h.disconnect(s.cl)
	}
}

// disconnect ends a client's connection: an MQTT 5 client first gets a
// DISCONNECT with reason 0x87 (Not authorized); an MQTT 3 client, which
// must not be sent a DISCONNECT, has its connection closed.
func (h *authHook) disconnect(cl *mqtt.Client) {
	atomic.StoreUint32(&cl.Properties.Will.Flag, 0) // mochi reads it atomically
	if cl.Properties.ProtocolVersion == 5 && h.server != nil {
		_ = h.server.DisconnectClient(cl, packets.ErrNotAuthorized) // stops it too
	}
	cl.Stop(packets.ErrNotAuthorized) // once only: a second call does nothing
}
